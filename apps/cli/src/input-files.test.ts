import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readInputs } from './input-files.js';
import { formatProblem } from './print-problem.js';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('readInputs', () => {
  it('joins files so that documents never merge and maps positions back to each file', async () => {
    const a = file('a.yaml', 'x: 1\n---\ny: 2'); // no leading ---, no trailing newline
    const b = file('b.yaml', '---\nz: 3\n---\nw: 4\n');
    const c = file('c.yaml', '# comment only first\n---\nv: 5\n');
    const input = await readInputs([a, b, c]);
    const docs = parseAllDocuments(input.yaml) as unknown as Array<{ toJS(): unknown }>;
    const values = docs.map((d) => d.toJS());
    expect(values.filter((v) => v !== null)).toEqual([{ x: 1 }, { y: 2 }, { z: 3 }, { w: 4 }, { v: 5 }]);
    // Document 3 of the stream is b's second document; its line is 4 in b.
    const lines = input.yaml.split('\n');
    const wLine = lines.indexOf('w: 4') + 1;
    expect(input.locate(3, wLine)).toEqual({ file: b, document: 1, line: 4 });
    const yLine = lines.indexOf('y: 2') + 1;
    expect(input.locate(1, yLine)).toEqual({ file: a, document: 1, line: 3 });
    const vLine = lines.indexOf('v: 5') + 1;
    const vDoc = values.findIndex((v) => JSON.stringify(v) === '{"v":5}');
    expect(input.locate(vDoc, vLine)).toEqual({ file: c, document: 0, line: 3 });
  });

  it('formats problems one issue per line, with the file only when there are several', async () => {
    const one = await readInputs([file('one.yaml', 'a: 1\n')]);
    const problem = { status: 422, title: 'The configuration is invalid', errors: [{ document: 0, resource: 'Api/x', path: 'spec.routes', line: 2, code: 'c', message: 'bad' }] };
    expect(formatProblem(problem, one)).toBe('error: The configuration is invalid\n  document 0 (Api/x) line 1: spec.routes: bad\n');
    expect(formatProblem({ status: 403, title: 'Not allowed', detail: 'read only' })).toBe('error: Not allowed\n  read only\n');
  });
});
