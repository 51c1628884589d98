import { describe, expect, it } from 'vitest';
import { randomPrefix, testRedisUrl } from '../../../test/support/databases.js';
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
