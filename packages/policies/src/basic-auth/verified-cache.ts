import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { verifyPassword } from '@tollgate/model';

/** A stored hash no password matches, verified for unknown user names so they cost what known ones do. */
const DUMMY_HASH = '$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

interface Verdict {
  /** The stored hash the password was checked against: a verdict holds only while it is still the stored one. */
  readonly passwordHash: string;
  readonly ok: boolean;
}

/** Bounds of a {@link VerifiedCredentials} cache. */
export interface VerifiedCacheOptions {
  /** Most verdicts kept (LRU); default 10,000. */
  readonly max?: number;
  /** How long a successful verification is reused, in milliseconds; default 10 minutes. */
  readonly okTtlMs?: number;
  /** How long a failed one is, in milliseconds; default 60 s (a repeated wrong password costs no scrypt). */
  readonly failTtlMs?: number;
}

/**
 * scrypt verdicts of recently presented (user name, password) pairs, so scrypt (~50-100 ms of a
 * thread-pool thread) is paid once per credential rather than per request.
 *
 * - Keyed by HMAC-SHA-256 under a random per-process key of `username NUL password`: the cache
 *   never holds a password, and its keys are useless outside this process (no offline guessing
 *   from a heap dump as a plain SHA-256 would allow).
 * - Each verdict remembers the stored hash it was checked against and is used only while the
 *   identity index still holds that exact hash for the user name: a changed password, a removed
 *   credential or a deleted consumer invalidates it on the next request, with no flush needed.
 * - Bounded by `max` entries (LRU, about 200 bytes each) and by TTLs (successes 10 min, failures
 *   60 s). Concurrent requests with the same pair share one scrypt run.
 */
export class VerifiedCredentials {
  readonly #key = randomBytes(32);
  readonly #cache: LRUCache<string, Verdict>;
  readonly #inflight = new Map<string, Promise<Verdict>>();
  readonly #okTtlMs: number;
  readonly #failTtlMs: number;
  /** scrypt runs so far (tests read it to prove the cache works). */
  verifications = 0;

  constructor(options: VerifiedCacheOptions = {}) {
    this.#cache = new LRUCache({ max: options.max ?? 10_000 });
    this.#okTtlMs = options.okTtlMs ?? 600_000;
    this.#failTtlMs = options.failTtlMs ?? 60_000;
  }

  /**
   * Whether `password` is the one `passwordHash` (the current stored hash of `username`, or
   * undefined for an unknown user) was made from.
   */
  verify(username: string, password: string, passwordHash: string | undefined): boolean | Promise<boolean> {
    const stored = passwordHash ?? DUMMY_HASH;
    const id = createHmac('sha256', this.#key).update(username).update('\u0000').update(password).digest('base64url');
    const hit = this.#cache.get(id);
    if (hit !== undefined && hit.passwordHash === stored) return hit.ok && passwordHash !== undefined;
    let running = this.#inflight.get(id);
    if (running === undefined) {
      this.verifications += 1;
      running = verifyPassword(password, stored).then(
        (ok) => {
          const verdict: Verdict = { passwordHash: stored, ok };
          this.#cache.set(id, verdict, { ttl: ok ? this.#okTtlMs : this.#failTtlMs });
          return verdict;
        },
        // A failure of scrypt itself (out of memory) refuses, and is not remembered.
        () => ({ passwordHash: stored, ok: false }),
      );
      const p = running;
      this.#inflight.set(id, p);
      void p.finally(() => this.#inflight.delete(id));
    }
    return running.then((v) => v.ok && v.passwordHash === stored && passwordHash !== undefined);
  }
}

/** One cache per process, shared by every basic-auth instance across snapshots (verdicts are checked against the current hash). */
export const verifiedCredentials = new VerifiedCredentials();
