import { readFileSync } from 'node:fs';

/** The final stage of the Dockerfile, as far as the product's start-up depends on it. */
export interface ImageStage {
  from: string;
  /** Every `FROM` image of the file (build stages included). */
  bases: string[];
  env: Record<string, string>;
  workdir: string;
  user: string | undefined;
  /** `COPY [--from=stage] <src> <dest>` of the final stage, in order. */
  copies: Array<{ from: string | undefined; src: string; dest: string }>;
  /** Shell commands of its `RUN` lines (split on `&&`). */
  run: string[];
  expose: number[];
  entrypoint: string[];
  cmd: string[];
  /** WORKDIR of the build stage the `--from` copies read. */
  buildWorkdir: string;
}

/** Logical lines: continuation backslashes joined, comments dropped. */
function instructions(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    out.push(current + line);
    current = '';
  }
  return out;
}

const jsonArray = (s: string): string[] => JSON.parse(s) as string[];

/** Reads the last stage of a Dockerfile (the image that runs). */
export function readImageStage(path: string): ImageStage {
  const lines = instructions(readFileSync(path, 'utf8'));
  const bases: string[] = [];
  let buildWorkdir = '/';
  let stage: ImageStage | undefined;
  let workdir = '/';
  for (const line of lines) {
    const [word = '', ...rest] = line.split(/\s+/);
    const arg = line.slice(word.length).trim();
    switch (word.toUpperCase()) {
      case 'FROM':
        if (stage) buildWorkdir = stage.workdir;
        else buildWorkdir = workdir;
        bases.push(rest[0] ?? '');
        workdir = '/';
        stage = { from: rest[0] ?? '', bases, env: {}, workdir: '/', user: undefined, copies: [], run: [], expose: [], entrypoint: [], cmd: [], buildWorkdir };
        break;
      case 'WORKDIR':
        workdir = arg;
        if (stage) stage.workdir = arg;
        break;
      case 'ENV': {
        if (!stage) break;
        const pairs = arg.match(/(\w+)=("[^"]*"|\S+)/g);
        if (pairs) for (const p of pairs) stage.env[p.slice(0, p.indexOf('='))] = p.slice(p.indexOf('=') + 1).replace(/^"|"$/g, '');
        else stage.env[rest[0] ?? ''] = rest.slice(1).join(' ');
        break;
      }
      case 'USER':
        if (stage) stage.user = arg;
        break;
      case 'COPY': {
        if (!stage) break;
        const from = rest.find((r) => r.startsWith('--from='))?.slice('--from='.length);
        const paths = rest.filter((r) => !r.startsWith('--'));
        stage.copies.push({ from, src: paths[0] ?? '', dest: paths[1] ?? '' });
        break;
      }
      case 'RUN':
        stage?.run.push(...arg.split('&&').map((c) => c.trim()));
        break;
      case 'EXPOSE':
        stage?.expose.push(...rest.map((p) => Number.parseInt(p, 10)));
        break;
      case 'ENTRYPOINT':
        if (stage) stage.entrypoint = jsonArray(arg);
        break;
      case 'CMD':
        if (stage) stage.cmd = jsonArray(arg);
        break;
      default:
        break;
    }
  }
  if (!stage) throw new Error(`${path}: no FROM`);
  return stage;
}
