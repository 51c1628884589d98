import { createLocalJWKSet, errors, type JSONWebKeySet, type JWSHeaderParameters, type FlattenedJWSInput } from 'jose';
import type { PolicyLogger } from '../types.js';

/** A key set could not be fetched and no usable cached copy exists: the token cannot be judged. */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

/** Timing of one remote key set. */
export interface RemoteJwksSettings {
  /** Fetch timeout. */
  readonly timeoutMs: number;
  /** Age after which the set is refreshed in the background (requests keep using it meanwhile). */
  readonly maxAgeMs: number;
  /** How long past `maxAgeMs` a set may still be used while refreshing fails; after that, 503. */
  readonly staleMs: number;
  /** Minimum time between two fetches caused by an unknown `kid` (or a failure). */
  readonly cooldownMs: number;
}

type KeyGetter = ReturnType<typeof createLocalJWKSet>;

/** Largest key-set document accepted. */
const MAX_JWKS_BYTES = 512 * 1024;

/**
 * One remote JWKS with a stale-while-revalidate cache (jose's `createRemoteJWKSet` has no
 * serve-stale-on-error). A request on a fresh set never fetches; an aged set is refreshed in the
 * background; an unknown `kid` refetches at most once per cooldown; a failed refresh keeps the
 * last good set until `maxAgeMs + staleMs`, then lookups fail with {@link JwksUnavailableError}.
 */
export class RemoteJwks {
  #keys: KeyGetter | null = null;
  #fetchedAt = -Infinity;
  #lastAttempt = -Infinity;
  #pending: Promise<void> | null = null;

  constructor(
    readonly uri: string,
    readonly settings: RemoteJwksSettings,
    private readonly logger?: PolicyLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Fetches once (merged with a fetch in flight); never throws. */
  refresh(): Promise<void> {
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #fetch(): Promise<void> {
    this.#lastAttempt = this.now();
    try {
      const res = await fetch(this.uri, { signal: AbortSignal.timeout(this.settings.timeoutMs), redirect: 'error', headers: { accept: 'application/jwk-set+json, application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const len = Number(res.headers.get('content-length') ?? '0');
      if (len > MAX_JWKS_BYTES) throw new Error(`key set larger than ${MAX_JWKS_BYTES} bytes`);
      const text = await res.text();
      if (text.length > MAX_JWKS_BYTES) throw new Error(`key set larger than ${MAX_JWKS_BYTES} bytes`);
      const jwks = JSON.parse(text) as JSONWebKeySet;
      this.#keys = createLocalJWKSet(jwks); // throws on a malformed set: the old one stays
      this.#fetchedAt = this.now();
    } catch (err) {
      this.logger?.warn({ jwksUri: this.uri, err: err instanceof Error ? err.message : String(err), servingCachedFor: this.#keys === null ? 0 : Math.max(0, this.#fetchedAt + this.settings.maxAgeMs + this.settings.staleMs - this.now()) }, 'JWKS fetch failed');
    }
  }

  /** True when a fetch may start now (outside the cooldown of the last attempt). */
  #mayFetch(): boolean {
    return this.now() - this.#lastAttempt >= this.settings.cooldownMs;
  }

  /** A jose key getter: selects the key for a token's protected header. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<Awaited<ReturnType<KeyGetter>>> => {
    const age = this.now() - this.#fetchedAt;
    if (this.#keys === null || age > this.settings.maxAgeMs + this.settings.staleMs) {
      // Merge with a fetch in flight; otherwise fetch at most once per cooldown (a down endpoint is not hammered).
      if (this.#pending !== null) await this.#pending;
      else if (this.#mayFetch()) await this.refresh();
      if (this.#keys === null || this.now() - this.#fetchedAt > this.settings.maxAgeMs + this.settings.staleMs) {
        throw new JwksUnavailableError(`the key set of ${this.uri} could not be fetched`);
      }
    } else if (age > this.settings.maxAgeMs && this.#mayFetch()) {
      void this.refresh(); // stale-while-revalidate: this request uses the cached set
    }
    try {
      return await (this.#keys as KeyGetter)(header, token);
    } catch (err) {
      // An unknown kid may be a rotation: refetch once per cooldown, then try again.
      if (!(err instanceof errors.JWKSNoMatchingKey) || !this.#mayFetch()) throw err;
      await this.refresh();
      return (this.#keys as KeyGetter)(header, token);
    }
  };
}

/** Remote key sets by URI and settings, kept across config snapshots so a reload does not refetch. */
export class JwksRegistry {
  readonly #sets = new Map<string, RemoteJwks>();

  constructor(private readonly logger?: PolicyLogger) {}

  /** The cached set for `uri` with these settings (created on first use; a background fetch starts). */
  get(uri: string, settings: RemoteJwksSettings): RemoteJwks {
    const key = `${uri}\n${settings.timeoutMs}/${settings.maxAgeMs}/${settings.staleMs}/${settings.cooldownMs}`;
    let set = this.#sets.get(key);
    if (set === undefined) {
      set = new RemoteJwks(uri, settings, this.logger);
      this.#sets.set(key, set);
      void set.refresh(); // warm the cache at snapshot install, not on the first request
    }
    return set;
  }
}
