import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CounterStore } from './counter-store.js';

/** What a counter-store contract run needs from one implementation. */
export interface CounterStoreHarness {
  store: CounterStore;
  /** Remaining TTL in ms of the backing entry of `key` as the backend sees it (-1: none, -2: absent). */
  ttlOf(key: string): Promise<number>;
  /** Remaining TTL in ms of window `key` of a `consume` call with `tag` (-1: none, -2: absent). */
  windowTtlOf(tag: string, key: string): Promise<number>;
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

    it('consume: checks and increments every window at once; a refusal consumes nothing', async () => {
      const tag = fresh('multi');
      const windows = [
        { key: 's', limit: 2, ttlMs: 60_000 },
        { key: 'h', limit: 3, ttlMs: 3_600_000 },
      ];
      expect(await h.store.consume(tag, windows, 1)).toMatchObject({ allowed: true, counts: [1, 1] });
      expect(await h.store.consume(tag, windows, 1)).toMatchObject({ allowed: true, counts: [2, 2] });
      // The first window is full: neither is incremented.
      expect(await h.store.consume(tag, windows, 1)).toMatchObject({ allowed: false, counts: [2, 2] });
      expect(await h.store.peek(tag, ['s', 'h', 'none'])).toEqual([2, 2, 0]);
      // A new first window (another key) lets one more through, then the hour window is full.
      const next = [{ key: 's2', limit: 2, ttlMs: 60_000 }, windows[1]!];
      expect(await h.store.consume(tag, next, 1)).toMatchObject({ allowed: true, counts: [1, 3] });
      expect(await h.store.consume(tag, next, 1)).toMatchObject({ allowed: false, counts: [1, 3] });
      const r = await h.store.consume(tag, next, 0);
      expect(r.resetMs[1]).toBeGreaterThan(3_500_000);
      expect(r.resetMs[1]).toBeLessThanOrEqual(3_600_000);
    });

    it('consume: a negative limit counts without refusing; the cost is the weight', async () => {
      const tag = fresh('weight');
      const w = [{ key: 'q', limit: -1, ttlMs: 60_000 }];
      expect((await h.store.consume(tag, w, 5)).counts).toEqual([5]);
      expect(await h.store.consume(tag, w, 7)).toMatchObject({ allowed: true, counts: [12] });
      expect(await h.store.consume(tag, [{ key: 'q', limit: 12, ttlMs: 60_000 }], 1)).toMatchObject({ allowed: false, counts: [12] });
    });

    it('consume: every written window has the TTL it was given, and a refused call creates no key', async () => {
      const tag = fresh('ttlw');
      await h.store.consume(tag, [{ key: 'a', limit: 5, ttlMs: 500 }, { key: 'b', limit: 5, ttlMs: 90_000 }], 1);
      const a = await h.windowTtlOf(tag, 'a');
      const b = await h.windowTtlOf(tag, 'b');
      expect(a).toBeGreaterThan(0);
      expect(a).toBeLessThanOrEqual(500);
      expect(b).toBeGreaterThan(80_000);
      await h.store.consume(tag, [{ key: 'c', limit: 0, ttlMs: 1_000 }], 1);
      expect(await h.windowTtlOf(tag, 'c')).toBe(-2);
      await sleep(600);
      expect(await h.store.peek(tag, ['a', 'b'])).toEqual([0, 1]);
    });

    it('consume: exact under concurrency (500 parallel calls, limit 100)', async () => {
      const tag = fresh('race');
      const w = [{ key: 'm', limit: 100, ttlMs: 60_000 }];
      const results = await Promise.all(Array.from({ length: 500 }, () => h.store.consume(tag, w, 1)));
      expect(results.filter((r) => r.allowed).length).toBe(100);
      expect(await h.store.peek(tag, ['m'])).toEqual([100]);
    });

    it('consume: refuses bad input', async () => {
      await expect(h.store.consume(fresh('bad'), [], 1)).rejects.toBeInstanceOf(RangeError);
      await expect(h.store.consume(fresh('bad'), [{ key: 'x', limit: 1, ttlMs: 0 }], 1)).rejects.toBeInstanceOf(RangeError);
      await expect(h.store.consume(fresh('bad'), [{ key: 'x', limit: 1, ttlMs: 10 }], -1)).rejects.toBeInstanceOf(RangeError);
    });

    it('answers ping', async () => {
      expect(await h.store.ping()).toBe(true);
    });
  });
}
