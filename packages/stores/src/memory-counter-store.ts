import { validateConsume, type ConsumeResult, type CounterStore, type WindowCheck, type WindowCount } from './counter-store.js';

interface Window {
  count: number;
  expiresAt: number;
}

/** Options of the in-process counter store. */
export interface MemoryCounterStoreOptions {
  /** How often expired windows are swept (default 1000 ms). */
  sweepIntervalMs?: number;
  /** Clock, for tests (default `Date.now`). */
  now?: () => number;
}

/** The in-process counter store, plus its size (to check that memory stays bounded). */
export interface MemoryCounterStore extends CounterStore {
  /** Number of windows currently held, expired ones included until the next sweep. */
  size(): number;
  /** Milliseconds left in the window of `key`, or -2 when there is none (as Redis PTTL answers). */
  ttlMs(key: string): number;
  /** Milliseconds left of window `key` of a `consume` call with `tag`, or -2. */
  windowTtlMs(tag: string, key: string): number;
}

/**
 * Counters in this process: exact for a single node, the embedded default. Same semantics as the
 * Redis store (fixed window from the first increment); a periodic sweep drops expired windows so
 * memory is bounded by the keys active within one window.
 */
export function createMemoryCounterStore(options: MemoryCounterStoreOptions = {}): MemoryCounterStore {
  const now = options.now ?? Date.now;
  const windows = new Map<string, Window>();
  const sweep = () => {
    const t = now();
    for (const [key, w] of windows) if (w.expiresAt <= t) windows.delete(key);
  };
  const timer = setInterval(sweep, options.sweepIntervalMs ?? 1_000);
  timer.unref();
  const live = (key: string, t: number): Window | undefined => {
    const w = windows.get(key);
    if (w && w.expiresAt <= t) {
      windows.delete(key);
      return undefined;
    }
    return w;
  };
  return {
    async increment(key: string, by: number, windowMs: number): Promise<WindowCount> {
      if (!Number.isSafeInteger(by) || !Number.isSafeInteger(windowMs) || windowMs < 1) {
        throw new RangeError('increment needs an integer amount and a positive integer window');
      }
      const t = now();
      let w = live(key, t);
      if (!w) {
        w = { count: 0, expiresAt: t + windowMs };
        windows.set(key, w);
      }
      w.count += by;
      return { count: w.count, resetMs: w.expiresAt - t };
    },
    async consume(tag: string, checks: readonly WindowCheck[], cost: number): Promise<ConsumeResult> {
      validateConsume(checks, cost);
      const t = now();
      // Synchronous from here on: no other call can interleave, as with the Lua script.
      const current = checks.map((c) => live(`{${tag}}:${c.key}`, t));
      const allowed = checks.every((c, i) => c.limit < 0 || (current[i]?.count ?? 0) + cost <= c.limit);
      const counts: number[] = [];
      const resetMs: number[] = [];
      checks.forEach((c, i) => {
        let w = current[i];
        if (allowed) {
          if (!w) {
            w = { count: 0, expiresAt: t + Math.ceil(c.ttlMs) };
            windows.set(`{${tag}}:${c.key}`, w);
          }
          w.count += cost;
        }
        counts.push(w?.count ?? 0);
        resetMs.push(w ? w.expiresAt - t : Math.ceil(c.ttlMs));
      });
      return { allowed, counts, resetMs };
    },
    async peek(tag: string, keys: readonly string[]): Promise<number[]> {
      const t = now();
      return keys.map((k) => live(`{${tag}}:${k}`, t)?.count ?? 0);
    },
    async get(key: string): Promise<number> {
      return live(key, now())?.count ?? 0;
    },
    async ping(): Promise<boolean> {
      return true;
    },
    async close(): Promise<void> {
      clearInterval(timer);
      windows.clear();
    },
    size: () => windows.size,
    windowTtlMs(tag: string, key: string): number {
      const t = now();
      const w = live(`{${tag}}:${key}`, t);
      return w ? w.expiresAt - t : -2;
    },
    ttlMs(key: string): number {
      const t = now();
      const w = live(key, t);
      return w ? w.expiresAt - t : -2;
    },
  };
}
