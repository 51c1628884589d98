// No module cycles inside the data plane (apps/gateway) and the upstream package, and none
// between workspace packages. Cycles are found by madge (a maintained import-graph tool) over the
// TypeScript sources, type-only imports included: a cycle through types is still a cycle of
// concerns (the one this test was written against ran route-actions -> aggregate -> route-actions).
// Between packages the graph is the workspaces' declared dependencies (package.json), which is
// what `tsc -b` project references and the import specifiers follow.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import madge from 'madge';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function cyclesIn(dir: string): Promise<{ cycles: string[][]; files: number }> {
  const graph = await madge(`${root}${dir}/src`, {
    fileExtensions: ['ts'],
    excludeRegExp: [/\.test\.ts$/],
    tsConfig: `${root}${dir}/tsconfig.json`,
    detectiveOptions: { ts: { skipTypeImports: false } },
  });
  return { cycles: graph.circular(), files: Object.keys(graph.obj()).length };
}

/** Cycles of a directed graph given as adjacency lists (depth-first search, each cycle once per entry node). */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return cycles;
}

describe('module cycles', () => {
  it('none inside apps/gateway (every source file is in the graph)', async () => {
    const { cycles, files } = await cyclesIn('apps/gateway');
    expect(files).toBeGreaterThan(40);
    expect(cycles).toEqual([]);
  }, 120_000);

  it('none inside packages/upstream', async () => {
    const { cycles, files } = await cyclesIn('packages/upstream');
    expect(files).toBeGreaterThan(10);
    expect(cycles).toEqual([]);
  }, 120_000);

  it('none between workspace packages', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { workspaces: string[] };
    const graph = new Map<string, string[]>();
    for (const ws of pkg.workspaces) {
      const p = JSON.parse(readFileSync(`${root}${ws}/package.json`, 'utf8')) as { name: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
      const deps = Object.keys({ ...p.dependencies, ...p.devDependencies }).filter((d) => d.startsWith('@tollgate/'));
      graph.set(p.name, deps);
    }
    expect(graph.size).toBe(pkg.workspaces.length);
    expect(findCycles(graph)).toEqual([]);
  });

  it('the walk used between packages does find a cycle', () => {
    expect(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c', 'a']]);
  });
});
