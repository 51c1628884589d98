import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicallyEqual } from './serialize.js';

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
      // More keys than the insertion sort takes (with and without integer keys first), and keys to escape.
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${String(19 - i).padStart(2, '0')}`, i])),
      Object.fromEntries([['7', 0], ...Array.from({ length: 20 }, (_, i) => [`k${String(19 - i).padStart(2, '0')}`, i]), ['3', 1]]),
      { 'a"b': 1, 'a\nb': 2, '\u2028': 3, '\ud800': 4 },
    ];
    for (const v of values) expect(canonicalJson(v)).toBe(reference(v));
  });

  it('is equal for the same resource with keys in another order', () => {
    expect(canonicalJson({ kind: 'Api', spec: { routes: [], basePath: '/' } })).toBe(canonicalJson({ spec: { basePath: '/', routes: [] }, kind: 'Api' }));
  });

  it('returns flat text: kept texts cost their characters, not a tree of the pieces they were built from', () => {
    // A text built with `+=` is a tree of concatenation nodes until flattened, about 20 times its
    // characters for a resource (#16: the compile caches keep 10,000 of them as keys).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const api = (i: number) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Api', metadata: { name: `api-${i}`, labels: {}, annotations: {} }, spec: { hosts: ['bench.local'], basePath: `/svc${i}`, routes: [{ name: 'items', match: [{ path: { prefix: '/items' } }], destination: { upstream: 'bench' } }, { name: 'orders', match: [{ path: { template: '/orders/{id}' } }], destination: { upstream: 'bench' } }] } });
    const resources = Array.from({ length: 5_000 }, (_, i) => api(i));
    gc();
    const before = process.memoryUsage().heapUsed;
    const texts = resources.map((r) => canonicalJson(r));
    gc();
    const retained = process.memoryUsage().heapUsed - before;
    const chars = texts.reduce((n, t) => n + t.length, 0);
    // One-byte strings: a flat text is its characters plus a header; the tree was over 8 times that.
    expect(retained).toBeLessThan(2 * chars);
    expect(texts[1]).toBe(reference(api(1)));
  });
});

describe('canonicallyEqual', () => {
  it('answers as the canonical texts compare, for every kind of value', () => {
    const values: unknown[] = [
      { kind: 'Api', spec: { basePath: '/a', routes: [{ name: 'r', match: [{ path: { prefix: '/' } }] }] } },
      { spec: { routes: [{ match: [{ path: { prefix: '/' } }], name: 'r' }], basePath: '/a' }, kind: 'Api' },
      { kind: 'Api', spec: { basePath: '/a', routes: [{ name: 'r', match: [{ path: { prefix: '/x' } }] }] } },
      { kind: 'Api', spec: { basePath: '/a', routes: [] } },
      { kind: 'Api', spec: { basePath: '/a', routes: [], extra: undefined } },
      { kind: 'Api', spec: { basePath: '/a', routes: [], extra: 1 } },
      { a: [1, 2] },
      { a: [1, 2, 3] },
      { a: [1, undefined] },
      { a: [1, null] },
      { a: NaN },
      { a: null },
      { a: -0 },
      { a: 0 },
      { a: '0' },
      { when: new Date(0) },
      { when: new Date(0).toISOString() },
      Object.assign(Object.create(null) as object, { a: 0 }),
      { a: () => 1 },
      { a: 0, f: () => 1 },
      { a: 0, s: Symbol('s'), u: undefined },
      { a: 0, at: new Date(0) },
      { a: 0, at: '1970-01-01T00:00:00.000Z' },
      {},
      [],
      'text',
      1,
      true,
      null,
    ];
    for (const a of values) for (const b of values) expect(canonicallyEqual(a, b), `${canonicalJson(a)} vs ${canonicalJson(b)}`).toBe(canonicalJson(a) === canonicalJson(b));
  });
});
