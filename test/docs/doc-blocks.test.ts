import { describe, expect, it } from 'vitest';
import { NO_REASON, extractBlocks, localPortsOf, parseYamlBlock, rewritePorts, usesPortal, type DocBlock } from './doc-blocks.js';
import { blocksOf, markdownFiles } from './doc-suite.js';

describe('extractBlocks', () => {
  const md = [
    '# Title', // 1
    '', // 2
    '```bash', // 3
    'echo hi', // 4
    '```', // 5
    '<!-- doctest: skip needs docker -->', // 6
    '```sh', // 7
    'docker compose up', // 8
    '```', // 9
    '```json', // 10
    '{ "not": "run" }', // 11
    '```', // 12
    '<!-- doctest: file=api.yaml -->', // 13
    '<!-- doctest: apply -->', // 14
    '```yaml', // 15
    'kind: Api', // 16
    '```', // 17
    '- item', // 18
    '  ```console', // 19
    '  tollgate apply -f api.yaml', // 20
    '  ```', // 21
    '<!-- doctest: exit=1 -->', // 22
    '<!-- doctest: status=404,410 -->', // 23
    '~~~shell', // 24
    'false', // 25
    '~~~', // 26
  ].join('\n');
  const blocks = extractBlocks(md, 'x.md');

  it('finds shell and YAML fences with their 1-based lines, and skips other languages', () => {
    expect(blocks.map((b) => [b.line, b.lang, b.info])).toEqual([
      [3, 'shell', 'bash'],
      [7, 'shell', 'sh'],
      [15, 'yaml', 'yaml'],
      [19, 'shell', 'console'],
      [24, 'shell', 'shell'],
    ]);
  });

  it('reads the directives on the lines above a fence', () => {
    expect(blocks[1]!.skip).toBe('needs docker');
    expect(blocks[2]).toMatchObject({ writeTo: 'api.yaml', apply: true });
    expect(blocks[4]).toMatchObject({ expectExit: 1, allowHttp: [404, 410] });
    expect(blocks[0]!.skip).toBeUndefined();
    expect(blocks[0]).toMatchObject({ apply: false, expectExit: 0, allowHttp: [] });
  });

  it('runs only the commands of a console transcript', () => {
    expect(extractBlocks('```console\n$ tollgate keys list acme\nID NAME\n$ echo done\ndone\n```\n', 'c.md')[0]!.code).toBe('tollgate keys list acme\necho done\n');
  });

  it('removes the indentation of an indented fence', () => {
    expect(blocks[3]!.code).toBe('tollgate apply -f api.yaml\n');
  });

  it('records a bare skip, an unknown directive and a path out of the working directory on the block', () => {
    expect(extractBlocks('<!-- doctest: skip -->\n```bash\nx\n```\n', 'y.md')[0]!.skip).toBe(NO_REASON);
    expect(extractBlocks('<!-- doctest: sometimes -->\n```bash\nx\n```\n', 'y.md')[0]!.problem).toMatch(/line 1: unknown doctest directive "sometimes"/);
    expect(extractBlocks('<!-- doctest: file=../x.yaml -->\n```yaml\nx: 1\n```\n', 'y.md')[0]!.problem).toMatch(/relative path/);
  });
});

describe('the blocks of README.md and docs/*.md', () => {
  it('say why they are skipped', () => {
    const bare = markdownFiles().flatMap((f) => blocksOf(f).filter((b) => b.skip === NO_REASON).map((b) => `${b.file}:${b.line}`));
    expect(bare, 'write the reason into the marker: <!-- doctest: skip <why this block cannot run in a test> -->').toEqual([]);
  });
});

describe('rewritePorts', () => {
  const block = (lang: 'shell' | 'yaml', code: string): DocBlock => ({ file: 'x.md', line: 1, lang, info: lang, code, apply: false, expectExit: 0, allowHttp: [] });
  const map = new Map([
    [8000, 41000],
    [8001, 41001],
    [9000, 41002],
  ]);

  it('rewrites loopback host:port everywhere and bare ports in shell blocks only', () => {
    expect(rewritePorts(block('shell', 'python3 -m http.server 9000 &\ncurl http://127.0.0.1:8000/x localhost:8001 10.0.0.5:8000 # :8000\n'), map)).toBe(
      'python3 -m http.server 41002 &\ncurl http://127.0.0.1:41000/x localhost:41001 10.0.0.5:8000 # :8000\n',
    );
    expect(rewritePorts(block('yaml', 'url: http://127.0.0.1:9000\nservicePort: 8000\n'), map)).toBe('url: http://127.0.0.1:41002\nservicePort: 8000\n');
  });

  it('lists the local ports a file uses besides the product (the portal is the product’s)', () => {
    expect(localPortsOf([block('shell', 'curl 127.0.0.1:8000 127.0.0.1:9001 localhost:9001 127.0.0.1:8443 127.0.0.1:8002')])).toEqual([9001]);
  });

  it('turns the portal on for a file whose runnable shell blocks use it', () => {
    expect(usesPortal([block('shell', 'curl http://127.0.0.1:8002/api/sign-up')])).toBe(true);
    expect(usesPortal([block('shell', "curl 'http://127.0.0.1:8001/portal/accounts?status=pending'")])).toBe(true);
    expect(usesPortal([block('shell', 'tollgate portal accounts')])).toBe(true);
    expect(usesPortal([block('shell', 'curl http://127.0.0.1:8001/consumers'), block('yaml', 'url: http://127.0.0.1:8002')])).toBe(false);
    expect(usesPortal([{ ...block('shell', 'tollgate portal accounts'), skip: 'a reason' }])).toBe(false);
  });
});

/**
 * Following README.md and then the docs in order must compose: a resource a doc defines must not
 * silently replace one another file defines differently (docs/lifecycle.md once redefined the
 * README's Consumer acme), and two files' APIs must not claim the same host and base path.
 */
describe('the docs compose', () => {
  interface Definition {
    file: string;
    line: number;
    value: unknown;
  }
  const byName = new Map<string, Definition[]>();
  const byPath = new Map<string, Array<Definition & { product?: string }>>();
  for (const file of markdownFiles()) {
    for (const b of blocksOf(file)) {
      if (b.lang !== 'yaml') continue;
      let docs;
      try {
        docs = parseYamlBlock(b.code);
      } catch {
        continue; // not YAML (a csv written to a file); the runner reports real YAML errors
      }
      for (const d of docs) {
        if (!d.resource || d.name === undefined) continue;
        const key = `${d.kind}/${d.name}`;
        byName.set(key, [...(byName.get(key) ?? []), { file, line: b.line, value: d.value }]);
        const spec = ((d.value as { spec?: Record<string, unknown> }).spec ?? {}) as { basePath?: string; hosts?: string[]; product?: string };
        if (d.kind === 'Api') {
          const path = `${[...(spec.hosts ?? ['*'])].sort().join(',')} ${spec.basePath ?? '/'}`;
          byPath.set(path, [...(byPath.get(path) ?? []), { file, line: b.line, value: d.value, product: spec.product }]);
        }
      }
    }
  }

  it('gives each resource one definition across files (same kind and name, same document)', () => {
    const clashes: string[] = [];
    for (const [key, defs] of byName) {
      const first = defs[0]!;
      for (const d of defs) {
        if (d.file !== first.file && JSON.stringify(d.value) !== JSON.stringify(first.value)) clashes.push(`${key}: ${first.file}:${first.line} and ${d.file}:${d.line} define it differently; give one a distinct name`);
      }
    }
    expect(clashes).toEqual([]);
  });

  it('gives APIs of different files different hosts or base paths (versions of one product excepted)', () => {
    const clashes: string[] = [];
    for (const [path, defs] of byPath) {
      const first = defs[0]!;
      for (const d of defs) {
        const sameProduct = d.product !== undefined && d.product === first.product;
        if (d.file !== first.file && !sameProduct) clashes.push(`${path}: ${first.file}:${first.line} and ${d.file}:${d.line} both serve it`);
      }
    }
    expect(clashes).toEqual([]);
  });
});
