import { CompileCache, compileConfig, type CompiledConfig } from '@tollgate/compiler';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import { PoolRegistry, TargetStateRegistry } from '@tollgate/upstream';
import type { PolicyDeps } from '@tollgate/policies';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { instantiate, RuntimeReuse, type RuntimeSnapshot } from './runtime.js';

const upstream = (name: string, port: number) => `---\napiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: ${name} }\nspec: { targets: [{ url: "http://127.0.0.1:${port}" }] }\n`;
const api = (name: string, up: string, extra = '') =>
  `---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: ${name} }\nspec:\n  basePath: /${name}\n  policies: [{ name: ip-restriction, config: { deny: ["10.0.0.0/8"] } }]\n  routes: [{ name: r, destination: { upstream: ${up} }${extra} }]\n`;

function resources(yaml: string): Resource[] {
  const r = parseResourcesYaml(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

describe('RuntimeReuse (#16)', () => {
  const pools = new PoolRegistry();
  const states = new TargetStateRegistry();
  const deps = { logger: pino({ level: 'silent' }) } as PolicyDeps;
  const cache = new CompileCache();
  const reuse = new RuntimeReuse();
  afterAll(() => pools.closeAll?.());
  let version = 0;
  const install = (yaml: string): RuntimeSnapshot => {
    const c = compileConfig(resources(yaml), ++version, { cache });
    if (!c.ok) throw new Error(JSON.stringify(c.issues));
    return instantiate(c.config as CompiledConfig, pools, deps, states, reuse);
  };
  const route = (s: RuntimeSnapshot, api: string) => s.routes.entries.find((e) => e.value.api === api)?.value;

  it('keeps the runtime of unchanged routes and upstreams, rebuilds what changed or depends on a change', () => {
    const first = install(upstream('u1', 9001) + upstream('u2', 9002) + api('a', 'u1') + api('b', 'u1') + api('c', 'u2'));
    // Api b changed: only its route is rebuilt.
    const second = install(upstream('u1', 9001) + upstream('u2', 9002) + api('a', 'u1') + api('b', 'u1', ', timeoutMs: 500') + api('c', 'u2'));
    expect(route(second, 'a')).toBe(route(first, 'a'));
    expect(route(second, 'c')).toBe(route(first, 'c'));
    expect(second.upstreams.get('u1')).toBe(first.upstreams.get('u1'));
    expect(route(second, 'b')).not.toBe(route(first, 'b'));
    expect(route(second, 'b')?.headersDeadlineMs).toBe(500);
    // Upstream u2 changed: its runtime and c's route are new (c names it), u1's runtime is kept.
    const third = install(upstream('u1', 9001) + upstream('u2', 9003) + api('a', 'u1') + api('b', 'u1', ', timeoutMs: 500') + api('c', 'u2'));
    expect(third.upstreams.get('u1')).toBe(second.upstreams.get('u1'));
    expect(third.upstreams.get('u2')).not.toBe(second.upstreams.get('u2'));
    expect(route(third, 'c')).not.toBe(route(second, 'c'));
    expect(route(third, 'c')?.target).toBe(third.upstreams.get('u2'));
    expect(route(third, 'a')?.target).toBe(third.upstreams.get('u1'));
    // Apis a and b do not name u2: neither recompiled (cache) nor rebuilt (same route runtime).
    expect([cache.hits, cache.misses]).toEqual([2, 1]);
    expect(route(third, 'a')).toBe(route(second, 'a'));
    expect(route(third, 'b')).toBe(route(second, 'b'));
  });

  it('without a RuntimeReuse every instantiation builds everything', () => {
    const c = compileConfig(resources(upstream('u1', 9001) + api('a', 'u1')), 1, { cache });
    if (!c.ok) throw new Error('compile');
    const one = instantiate(c.config, pools, deps, states);
    const two = instantiate(c.config, pools, deps, states);
    expect(route(two, 'a')).not.toBe(route(one, 'a'));
  });
});
