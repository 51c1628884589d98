import { describe, expect, it } from 'vitest';
import { canonicalJson } from './serialize.js';

/** The definition canonicalJson must keep: JSON.stringify with every plain object's keys sorted. */
function reference(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

describe('canonicalJson', () => {
  it('writes the text of JSON.stringify with sorted keys, for every kind of value', () => {
    const values: unknown[] = [
      { b: 1, a: [3, { d: null, c: 'x' }], 'é': true, A: -0.5, '': 'empty' },
      [undefined, () => 1, Symbol('s'), NaN, Infinity, { u: undefined, f: () => 1, n: 1 }],
      { when: new Date(0), nested: { z: { y: { x: [1, [2, [3]]] } } } },
      'a "quoted"\n string',
      42,
      null,
      true,
      [],
      {},
      { '10': 'ten', '9': 'nine', b: 'b', B: 'B' },
      { '4294967295': 'not an index', '4294967294': 'index', '01': 'string', a: 1, '0': 'zero' },
      Object.assign(Object.create(null) as object, { k: 'no prototype' }),
    ];
    for (const v of values) expect(canonicalJson(v)).toBe(reference(v));
  });

  it('is equal for the same resource with keys in another order', () => {
    expect(canonicalJson({ kind: 'Api', spec: { routes: [], basePath: '/' } })).toBe(canonicalJson({ spec: { basePath: '/', routes: [] }, kind: 'Api' }));
  });
});
