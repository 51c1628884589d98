import { describe, expect, it, vi } from 'vitest';
import { randomPrefix, testRedisUrl } from '../../../test/support/databases.js';
import { RedisProxy } from '../../../test/faults/redis-proxy.js';
import { COMMAND_TIMEOUT } from './deadline.js';
import { counterStoreContract } from './counter-store.contract.js';
import { createMemoryCounterStore } from './memory-counter-store.js';
import { createRedisCounterStore } from './redis-counter-store.js';

counterStoreContract('Redis', async () => {
  const store = await createRedisCounterStore({ url: testRedisUrl(), keyPrefix: `${randomPrefix('test')}:` });
  return {
    store,
    ttlOf: (key) => store.client.pttl(store.redisKey(key)),
    windowTtlOf: (tag, key) => store.client.pttl(store.windowKey(tag, key)),
    destroy: () => store.close(),
  };
});

counterStoreContract('in-memory', async () => {
  const store = createMemoryCounterStore();
  return { store, ttlOf: async (key) => store.ttlMs(key), windowTtlOf: async (tag, key) => store.windowTtlMs(tag, key), destroy: () => store.close() };
});

describe('Redis counter store', () => {
  it('wraps keys in a hash tag after the prefix, so one counter lives in one Cluster slot', async () => {
    const store = await createRedisCounterStore({ url: testRedisUrl(), keyPrefix: 'p:' });
    try {
      expect(store.redisKey('consumer:42')).toBe('p:{consumer:42}');
    } finally {
      await store.close();
    }
  });

  it('sends the script by its SHA-1 once loaded; after the server lost it (NOSCRIPT) sends it again as EVAL, counting once', async () => {
    const store = await createRedisCounterStore({ url: testRedisUrl(), keyPrefix: `${randomPrefix('noscript')}:` });
    try {
      const spy = vi.spyOn(store.client as unknown as { sendCommand: (c: { name: string }) => unknown }, 'sendCommand');
      const sent = () => spy.mock.calls.map(([c]) => c.name).filter((n) => n === 'eval' || n === 'evalsha');
      const w = [{ key: 'w', limit: 10, ttlMs: 60_000 }];
      expect((await store.consume('t', w, 1)).counts).toEqual([1]);
      expect((await store.consume('t', w, 1)).counts).toEqual([2]);
      expect(sent()).toEqual(['eval', 'evalsha']);
      // What a restarted server (or SCRIPT FLUSH) does to the script cache.
      await store.client.script('FLUSH');
      expect((await store.consume('t', w, 1)).counts).toEqual([3]);
      expect((await store.consume('t', w, 1)).counts).toEqual([4]);
      expect(sent()).toEqual(['eval', 'evalsha', 'evalsha', 'eval', 'evalsha']);
    } finally {
      await store.close();
    }
  });

  it('merges the consumes of one counter set made in one turn into one Lua call, with exact per-request counts', async () => {
    const store = await createRedisCounterStore({ url: testRedisUrl(), keyPrefix: `${randomPrefix('batch')}:` });
    try {
      const spy = vi.spyOn(store.client as unknown as { sendCommand: (c: { name: string }) => unknown }, 'sendCommand');
      // Script calls sent on the client (EVAL the first time, EVALSHA afterwards).
      const script = { calls: () => spy.mock.calls.filter(([c]) => c.name === 'eval' || c.name === 'evalsha').length };
      const windows = [
        { key: 'a', limit: 10, ttlMs: 60_000 },
        { key: 'b', limit: -1, ttlMs: 60_000 },
      ];
      await store.consume('t', windows, 3);
      expect(script.calls()).toBe(1);
      // Counts 3 so far: costs 2, 2, 2, 2, 1 -> 5, 7, 9, refused (11 > 10), 10.
      const results = await Promise.all([2, 2, 2, 2, 1].map((cost) => store.consume('t', windows, cost)));
      expect(script.calls()).toBe(2);
      expect(results.map((r) => r.allowed)).toEqual([true, true, true, false, true]);
      expect(results.map((r) => r.counts)).toEqual([[5, 5], [7, 7], [9, 9], [9, 9], [10, 10]]);
      expect(await store.peek('t', ['a', 'b'])).toEqual([10, 10]);
      for (const r of results) expect(r.resetMs[0]).toBeGreaterThan(59_000);
      // Past the limit mid-batch: exactly the overflow is refused.
      const more = await Promise.all(Array.from({ length: 4 }, () => store.consume('t', [{ key: 'c', limit: 2, ttlMs: 60_000 }], 1)));
      expect(script.calls()).toBe(3);
      expect(more.map((r) => [r.allowed, r.counts[0]])).toEqual([[true, 1], [true, 2], [false, 2], [false, 2]]);
    } finally {
      await store.close();
    }
  });

  it('a consume held behind a hung call answers within one deadline of its arrival, and is not counted', async () => {
    // A frozen proxy: the first call is written and never answered; the next waits behind it.
    const target = new URL(testRedisUrl());
    const proxy = await RedisProxy.start(Number(target.port || 6379));
    const store = await createRedisCounterStore({ url: `${proxy.url}${target.pathname}`, keyPrefix: `${randomPrefix('held')}:`, commandTimeoutMs: 400 });
    try {
      const w = [{ key: 'w', limit: 10, ttlMs: 60_000 }];
      proxy.freeze();
      const first = store.consume('a', w, 1).catch((e: unknown) => e);
      await new Promise((r) => setImmediate(r));
      const started = performance.now();
      const held = await store.consume('b', w, 1).catch((e: unknown) => e);
      const waited = performance.now() - started;
      expect(held).toMatchObject({ code: COMMAND_TIMEOUT });
      expect(await first).toMatchObject({ code: COMMAND_TIMEOUT });
      // One deadline (400 ms), not the first call's deadline and then its own (800 ms).
      expect(waited).toBeLessThan(700);
      proxy.thaw();
      // The first call was written, so Redis counts it once the bytes pass; the held one was never sent.
      await expect.poll(() => store.peek('a', ['w']), { timeout: 2_000 }).toEqual([1]);
      expect(await store.peek('b', ['w'])).toEqual([0]);
      expect((await store.consume('b', w, 1)).counts).toEqual([1]);
    } finally {
      proxy.thaw();
      await store.close();
      await proxy.close();
    }
  });

  it('fails fast instead of queueing when Redis is unreachable', async () => {
    const store = await createRedisCounterStore({ url: 'redis://127.0.0.1:1', keyPrefix: 'x:', waitForConnection: false });
    try {
      const started = Date.now();
      await expect(store.increment('k', 1, 1000)).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(await store.ping()).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('refuses to start when waiting for a connection that cannot be made', async () => {
    await expect(createRedisCounterStore({ url: 'redis://127.0.0.1:1', keyPrefix: 'x:' })).rejects.toThrow();
  });
});

describe('in-memory counter store', () => {
  it('sweeps expired windows so memory stays bounded', async () => {
    const store = createMemoryCounterStore({ sweepIntervalMs: 20 });
    try {
      for (let i = 0; i < 100; i++) await store.increment(`k${i}`, 1, 50);
      expect(store.size()).toBe(100);
      await expect.poll(() => store.size(), { timeout: 2_000 }).toBe(0);
    } finally {
      await store.close();
    }
  });
});
