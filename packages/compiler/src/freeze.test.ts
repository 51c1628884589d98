import { describe, expect, it } from 'vitest';
import { deepFreeze } from './freeze.js';

describe('deepFreeze', () => {
  it('freezes plain objects, null-prototype objects and arrays all the way down, and leaves class instances', () => {
    class Runtime {
      n = 1;
    }
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { deep: { x: [1] } });
    const graph = { a: [{ b: { c: [2, { d: 3 }] } }], bare, runtime: new Runtime(), nothing: null };
    deepFreeze(graph);
    const inner = graph.a[0]?.b.c[1] as object;
    for (const o of [graph, graph.a, graph.a[0], graph.a[0]?.b, graph.a[0]?.b.c, inner, bare, bare.deep, (bare.deep as { x: number[] }).x]) expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(graph.runtime)).toBe(false);
  });
});
