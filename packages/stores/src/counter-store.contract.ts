import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CounterStore } from './counter-store.js';

/** What a counter-store contract run needs from one implementation. */
export interface CounterStoreHarness {
  store: CounterStore;
  /** Remaining TTL in ms of the backing entry of `key` as the backend sees it (-1: none, -2: absent). */
  ttlOf(key: string): Promise<number>;
  destroy(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seq = 0;
const fresh = (label: string) => `${label}:${process.pid}:${Date.now()}:${seq++}`;

/** The CounterStore contract: every implementation must pass it unchanged. */
export function counterStoreContract(name: string, factory: () => Promise<CounterStoreHarness>): void {
  describe(`CounterStore contract: ${name}`, () => {
    let h: CounterStoreHarness;
    beforeAll(async () => {
      h = await factory();
    });
    afterAll(async () => {
      await h?.destroy();
    });

    it('increments by the given amount, per key', async () => {
      const a = fresh('a');
      const b = fresh('b');
      expect(await h.store.get(a)).toBe(0);
      expect((await h.store.increment(a, 1, 60_000)).count).toBe(1);
      expect((await h.store.increment(a, 5, 60_000)).count).toBe(6);
      expect((await h.store.increment(b, 2, 60_000)).count).toBe(2);
      expect(await h.store.get(a)).toBe(6);
      expect(await h.store.get(b)).toBe(2);
    });

    it('sets a TTL on every key, from the first increment (a fixed window)', async () => {
      const k = fresh('ttl');
      const first = await h.store.increment(k, 1, 400);
      expect(first.resetMs).toBeGreaterThan(300);
      expect(first.resetMs).toBeLessThanOrEqual(400);
      const ttl = await h.ttlOf(k);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(400);
      await sleep(150);
      const second = await h.store.increment(k, 1, 400);
      // Later increments do not extend the window.
      expect(second.count).toBe(2);
      expect(second.resetMs).toBeLessThanOrEqual(260);
      expect(second.resetMs).toBeGreaterThan(0);
    });

    it('starts a new window once the old one expired', async () => {
      const k = fresh('exp');
      await h.store.increment(k, 3, 200);
      await sleep(300);
      expect(await h.store.get(k)).toBe(0);
      const next = await h.store.increment(k, 1, 200);
      expect(next.count).toBe(1);
      expect(next.resetMs).toBeGreaterThan(100);
      expect(await h.ttlOf(k)).toBeGreaterThan(0);
    });

    it('is atomic: 200 parallel increments yield each count 1..200 exactly once', async () => {
      const k = fresh('par');
      const results = await Promise.all(Array.from({ length: 200 }, () => h.store.increment(k, 1, 60_000)));
      expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(await h.store.get(k)).toBe(200);
    });

    it('rejects a non-positive window', async () => {
      await expect(h.store.increment(fresh('bad'), 1, 0)).rejects.toBeInstanceOf(RangeError);
    });

    it('answers ping', async () => {
      expect(await h.store.ping()).toBe(true);
    });
  });
}
