/** How many failed authentications one address may make per window before it is slowed down. */
export interface AuthThrottleOptions {
  /** Failures allowed per window (default 10). */
  maxFailures?: number;
  /** Window length in ms (default 60 000). */
  windowMs?: number;
  /** Addresses tracked at most; the oldest are forgotten first (default 10 000), bounding memory. */
  maxAddresses?: number;
}

interface Window {
  start: number;
  failures: number;
}

/**
 * Counts failed admin authentications per client address in fixed windows, in this process only
 * (several admin processes each count their own). Once an address reaches the limit, every
 * authenticated request from it is refused with 429 until its window ends, valid token or not, so
 * guessing cannot continue by interleaving a known token.
 */
export class AuthThrottle {
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly windows = new Map<string, Window>();

  constructor(options: AuthThrottleOptions = {}, private readonly now: () => number = Date.now) {
    this.maxFailures = options.maxFailures ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
  }

  /** Milliseconds this address must wait, or 0 when it may try. */
  blockedFor(address: string): number {
    const w = this.windows.get(address);
    if (!w) return 0;
    const left = w.start + this.windowMs - this.now();
    if (left <= 0) {
      this.windows.delete(address);
      return 0;
    }
    return w.failures >= this.maxFailures ? left : 0;
  }

  /** Records one failed authentication from `address`. */
  fail(address: string): void {
    const now = this.now();
    const w = this.windows.get(address);
    if (w && now - w.start < this.windowMs) {
      w.failures += 1;
      return;
    }
    this.windows.delete(address);
    if (this.windows.size >= this.maxAddresses) this.evict(now);
    this.windows.set(address, { start: now, failures: 1 });
  }

  /** Number of addresses tracked (for tests of the memory bound). */
  get size(): number {
    return this.windows.size;
  }

  private evict(now: number): void {
    for (const [address, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(address);
    // Still full: drop the oldest (Map iteration is insertion order).
    while (this.windows.size >= this.maxAddresses) {
      const oldest = this.windows.keys().next().value;
      if (oldest === undefined) break;
      this.windows.delete(oldest);
    }
  }
}
