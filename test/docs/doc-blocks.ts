/**
 * Extraction of the runnable code blocks of README.md and docs/*.md, and the rules that turn a
 * block as written into a block as run. The runner (doc-runner.ts) executes what this returns;
 * docs/contributing.md is the user-facing description of the same rules.
 *
 * Runnable fences: ```sh, ```bash, ```shell, ```console (shell; in a console transcript only the
 * `$ ` lines run) and ```yaml, ```yml (YAML).
 * Other fences (json, text, proto, ...) are prose and are not run.
 *
 * Directives are HTML comments (invisible when the markdown is rendered) on the line(s) right
 * before the opening fence:
 *   <!-- doctest: skip <reason> -->   not run; give the reason (doc-blocks.test.ts fails on a bare skip)
 *   <!-- doctest: file=<path> -->     YAML (or any fence): written to <path> in the file's working
 *                                     directory for later shell blocks (`tollgate apply -f <path>`)
 *   <!-- doctest: apply -->           YAML resource documents: applied (POST /config) instead of
 *                                     only validated (POST /config?dryRun=true)
 *   <!-- doctest: exit=<n> -->        shell: the block is expected to exit with status n (a block
 *                                     that shows an error on purpose)
 *   <!-- doctest: status=<c>,<c> -->  shell: curl may get these HTTP statuses >= 400 (by default a
 *                                     curl answered with a status >= 400 fails the block)
 */
import { parseAllDocuments } from 'yaml';

/** What the runner does with a block. */
export type BlockLanguage = 'shell' | 'yaml';

/** One fenced block of a markdown file. */
export interface DocBlock {
  /** Path of the markdown file, relative to the repository root (`docs/limits.md`). */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: BlockLanguage;
  /** The fence's info string as written (`bash`, `yaml`). */
  info: string;
  /** The block's text, indentation of the fence removed, ending in a newline. */
  code: string;
  /** `skip` reason, when the block is marked not to run. */
  skip?: string;
  /** `file=` target, when the block is written to a file instead of being run. */
  writeTo?: string;
  /** `apply`: YAML resources are applied rather than validated. */
  apply: boolean;
  /** `exit=`: the exit status a shell block must end with (default 0). */
  expectExit: number;
  /** `status=`: HTTP statuses >= 400 curl may get in this block. */
  allowHttp: number[];
  /** A malformed directive: the block's test fails with it (rather than the whole suite). */
  problem?: string;
}

const SHELL = new Set(['sh', 'bash', 'shell', 'console']);
const YAML = new Set(['yaml', 'yml']);
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)(.*)$/;
const DIRECTIVE = /^\s*<!--\s*doctest:\s*(.*?)\s*-->\s*$/;

/** Reason recorded for a bare `<!-- doctest: skip -->` (doc-blocks.test.ts asks for a real one). */
export const NO_REASON = 'no reason given';

/** Every runnable block of one markdown text, in order. Non-runnable fences are passed over. */
export function extractBlocks(markdown: string, file: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '```', lang = ''] = open;
    // The closing fence: same character, at least as long (CommonMark).
    let end = i + 1;
    while (end < lines.length) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[end]!);
      if (close && close[1]![0] === fence[0] && close[1]!.length >= fence.length) break;
      end++;
    }
    let body = lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()));
    // A console transcript (`$ command` lines, then output): the commands are what runs.
    if (lang === 'console' && body.some((l) => l.startsWith('$ '))) body = body.filter((l) => l.startsWith('$ ')).map((l) => l.slice(2));
    const kind: BlockLanguage | null = SHELL.has(lang) ? 'shell' : YAML.has(lang) ? 'yaml' : null;
    const directives = directivesBefore(lines, i);
    if (kind !== null || directives.writeTo !== undefined) {
      blocks.push({
        file,
        line: i + 1,
        lang: kind ?? 'yaml',
        info: lang,
        code: `${body.join('\n')}\n`,
        ...directives,
        apply: directives.apply ?? false,
        expectExit: directives.expectExit ?? 0,
        allowHttp: directives.allowHttp ?? [],
      });
    }
    i = end;
  }
  return blocks;
}

interface Directives {
  skip?: string;
  writeTo?: string;
  apply?: boolean;
  expectExit?: number;
  allowHttp?: number[];
  problem?: string;
}

/** The doctest directives on the lines directly above line `fenceIndex` (0-based). */
function directivesBefore(lines: string[], fenceIndex: number): Directives {
  const out: Directives = {};
  for (let j = fenceIndex - 1; j >= 0; j--) {
    const m = DIRECTIVE.exec(lines[j]!);
    if (!m) break;
    const text = m[1]!;
    const where = `line ${j + 1}`;
    if (text === 'skip' || text.startsWith('skip ')) {
      const reason = text.slice(4).trim();
      out.skip = reason === '' ? NO_REASON : reason;
    } else if (text.startsWith('file=')) {
      const path = text.slice(5).trim();
      if (path === '' || path.startsWith('/') || path.split('/').includes('..')) out.problem = `${where}: "doctest: file=" needs a relative path inside the working directory`;
      else out.writeTo = path;
    } else if (text === 'apply') {
      out.apply = true;
    } else if (/^exit=\d+$/.test(text)) {
      out.expectExit = Number(text.slice(5));
    } else if (/^status=\d{3}(,\d{3})*$/.test(text)) {
      out.allowHttp = text.slice(7).split(',').map(Number);
    } else {
      out.problem = `${where}: unknown doctest directive "${text}" (skip <reason> | file=<path> | apply | exit=<n> | status=<codes>; see docs/contributing.md)`;
    }
  }
  return out;
}

/** The listening ports the docs assume, and what the runner's product listens on instead. */
export interface ProductPorts {
  proxy: number;
  admin: number;
  status: number;
  tls: number;
  /** The developer portal's listener (docs/portal.md), on only for files that use it. */
  portal: number;
}

/** The documented default ports (README "Configuration", docs/portal.md). */
export const DEFAULT_PORTS: ProductPorts = { proxy: 8000, admin: 8001, status: 8100, tls: 8443, portal: 8002 };

/**
 * Whether the blocks of a file use the developer portal: its port, the admin API's `/portal/…`
 * routes or `tollgate portal` (all of which answer 503 or UNAVAILABLE while it is off, its default).
 */
export function usesPortal(blocks: DocBlock[]): boolean {
  const portal = new RegExp(`\\b(127\\.0\\.0\\.1|localhost):${DEFAULT_PORTS.portal}\\b|:\\d+/portal/|\\btollgate portal\\b`);
  return blocks.some((b) => b.skip === undefined && b.lang === 'shell' && portal.test(b.code));
}

const LOOPBACK_PORT = /\b(127\.0\.0\.1|localhost|0\.0\.0\.0):(\d{2,5})\b/g;

/** Ports the blocks of one file reach on the local machine (`127.0.0.1:9000`), other than the product's. */
export function localPortsOf(blocks: DocBlock[]): number[] {
  const product = new Set(Object.values(DEFAULT_PORTS));
  const found = new Set<number>();
  for (const b of blocks) for (const m of b.code.matchAll(LOOPBACK_PORT)) if (!product.has(Number(m[2]))) found.add(Number(m[2]));
  return [...found].sort((a, b) => a - b);
}

/**
 * The block as run: every loopback `host:port` of a mapped port is rewritten to the test port
 * (127.0.0.1:8000 -> the gateway's free port, 127.0.0.1:9000 -> a free port for the upstream the
 * doc starts there), and in shell blocks a bare mapped port number above 1023 too
 * (`python3 -m http.server 9000`), so every file can run in parallel with others.
 */
export function rewritePorts(block: DocBlock, map: ReadonlyMap<number, number>): string {
  let code = block.code.replace(LOOPBACK_PORT, (all, host: string, port: string) => {
    const to = map.get(Number(port));
    return to === undefined ? all : `${host}:${to}`;
  });
  if (block.lang === 'shell') {
    for (const [from, to] of map) {
      if (from < 1024) continue;
      code = code.replace(new RegExp(`(?<![\\w.:/-])${from}(?![\\w.:-])`, 'g'), String(to));
    }
  }
  return code;
}

/** A parsed YAML document of a block: a resource (apiVersion + kind) or a fragment of one. */
export interface YamlDocument {
  resource: boolean;
  kind?: string;
  name?: string;
  value: unknown;
}

/** Parses a YAML block; throws with the YAML parser's message and line when it is not YAML. */
export function parseYamlBlock(code: string): YamlDocument[] {
  const docs = parseAllDocuments(code, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: YamlDocument[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const obj = typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
    const metadata = (obj.metadata ?? {}) as Record<string, unknown>;
    const resource = typeof obj.apiVersion === 'string' && typeof obj.kind === 'string';
    out.push({ resource, kind: typeof obj.kind === 'string' ? obj.kind : undefined, name: typeof metadata.name === 'string' ? metadata.name : undefined, value });
  }
  return out;
}

/** `file:line` of a block, as editors and terminals link it. */
export function whereOf(block: DocBlock): string {
  return `${block.file}:${block.line}`;
}
