/** Result of a fixed-window increment. */
export interface WindowCount {
  /** Counter value after the increment. */
  count: number;
  /** Milliseconds until the window (and the counter) expires. */
  resetMs: number;
}

/**
 * Shared counters for enforcement (rate limits, quotas) and live usage. Implementations: Redis
 * (ioredis, one atomic Lua script per call) and in-process; one contract suite runs against both.
 */
export interface CounterStore {
  /**
   * Adds `by` to the counter `key` in a fixed window of `windowMs` milliseconds that starts at the
   * key's first increment, atomically; the key expires with the window (no key lives without a TTL).
   */
  increment(key: string, by: number, windowMs: number): Promise<WindowCount>;
  /** Current value of a counter (0 when absent or expired). */
  get(key: string): Promise<number>;
  /** Whether the backing store answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
