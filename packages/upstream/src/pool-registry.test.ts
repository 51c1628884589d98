import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { PoolRegistry, type ManagedPool, type PoolSettings } from './pool-registry.js';

class FakePool implements ManagedPool {
  closed = false;
  destroyed = false;
  constructor(
    readonly origin: string,
    readonly settings: PoolSettings,
    private readonly closeDelayMs = 0,
  ) {}
  async close(): Promise<void> {
    await sleep(this.closeDelayMs);
    this.closed = true;
  }
  async destroy(): Promise<void> {
    this.destroyed = true;
  }
}

const s: PoolSettings = { connections: 10, connectTimeoutMs: 1000, headersTimeoutMs: 2000, bodyTimeoutMs: 3000 };

describe('PoolRegistry', () => {
  it('reuses pools whose origin and settings are unchanged and retires the others after the grace period', async () => {
    const created: FakePool[] = [];
    const reg = new PoolRegistry<FakePool>({ graceMs: 30, create: (o, st) => (created.push(new FakePool(o, st)), created.at(-1) as FakePool) });
    const first = reg.sync([
      { origin: 'http://a:1', settings: s },
      { origin: 'http://b:1', settings: s },
    ]);
    expect(created).toHaveLength(2);
    const second = reg.sync([
      { origin: 'http://a:1', settings: s },
      { origin: 'http://b:1', settings: { ...s, connections: 20 } },
    ]);
    expect(created).toHaveLength(3);
    expect([...second.values()][0]).toBe([...first.values()][0]);
    const oldB = [...first.values()][1] as FakePool;
    expect(oldB.closed).toBe(false);
    await sleep(80);
    expect(oldB.closed).toBe(true);
    expect(created[0]?.closed).toBe(false);
    expect(reg.size).toBe(2);
  });

  it('cancels retirement when a pool is wanted again within the grace period', async () => {
    const created: FakePool[] = [];
    const reg = new PoolRegistry<FakePool>({ graceMs: 30, create: (o, st) => (created.push(new FakePool(o, st)), created.at(-1) as FakePool) });
    reg.sync([{ origin: 'http://a:1', settings: s }]);
    reg.sync([]);
    reg.sync([{ origin: 'http://a:1', settings: s }]);
    await sleep(60);
    expect(created).toHaveLength(1);
    expect(created[0]?.closed).toBe(false);
  });

  it('closeAll destroys pools that do not close within the timeout', async () => {
    const reg = new PoolRegistry<FakePool>({ create: (o, st) => new FakePool(o, st, 10_000) });
    const pools = reg.sync([{ origin: 'http://a:1', settings: s }]);
    await reg.closeAll(20);
    expect(([...pools.values()][0] as FakePool).destroyed).toBe(true);
    expect(reg.size).toBe(0);
  });
});
