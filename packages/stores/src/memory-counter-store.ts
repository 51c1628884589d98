import type { CounterStore, WindowCount } from './counter-store.js';

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
    ttlMs(key: string): number {
      const t = now();
      const w = live(key, t);
      return w ? w.expiresAt - t : -2;
    },
  };
}
