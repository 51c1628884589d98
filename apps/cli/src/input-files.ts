import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
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

/** File names `apply -f <dir>` takes, as kubectl: YAML and JSON. */
const RESOURCE_FILE = /\.(ya?ml|json)$/i;

/**
 * Expands directories among the `-f` paths into their resource files, sorted by name so the
 * order is stable; subdirectories only with `recursive` (kubectl's `-R`). A directory that holds
 * no resource file is an error, so a typo in a path does not silently apply nothing (or prune
 * everything).
 */
export async function expandPaths(paths: readonly string[], recursive: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    if (path === '-') {
      out.push(path);
      continue;
    }
    let isDir = false;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch {
      // readInputs reports the missing file with its own message.
    }
    if (!isDir) {
      out.push(path);
      continue;
    }
    const found = await filesOf(path, recursive);
    if (found.length === 0) throw new CliError(`${path}: no .yaml, .yml or .json files${recursive ? '' : ' (use -R for subdirectories)'}`);
    out.push(...found);
  }
  return out;
}

async function filesOf(dir: string, recursive: boolean): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) out.push(...(await filesOf(path, true)));
    } else if (RESOURCE_FILE.test(e.name) && (e.isFile() || (e.isSymbolicLink() && (await stat(path)).isFile()))) {
      out.push(path);
    }
  }
  return out;
}

/**
 * Reads `-f` files (`-` for stdin) and joins them so one apply covers them all (one transaction).
 * Every file is started with an explicit `---`, so no document of one file runs into the next.
 */
export async function readInputs(given: readonly string[], options: { recursive?: boolean } = {}): Promise<InputStream> {
  if (given.length === 0) throw new CliError('give at least one file with -f (or -f - for stdin)');
  const paths = await expandPaths(given, options.recursive ?? false);
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
