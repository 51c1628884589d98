/** One window of a check (structurally the `WindowCheck` of `@tollgate/stores`). */
export interface LimitWindow {
  readonly key: string;
  readonly limit: number;
  readonly ttlMs: number;
}

/**
 * What limit policies need of a counter store (the `CounterStore` of `@tollgate/stores`
 * satisfies it): all windows of one request checked and incremented in one atomic call.
 */
export interface LimitCounters {
  /** `guard`: see `CounterStore.consume` (rejects with code `COUNTERS_UNSEEDED` while the key is absent; returns its value as `epoch`). */
  consume(tag: string, windows: readonly LimitWindow[], cost: number, guard?: string): Promise<{ readonly allowed: boolean; readonly counts: readonly number[]; readonly resetMs: readonly number[]; readonly epoch?: string }>;
  peek(tag: string, keys: readonly string[]): Promise<number[]>;
}

/**
 * IPv6 clients usually hold a whole /64 (RFC 4291 §2.5.4 interface identifiers; SLAAC privacy
 * addresses rotate inside it), so one bucket per address would let one client mint millions of
 * buckets: IPv6 addresses are grouped by /64. IPv4-mapped IPv6 counts as the IPv4 address.
 */
export function ipBucket(ip: string): string {
  if (!ip.includes(':')) return ip;
  const lower = ip.toLowerCase();
  if (lower.startsWith('::ffff:') && lower.slice(7).includes('.')) return lower.slice(7);
  const zone = lower.indexOf('%');
  const addr = zone === -1 ? lower : lower.slice(0, zone);
  const [head = '', tail] = addr.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups.slice(0, 4).map((g) => Number.parseInt(g || '0', 16).toString(16)).join(':')}::/64`;
}

/** Error code of a shared store whose guard key is absent (structurally `COUNTERS_UNSEEDED` of `@tollgate/stores`). */
export const COUNTERS_UNSEEDED = 'COUNTERS_UNSEEDED';

/**
 * Quota counters that must be re-seeded after Redis lost its data (the meter's seed markers): the
 * limiter passes its usage shard's marker (`usageEpochKey`) as the guard of every call that counts
 * a plan quota, and calls `unseeded` when the guard is absent so that the seed runs now rather
 * than at the next retry.
 */
export interface QuotaGuard {
  unseeded(): void;
}

/** Why a limiter decided without the shared store. */
export type LocalReason = 'error' | 'timeout' | 'unseeded';

/** Observer of limiter decisions taken without the shared store (the gateway's metrics). */
export interface LimitEvents {
  /** One request decided per node (`open`) or refused with 503 (`closed`) because the shared store could not decide it. */
  local(failMode: 'open' | 'closed', reason: LocalReason): void;
}

/**
 * What a passed request charged to a re-seeded plan quota, for the meter: the counter (`tag` and
 * `key` as in `consume`), the units, when the counter expires, and the seed epoch in which the
 * shared store counted them, or null when they were counted per node only (fail open). The meter
 * adds the units of a request the current epoch did not count once its batch is in Postgres.
 */
export interface QuotaCharge {
  readonly tag: string;
  readonly key: string;
  readonly units: number;
  readonly expiresAt: number;
  readonly epoch: string | null;
}
