import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import type { ConfigSnapshot } from '@tollgate/stores';
import { PoolRegistry } from '@tollgate/upstream';
import { apiVersionSteps, ConfigManager } from './config-manager.js';
import type { ConfigSource } from './options.js';

function resources(origin: string, basePath = '/'): Resource[] {
  const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: u }
spec: { targets: [{ url: "${origin}" }] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: a }
spec: { basePath: ${basePath}, routes: [{ name: r, destination: { upstream: u } }] }
`);
  if (!r.ok) throw new Error('bad fixture');
  return r.resources;
}

/** An in-memory config source that counts loads. */
class CountingSource implements ConfigSource {
  loads = 0;
  v = 1;
  res: Resource[];
  watcher: ((v: number) => void) | null = null;
  constructor(res: Resource[]) {
    this.res = res;
  }
  async load(): Promise<ConfigSnapshot> {
    this.loads++;
    await new Promise((r) => setTimeout(r, 5));
    return { version: this.v, resources: this.res };
  }
  async version(): Promise<number> {
    return this.v;
  }
  async watch(cb: (v: number) => void): Promise<() => Promise<void>> {
    this.watcher = cb;
    return async () => void (this.watcher = null);
  }
}

const logger = pino({ enabled: false });

function manager(source: ConfigSource, pollMs = 60_000) {
  const pools = new PoolRegistry({ graceMs: 10 });
  return { m: new ConfigManager(source, pools as never, { logger }, logger, pollMs), pools };
}

describe('ConfigManager', () => {
  it('installs the first snapshot and resolves ready', async () => {
    const s = new CountingSource(resources('http://127.0.0.1:1'));
    const { m, pools } = manager(s);
    m.start();
    await m.ready;
    expect(m.version).toBe(1);
    expect(m.current?.routes.lookup('h', '/x', 'GET').kind).toBe('match');
    await m.stop();
    await pools.closeAll(0);
  });

  it('coalesces notifications that arrive during a reload into one more reload', async () => {
    const s = new CountingSource(resources('http://127.0.0.1:1'));
    const { m, pools } = manager(s);
    m.start();
    await m.ready;
    await new Promise((r) => setTimeout(r, 20)); // let the boot reload finish
    const before = s.loads;
    s.v = 2;
    s.res = resources('http://127.0.0.1:2');
    const runs = [m.reload(), m.reload(), m.reload(), m.reload()];
    await Promise.all(runs);
    expect(s.loads - before).toBe(2);
    expect(m.version).toBe(2);
    await m.stop();
    await pools.closeAll(0);
  });

  it('reloadIndexes installs fresh indexes at the snapshot position even when the version did not move', async () => {
    const s = new CountingSource(resources('http://127.0.0.1:1'));
    let seq = 5;
    const load = s.load.bind(s);
    s.load = async () => ({ ...(await load()), changeSeq: seq });
    const { m, pools } = manager(s);
    m.start();
    await m.ready;
    expect(m.changeSeq).toBe(5);
    // The feed moved on (a log the node can no longer replay), the config version did not.
    seq = 9;
    await m.reload();
    expect(m.changeSeq).toBe(5);
    await m.reloadIndexes();
    expect(m.changeSeq).toBe(9);
    expect(m.version).toBe(1);
    await m.stop();
    await pools.closeAll(0);
  });

  it('adopts a new version with identical content without rebuilding the runtime', async () => {
    const s = new CountingSource(resources('http://127.0.0.1:1'));
    const { m, pools } = manager(s);
    m.start();
    await m.ready;
    const routes = m.current?.routes;
    s.v = 3;
    await m.reload();
    expect(m.version).toBe(3);
    expect(m.current?.routes).toBe(routes);
    await m.stop();
    await pools.closeAll(0);
  });

  it('keeps serving and does not retry a rejected version on the periodic check', async () => {
    const s = new CountingSource(resources('http://127.0.0.1:1'));
    const { m, pools } = manager(s, 20);
    m.start();
    await m.ready;
    const good = m.current;
    s.v = 2;
    s.res = resources('http://127.0.0.1:1').filter((r) => r.kind === 'Api'); // dangling upstream
    await m.reload();
    expect(m.current).toBe(good);
    const loads = s.loads;
    await new Promise((r) => setTimeout(r, 120));
    expect(s.loads).toBe(loads);
    // A later good version is picked up by the periodic check alone.
    s.v = 3;
    s.res = resources('http://127.0.0.1:1', '/v3');
    await new Promise((r) => setTimeout(r, 150));
    expect(m.version).toBe(3);
    await m.stop();
    await pools.closeAll(0);
  });

  it('reuses pools of unchanged upstreams across snapshots', async () => {
    const s = new CountingSource(resources('http://127.0.0.1:1'));
    const { m, pools } = manager(s);
    m.start();
    await m.ready;
    const pick = () => {
      const r = m.current?.routes.lookup('h', '/v2/x', 'GET');
      const r1 = m.current?.routes.lookup('h', '/x', 'GET');
      const hit = r?.kind === 'match' ? r : r1;
      return hit?.kind === 'match' ? hit.value.actions.primary?.target.targets[0]?.pool : undefined;
    };
    const p1 = pick();
    s.v = 2;
    s.res = resources('http://127.0.0.1:1', '/v2');
    await m.reload();
    expect(m.version).toBe(2);
    expect(pick()).toBe(p1);
    expect(pools.size).toBe(1);
    await m.stop();
    await pools.closeAll(0);
  });
});

describe('apiVersionSteps', () => {
  it('maps every Api to its version in steps, yielding every 1,000 resources (#16)', () => {
    const resources = Array.from({ length: 2_500 }, (_, i) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Api', metadata: { name: `a${i}` }, spec: { version: `v${i % 3}` } })) as unknown as Resource[];
    const steps = apiVersionSteps(resources);
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    expect(yields).toBe(2);
    expect(r.value.size).toBe(2_500);
    expect(r.value.get('a2498')).toBe('v2');
  });
});
