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
export interface CounterStore extends MultiWindowCounterStore {
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

/** One window of a multi-window check: a counter name, its limit and when it expires. */
export interface WindowCheck {
  /** Counter name within the call's hash tag, e.g. `60000:29123456` (window length and index). */
  readonly key: string;
  /** Largest count allowed; a negative limit only counts (never refuses), e.g. a quota with overage. */
  readonly limit: number;
  /** Milliseconds until this window ends (the key's TTL); > 0. */
  readonly ttlMs: number;
}

/** Result of {@link CounterStore.consume}. */
export interface ConsumeResult {
  /** True when every window had room for `cost`: all were incremented. False: none was. */
  readonly allowed: boolean;
  /** Count of each window after the call (unchanged when refused), in the order given. */
  readonly counts: readonly number[];
  /** Milliseconds left of each window, in the order given. */
  readonly resetMs: readonly number[];
  /** Value of the guard key when one was given (the seed epoch the counts belong to). */
  readonly epoch?: string;
}

/** Suffix of the hold key of a guard: while `<guard>:hold` exists, the guard counts as absent. */
export const GUARD_HOLD_SUFFIX = ':hold';

/** Code of the error `consume` throws when its guard key is absent (the counters are not seeded yet). */
export const COUNTERS_UNSEEDED = 'COUNTERS_UNSEEDED';

/** Thrown by `consume` when its guard key is absent: nothing was counted. */
export class CountersUnseededError extends Error {
  readonly code = COUNTERS_UNSEEDED;
  constructor(guard: string) {
    super(`counters are not seeded yet (guard key "${guard}" absent)`);
  }
}

/**
 * Counters checked and incremented together: every window of one request in ONE atomic step
 * (one Redis round trip, one Lua call). The `tag` groups the keys (a Redis Cluster hash tag), so
 * every key of a call lives in one slot.
 */
export interface MultiWindowCounterStore {
  /**
   * All-or-nothing: if `count + cost <= limit` holds for every window with a non-negative limit,
   * adds `cost` to every window (a new key gets `ttlMs` as TTL); otherwise changes nothing.
   * With a `guard` (a key name that starts with the call's `{tag}`, e.g. the metering seed marker `{usage:01}:epoch`), the
   * call counts nothing and rejects with {@link CountersUnseededError} while that key is absent
   * or its hold key (`<guard>:hold`, set for a short time after a seed) exists, and returns the
   * guard's value as `epoch` otherwise: counters that must first be re-seeded after Redis
   * lost its data are never counted from zero. The in-process store has nothing to lose and
   * ignores it.
   */
  consume(tag: string, windows: readonly WindowCheck[], cost: number, guard?: string): Promise<ConsumeResult>;
  /** Current counts of windows (0 when absent), in one round trip; read-only (usage endpoints). */
  peek(tag: string, keys: readonly string[]): Promise<number[]>;
}

/** Refuses calls no implementation could honour (same error from both stores). */
export function validateConsume(windows: readonly WindowCheck[], cost: number): void {
  if (!Number.isSafeInteger(cost) || cost < 0) throw new RangeError('consume needs a non-negative integer cost');
  if (windows.length === 0) throw new RangeError('consume needs at least one window');
  for (const w of windows) {
    if (!Number.isSafeInteger(w.limit) || !(w.ttlMs > 0)) throw new RangeError(`window "${w.key}": integer limit and positive ttlMs required`);
  }
}
