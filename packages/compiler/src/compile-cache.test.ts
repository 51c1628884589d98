import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, parseResourcesYaml, sortResources, type Resource } from '@tollgate/model';
import { CompileCache, type ApiReads } from './compile-cache.js';
import type { ApiUnit } from './compile-api.js';
import { compileConfig, compileConfigAsync, validateConfigAsync } from './compile.js';
import type { CompiledConfig } from './types.js';

function resources(yaml: string): Resource[] {
  const r = parseResourcesYaml(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

const upstream = (url = 'http://127.0.0.1:9001') => `apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: backend }\nspec: { targets: [{ url: "${url}", labels: { color: blue } }], subsets: [{ name: blue, labels: { color: blue } }] }\n`;
const api = (name: string, extra = '') =>
  `---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: ${name} }\nspec:\n  hosts: [shop.example.com]\n  basePath: /${name}\n  routes:\n    - { name: items, match: [{ path: { prefix: /items } }], destination: { upstream: backend${extra} } }\n    - { name: one, match: [{ path: { template: "/orders/{id}" } }], destination: { upstream: backend } }\n`;
const set = (n: number, extra: Record<number, string> = {}, url?: string) => resources(upstream(url) + Array.from({ length: n }, (_, i) => api(`a${i}`, extra[i] ?? '')).join(''));

function snapshot(r: ReturnType<typeof compileConfig>): CompiledConfig {
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

/** What a table answers for a few requests per API: the route id, or the lookup kind. */
function answers(c: CompiledConfig, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n + 1; i++) {
    for (const path of [`/a${i}/items/x`, `/a${i}/orders/7`, `/a${i}/nothing`]) {
      const l = c.routes.lookup('shop.example.com', path, 'GET');
      out.push(l.kind === 'match' ? `${l.value.id} ${l.value.actions.destinations[0]?.subset ?? '-'}` : l.kind);
    }
  }
  return out;
}

describe('CompileCache (incremental compile)', () => {
  it('recompiles only the Apis that changed, and the snapshot equals a compile from scratch', () => {
    const cache = new CompileCache();
    snapshot(compileConfig(set(50), 1, { cache }));
    expect([cache.hits, cache.misses]).toEqual([0, 50]);
    // One route changed in one Api, one Api added: two compiled, 49 reused.
    const changed = set(51, { 7: ', subset: blue' });
    const incremental = snapshot(compileConfig(changed, 2, { cache }));
    expect([cache.hits, cache.misses]).toEqual([49, 2]);
    const fresh = snapshot(compileConfig(changed, 2));
    expect(incremental.hash).toBe(fresh.hash);
    expect(answers(incremental, 51)).toEqual(answers(fresh, 51));
    expect(answers(incremental, 51)).toContain('a7/items blue');
  });

  it('recompiles the Apis that read a changed upstream, and forgets deleted Apis', () => {
    const cache = new CompileCache();
    snapshot(compileConfig(set(10), 1, { cache }));
    snapshot(compileConfig(set(10, {}, 'http://127.0.0.1:9002'), 2, { cache }));
    expect([cache.hits, cache.misses]).toEqual([0, 10]);
    snapshot(compileConfig(set(4, {}, 'http://127.0.0.1:9002'), 3, { cache }));
    expect(cache.size).toBe(4);
  });

  it('an upstream change recompiles only the Apis that name it; an upstream created later recompiles the Api that named it while missing', () => {
    const other = (url: string) => `---\napiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: other }\nspec: { targets: [{ url: "${url}" }] }\n`;
    const onOther = (name: string) => api(name).replaceAll('upstream: backend', 'upstream: other');
    const two = (url: string) => resources(upstream() + other(url) + api('a0') + api('a1') + onOther('b0') + api('a2', '').replace('destination: { upstream: backend }', 'destination: { upstream: backend }, mirror: { upstream: other, percentage: 10 }'));
    const cache = new CompileCache();
    snapshot(compileConfig(two('http://127.0.0.1:7001'), 1, { cache }));
    expect([cache.hits, cache.misses]).toEqual([0, 4]);
    const changed = two('http://127.0.0.1:7002');
    const incremental = snapshot(compileConfig(changed, 2, { cache }));
    // b0 routes to `other`, a2 mirrors to it: those two; a0 and a1 are reused.
    expect([cache.hits, cache.misses]).toEqual([2, 2]);
    expect(incremental.hash).toBe(snapshot(compileConfig(changed, 2)).hash);
    // Named while missing: refused, then compiled again once the upstream exists.
    const missing = resources(upstream() + onOther('b0'));
    const refused = compileConfig(missing, 3, { cache });
    expect(!refused.ok && refused.issues.map((i) => i.code)).toContain('dangling_reference');
    snapshot(compileConfig(resources(upstream() + other('http://127.0.0.1:7003') + onOther('b0')), 4, { cache }));
    expect([cache.hits, cache.misses]).toEqual([0, 1]);
  });

  it("recompiles an Api whose successor moved (its lifecycle plan is part of its key)", () => {
    const cache = new CompileCache();
    const withSuccessor = (basePath: string) => {
      const rs = set(3);
      const a0 = rs.find((r) => r.metadata.name === 'a0');
      const a1 = rs.find((r) => r.metadata.name === 'a1');
      if (a0?.kind !== 'Api' || a1?.kind !== 'Api') throw new Error('fixture');
      a0.spec.lifecycle = { state: 'deprecated', deprecatedAt: '2026-01-01T00:00:00Z', successor: 'a1', previewConsumers: [], autoRetire: false } as typeof a0.spec.lifecycle;
      a1.spec.basePath = basePath;
      return rs;
    };
    const refusal = (c: CompiledConfig) => c.routes.entries.find((e) => e.value.api === 'a0')?.value.refusalHeaders?.link;
    expect(refusal(snapshot(compileConfig(withSuccessor('/a1'), 1, { cache })))).toContain('<//shop.example.com/a1>');
    const moved = snapshot(compileConfig(withSuccessor('/moved'), 2, { cache }));
    expect([cache.hits, cache.misses]).toEqual([1, 2]);
    expect(refusal(moved)).toContain('<//shop.example.com/moved>');
  });

  it('reports the issues of a reused Api again (a cached unit is not a pass)', () => {
    const cache = new CompileCache();
    const bad = set(3, { 1: ', subset: nope' });
    const first = compileConfig(bad, 1, { cache });
    const second = compileConfig(bad, 2, { cache });
    expect(cache.hits).toBe(3);
    expect(first.ok || second.ok).toBe(false);
    expect(!second.ok && second.issues).toEqual(!first.ok && first.issues);
  });

  it('finds conflicts between a reused Api and a new one', () => {
    const cache = new CompileCache();
    snapshot(compileConfig(set(3), 1, { cache }));
    const clash = resources(upstream() + [0, 1, 2].map((i) => api(`a${i}`)).join('') + api('b').replace('basePath: /b', 'basePath: /a1'));
    const r = compileConfig(clash, 2, { cache });
    expect(cache.hits).toBe(3);
    expect(!r.ok && r.issues.map((i) => [i.code, i.resource])).toContainEqual(['route_conflict', 'Api/b']);
  });
});

describe('CompileCache shared by a validator and a data plane (one process)', () => {
  it("a reload after the validation reuses every unit the validation compiled, and its snapshot equals a compile from scratch", async () => {
    const cache = new CompileCache();
    const rs = set(20);
    expect(await validateConfigAsync(rs, { cache })).toEqual([]);
    expect([cache.hits, cache.misses]).toEqual([0, 20]);
    const reloaded = snapshot(await compileConfigAsync(rs, 1, { cache }));
    expect([cache.hits, cache.misses]).toEqual([20, 0]);
    const fresh = snapshot(compileConfig(rs, 1));
    expect(reloaded.hash).toBe(fresh.hash);
    expect(answers(reloaded, 20)).toEqual(answers(fresh, 20));
  });

  it('a reload of the same documents read back in another key order writes no Api text again, and hashes as a compile from scratch', async () => {
    const cache = new CompileCache();
    const rs = set(20, { 3: ', subset: blue' });
    expect(await validateConfigAsync(rs, { cache })).toEqual([]);
    expect(cache.texts).toBe(20);
    // What a database hands back: equal documents, new objects, keys in another order.
    const reversed = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reversed) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    const readBack = rs.map((r) => reversed(r) as Resource);
    const reloaded = snapshot(await compileConfigAsync(readBack, 1, { cache }));
    expect([cache.hits, cache.misses, cache.texts]).toEqual([20, 0, 0]);
    expect(reloaded.hash).toBe(snapshot(compileConfig(rs, 1)).hash);
    // One Api changed: its text (and unit) alone are new, and the hash is the changed set's.
    const changed = set(20, { 3: ', subset: blue', 5: ', subset: blue' });
    const next = snapshot(await compileConfigAsync(changed, 2, { cache }));
    expect([cache.hits, cache.misses, cache.texts]).toEqual([19, 1, 1]);
    expect(next.hash).toBe(snapshot(compileConfig(changed, 2)).hash);
    expect(answers(next, 20)).toEqual(answers(snapshot(compileConfig(changed, 2)), 20));
  });

  it('reuses a unit only for an equal Api text and an equal rest of the key', () => {
    const cache = new CompileCache();
    const none: ApiReads = { upstreams: new Set(), protos: new Set() };
    let built = 0;
    const compiles = (text: string, key: string): number => {
      const run = cache.begin();
      run.unit('a', text, key, () => [], () => (built++, { unit: { entries: [], fallbackEntries: [], claims: [], issues: [] }, reads: none }));
      run.end();
      return built;
    };
    expect(compiles('{"x":1}', 'k')).toBe(1);
    // The same text as another string (as a compile that wrote it again passes it) and the same key: a hit.
    expect(compiles(['{"x":', '1}'].join(''), 'k')).toBe(1);
    expect(compiles('{"x":2}', 'k')).toBe(2);
    expect(compiles('{"x":2}', 'other plan')).toBe(3);
    expect(compiles('{"x":2}', 'other plan')).toBe(3);
  });

  it('overlapping compiles forget what none of them looked up, once all have ended', async () => {
    const cache = new CompileCache();
    const unit = (): ApiUnit => ({ entries: [], fallbackEntries: [], claims: [], issues: [] });
    const none: ApiReads = { upstreams: new Set(), protos: new Set() };
    const look = (run: ReturnType<CompileCache['begin']>, api: string) => run.unit(api, api, '', () => [], () => ({ unit: unit(), reads: none }));
    const first = cache.begin();
    for (const api of ['gone', 'a', 'b']) look(first, api);
    first.end();
    // A reload (old set: a, b) runs while a validation (new set: a, c) begins and ends.
    const reload = cache.begin();
    look(reload, 'a');
    const validation = cache.begin();
    look(validation, 'a');
    look(validation, 'c');
    validation.end();
    // The reload is still running and may look any unit up yet (b, here): nothing is forgotten.
    expect(cache.size).toBe(4);
    look(reload, 'b');
    reload.end();
    // `gone` was looked up by neither.
    expect(cache.size).toBe(3);
    // The next compile of the new set forgets b.
    const next = cache.begin();
    look(next, 'a');
    look(next, 'c');
    next.end();
    expect(cache.size).toBe(2);
    expect([cache.hits, cache.misses]).toEqual([2, 0]);
  });

  it('a compile that throws still ends its run, so later compiles keep forgetting deleted Apis', () => {
    const cache = new CompileCache();
    snapshot(compileConfig(set(3), 1, { cache }));
    const broken = set(3);
    const a1 = broken.find((r) => r.metadata.name === 'a1');
    if (a1?.kind !== 'Api') throw new Error('fixture');
    // Not a valid resource (the model never lets this through): compileApi throws on it.
    (a1.spec as { routes: unknown }).routes = null;
    expect(() => compileConfig(broken, 2, { cache })).toThrow();
    snapshot(compileConfig(set(1), 3, { cache }));
    expect(cache.size).toBe(1);
  });
});

describe('compileConfigAsync / validateConfigAsync', () => {
  it('yields to the event loop between slices and returns the same snapshot as compileConfig', async () => {
    const res = set(200);
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const r = await compileConfigAsync(res, 3, {}, 1);
    clearInterval(ticker);
    const sync = snapshot(compileConfig(res, 3));
    expect(turns).toBeGreaterThan(0);
    expect(snapshot(r).hash).toBe(sync.hash);
    expect(answers(snapshot(r), 200)).toEqual(answers(sync, 200));
  });

  it('hashes the canonical JSON of the sorted set, independent of order', () => {
    const res = set(5);
    const expected = createHash('sha256').update(canonicalJson(sortResources(res))).digest('hex');
    expect(snapshot(compileConfig([...res].reverse(), 1)).hash).toBe(expected);
  });

  it('validates as compileConfig does, without building a snapshot', async () => {
    const cache = new CompileCache();
    expect(await validateConfigAsync(set(5), { cache })).toEqual([]);
    const bad = set(5, { 2: ', subset: nope' });
    const r = compileConfig(bad, 0);
    expect(await validateConfigAsync(bad, { cache })).toEqual(!r.ok && r.issues);
    expect(cache.hits).toBe(4);
  });
});
