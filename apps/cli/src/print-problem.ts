import type { ProblemResponse } from './admin-client.js';
import type { InputStream } from './input-files.js';

/**
 * Formats a problem for the terminal: its title (and detail when no item says more), then one
 * line per issue as `document N (Kind/name) line L: path: message`, prefixed by the file when
 * several were applied together.
 */
export function formatProblem(problem: ProblemResponse, input?: InputStream): string {
  const lines = [`error: ${problem.title}`];
  const errors = problem.errors ?? [];
  if (errors.length === 0 && problem.detail) lines.push(`  ${problem.detail}`);
  for (const e of errors) {
    const where = input ? input.locate(e.document, e.line) : { file: '', document: e.document, line: e.line };
    const parts: string[] = [];
    if (input && input.files > 1 && where.file) parts.push(`${where.file}:`);
    if (where.document !== undefined) parts.push(`document ${where.document}`);
    if (e.resource) parts.push(`(${e.resource})`);
    if (where.line !== undefined) parts.push(`line ${where.line}`);
    const head = parts.join(' ');
    lines.push(`  ${head ? `${head}: ` : ''}${e.path ? `${e.path}: ` : ''}${e.message}`);
  }
  return `${lines.join('\n')}\n`;
}
