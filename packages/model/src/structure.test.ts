import { describe, expect, it } from 'vitest';
import { Parser } from 'yaml';
import { cstTooDeep, jsonStructureIssue, jsonStructureSteps, MAX_NESTING_DEPTH, nulCharacterPath } from './structure.js';
import { parseYamlDocuments } from './parse.js';

describe('jsonStructureIssue', () => {
  it('accepts unique keys, the same key in sibling objects, and keys inside strings', () => {
    expect(jsonStructureIssue('{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}')).toBeUndefined();
    expect(jsonStructureIssue('{"a":"{\\"a\\":1,\\"a\\":2}","b":"]}"}')).toBeUndefined();
    expect(jsonStructureIssue('[1, "x", null, true]')).toBeUndefined();
  });

  it('names a repeated key with its path, at any depth, after unescaping', () => {
    expect(jsonStructureIssue('{"a":1,"a":2}')).toMatchObject({ code: 'duplicate_key', path: 'a' });
    expect(jsonStructureIssue('[{"x":1},{"spec":{"t":[{"u":1,"v":2,"u":3}]}}]')).toMatchObject({ code: 'duplicate_key', path: '[1].spec.t[0].u' });
    expect(jsonStructureIssue('{"url":1,"\\u0075rl":2}')).toMatchObject({ code: 'duplicate_key', path: 'url' });
    expect(jsonStructureIssue('{"a\\"b":1,"a\\"b":2}')).toMatchObject({ code: 'duplicate_key', message: expect.stringContaining('a\\"b') });
  });

  it('refuses U+0000 in a string or a name, with its path (PostgreSQL stores none in text or jsonb)', () => {
    expect(jsonStructureIssue('{"spec":{"metadata":{"team":"a\\u0000b"}}}')).toMatchObject({ code: 'nul_character', path: 'spec.metadata.team' });
    expect(jsonStructureIssue('[{"a":1},{"b":["x","\\u0000"]}]')).toMatchObject({ code: 'nul_character', path: '[1].b[1]' });
    expect(jsonStructureIssue('{"k\\u0000":1}')).toMatchObject({ code: 'nul_character', path: 'k\u0000' });
    // An escaped backslash followed by "u0000" is six characters of text, not a NUL.
    expect(jsonStructureIssue('{"a":"\\\\u0000"}')).toBeUndefined();
    // Before JSON.parse has seen the text (large bodies are scanned first), a bad escape is left for it to report.
    expect(jsonStructureIssue('{"a":"\\u00zz"}')).toBeUndefined();
  });

  it('refuses nesting beyond the limit, arrays and objects alike', () => {
    const ok = `${'['.repeat(MAX_NESTING_DEPTH)}${']'.repeat(MAX_NESTING_DEPTH)}`;
    expect(jsonStructureIssue(ok)).toBeUndefined();
    expect(jsonStructureIssue(`[${ok}]`)).toMatchObject({ code: 'too_deep' });
    expect(jsonStructureIssue(`${'{"a":'.repeat(200)}1${'}'.repeat(200)}`)).toMatchObject({ code: 'too_deep' });
  });
});

describe('nulCharacterPath', () => {
  it('finds U+0000 in values and keys at any depth, and nothing in clean values', () => {
    expect(nulCharacterPath({ a: [1, 'x', { b: 'c\u0000' }] })).toEqual(['a', 2, 'b']);
    expect(nulCharacterPath({ a: { 'k\u0000': 1 } })).toEqual(['a', 'k\u0000']);
    expect(nulCharacterPath('\u0000')).toEqual([]);
    expect(nulCharacterPath({ a: ['x', null, 1, true, { b: 'ok' }] })).toBeUndefined();
  });

  it('refuses a YAML "\\0" escape and a raw NUL with document, path and line', () => {
    const escaped = parseYamlDocuments('a: 1\n---\nspec:\n  team: "x\\0"\n');
    expect(escaped.issues).toEqual([expect.objectContaining({ code: 'nul_character', document: 1, path: 'spec.team', line: 4 })]);
    expect(parseYamlDocuments('a: "\u0000"\n').issues[0]).toMatchObject({ code: 'nul_character', path: 'a' });
    expect(parseYamlDocuments('a: "\\\\0"\n').issues).toEqual([]);
  });
});

describe('cstTooDeep and the YAML parser limits', () => {
  const depth = (text: string, limit?: number) => [...new Parser().parse(text)].map((t) => cstTooDeep(t, limit));

  it('measures flow, block and mixed nesting without recursion', () => {
    // block map > flow sequence > flow map > flow sequence
    expect(depth('a: [1, {b: [2]}]', 4)).toEqual([undefined]);
    expect(depth('a: [1, {b: [2]}]', 3)[0]).toBe(11);
    expect(depth('- - - x', 2)[0]).toBeTypeOf('number');
    expect(depth('['.repeat(200_000))[0]).toBe(MAX_NESTING_DEPTH);
  });

  it('refuses deep documents with their index and line, before composing them', () => {
    const r = parseYamlDocuments(`a: 1\n---\nb:\n  c: ${'['.repeat(10_000)}`);
    expect(r.issues).toEqual([expect.objectContaining({ code: 'too_deep', document: 1, line: 4 })]);
  });

  it('refuses alias expansion bombs and names repeated keys duplicate_key', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]'].join('\n');
    expect(parseYamlDocuments(bomb).issues).toEqual([expect.objectContaining({ code: 'too_many_aliases', document: 0 })]);
    // A few aliases stay fine.
    expect(parseYamlDocuments('a: &a {x: 1}\nb: *a\n').issues).toEqual([]);
    expect(parseYamlDocuments('a: 1\na: 2\n').issues).toEqual([expect.objectContaining({ code: 'duplicate_key', line: 2 })]);
  });
});

describe('jsonStructureSteps', () => {
  const run = (text: string) => {
    const steps = jsonStructureSteps(text);
    let yields = 0;
    for (;;) {
      const r = steps.next();
      if (r.done) return { ...r.value, yields };
      yields++;
    }
  };

  it('records the elements of a top-level array, whatever they hold', () => {
    const text = ' [ {"a":[1,2],"b":"x,]"} , 3,"s" ,[4,5] ] \n';
    const { issue, elements } = run(text);
    expect(issue).toBeUndefined();
    expect(elements?.map(([s, e]) => text.slice(s, e).trim())).toEqual(['{"a":[1,2],"b":"x,]"}', '3', '"s"', '[4,5]']);
  });

  it('records no elements for text that is not one array', () => {
    expect(run('{"items":[1,2]}').elements).toBeUndefined();
    expect(run('[1,2] [3]').elements).toBeUndefined();
    expect(run('[1,2] x').elements).toBeUndefined();
    expect(run('"[1,2]"').elements).toBeUndefined();
    expect(run('[1, "unterminated').elements).toBeUndefined();
  });

  it('yields about every 32 KiB, so a serving process can scan a large body in slices', () => {
    const text = JSON.stringify(Array.from({ length: 5_000 }, (_, i) => ({ name: `api-${i}`, spec: { basePath: `/svc${i}` } })));
    const { yields, elements, issue } = run(text);
    expect(issue).toBeUndefined();
    expect(elements).toHaveLength(5_000);
    expect(yields).toBeGreaterThanOrEqual(Math.floor(text.length / (32 * 1024)) - 1);
    expect(run('[1,2]').yields).toBe(0);
  });

  it('finds the same issues as jsonStructureIssue', () => {
    expect(run('[{"x":1},{"spec":{"t":[{"u":1,"v":2,"u":3}]}}]').issue).toMatchObject({ code: 'duplicate_key', path: '[1].spec.t[0].u' });
    expect(run(`[${'['.repeat(MAX_NESTING_DEPTH)}${']'.repeat(MAX_NESTING_DEPTH)}]`).issue).toMatchObject({ code: 'too_deep' });
  });
});
