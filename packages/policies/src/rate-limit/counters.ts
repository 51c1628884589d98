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
  consume(tag: string, windows: readonly LimitWindow[], cost: number): Promise<{ readonly allowed: boolean; readonly counts: readonly number[]; readonly resetMs: readonly number[] }>;
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
