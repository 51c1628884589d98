import { createHash } from 'node:crypto';
import type { LimitCounters } from '../rate-limit/counters.js';

/** Counter tag of replay records: its own hash slot in Redis Cluster, apart from limits. */
const TAG = 'sig-replay';

/**
 * Accepts each signature once within its window. A record is a counter with limit 1 and a TTL of
 * the window in the shared counter store: one atomic call (the same Lua script as the limits,
 * INCR + PEXPIRE, so the first writer wins as with SET NX PX), one Redis round trip, shared by
 * every gateway node; in-process when the gateway runs without Redis. Keyed by key id and the
 * SHA-256 of the signature bytes, so the signature itself is never stored.
 */
export class ReplayGuard {
  constructor(
    private readonly store: LimitCounters,
    private readonly windowMs: number,
  ) {}

  /** True the first time this signature is seen within the window; rejects when the store fails. */
  async firstUse(keyId: string, signature: Buffer): Promise<boolean> {
    const digest = createHash('sha256').update(signature).digest('base64url');
    const r = await this.store.consume(TAG, [{ key: `${keyId}:${digest}`, limit: 1, ttlMs: this.windowMs }], 1);
    return r.allowed;
  }
}

/** In-process replay records for a policy built without a counter store (unit tests, tools). */
export function memoryReplayStore(): LimitCounters {
  const seen = new Map<string, number>();
  return {
    async consume(tag, windows) {
      const t = Date.now();
      for (const [k, exp] of seen) if (exp <= t) seen.delete(k);
      const w = windows[0];
      if (w === undefined) return { allowed: true, counts: [], resetMs: [] };
      const key = `${tag}:${w.key}`;
      if (seen.has(key)) return { allowed: false, counts: [2], resetMs: [0] };
      seen.set(key, t + w.ttlMs);
      return { allowed: true, counts: [1], resetMs: [w.ttlMs] };
    },
    async peek() {
      return [];
    },
  };
}
