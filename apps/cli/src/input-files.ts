import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { CliError } from './cli-error.js';

/** One `-f` input's place in the combined YAML stream sent to the admin API. */
interface Chunk {
  name: string;
  firstDocument: number;
  documents: number;
  firstLine: number;
  lines: number;
  /** Whether a `---` line was put in front of the file (shifts its lines by one). */
  prefixed: boolean;
  /** Empty documents that prefix created (when the file began with comments, then `---`). */
  added: number;
}

/** The `-f` inputs joined into one multi-document YAML stream, with a map back to the files. */
export interface InputStream {
  yaml: string;
  /** Translates a position in the stream to the file the operator wrote. */
  locate(document: number | undefined, line: number | undefined): { file: string; document?: number; line?: number };
  /** Number of input files. */
  files: number;
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Reads `-f` files (`-` for stdin) and joins them so one apply covers them all (one transaction).
 * Every file is started with an explicit `---`, so no document of one file runs into the next.
 */
export async function readInputs(paths: readonly string[]): Promise<InputStream> {
  if (paths.length === 0) throw new CliError('give at least one file with -f (or -f - for stdin)');
  const chunks: Chunk[] = [];
  let yaml = '';
  let document = 0;
  let line = 1;
  for (const path of paths) {
    let text: string;
    try {
      text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new CliError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${code ?? (error as Error).message})`);
    }
    if (!text.endsWith('\n')) text += '\n';
    const own = parseAllDocuments(text);
    const chunk = text.startsWith('---') ? text : `---\n${text}`;
    const docs = parseAllDocuments(chunk);
    const count = Array.isArray(docs) ? docs.length : 0;
    const ownCount = Array.isArray(own) ? own.length : 0;
    const lines = chunk.split('\n').length - 1;
    chunks.push({ name: path === '-' ? '<stdin>' : path, firstDocument: document, documents: count, firstLine: line, lines, prefixed: chunk !== text, added: Math.max(0, count - ownCount) });
    yaml += chunk;
    document += count;
    line += lines;
  }
  return {
    yaml,
    files: chunks.length,
    locate(doc, ln) {
      const byLine = ln !== undefined ? chunks.find((c) => ln >= c.firstLine && ln < c.firstLine + c.lines) : undefined;
      const byDoc = doc !== undefined ? chunks.find((c) => doc >= c.firstDocument && doc < c.firstDocument + c.documents) : undefined;
      const chunk = byDoc ?? byLine ?? chunks[0];
      if (!chunk) return { file: '' };
      const out: { file: string; document?: number; line?: number } = { file: chunk.name };
      if (doc !== undefined) out.document = Math.max(0, doc - chunk.firstDocument - chunk.added);
      if (ln !== undefined) out.line = Math.max(1, ln - chunk.firstLine + 1 - (chunk.prefixed ? 1 : 0));
      return out;
    },
  };
}
