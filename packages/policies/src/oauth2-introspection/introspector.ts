import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { PolicyLogger } from '../types.js';

/** Largest introspection response read, in bytes (a response is a few hundred bytes of claims). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** What the authorization server said of a token (RFC 7662 §2.2). */
export type Introspection = { readonly active: false } | { readonly active: true; readonly claims: Readonly<Record<string, unknown>> };

/** The endpoint could not judge the token (not cached: the next request asks again). */
export class IntrospectionUnavailableError extends Error {}

/** How to reach and authenticate to one introspection endpoint, and how long to keep answers. */
export interface IntrospectorOptions {
  readonly endpoint: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly clientAuthMethod: 'client_secret_basic' | 'client_secret_post';
  readonly tokenTypeHint: string;
  readonly timeoutMs: number;
  readonly cacheMaxEntries: number;
  /** Longest an active answer is reused, in milliseconds (never past the token `exp`). */
  readonly cacheTtlMs: number;
  /** How long an inactive answer is reused, in milliseconds. */
  readonly negativeCacheTtlMs: number;
}

const INACTIVE: Introspection = Object.freeze({ active: false });

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
function basicCredentials(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

async function readCapped(res: Response): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new IntrospectionUnavailableError(`the introspection response is larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * An RFC 7662 client with a bounded cache. Tokens are cached by their SHA-256, never in clear.
 * An active answer is kept for `cacheTtlMs` but never past its `exp` (RFC 7662 §4: a cached answer
 * must not outlive the token); an inactive one for `negativeCacheTtlMs` (so a flood of one bad
 * token costs one call). Failures are not cached. Concurrent requests with one token share one call.
 */
export class Introspector {
  readonly #o: IntrospectorOptions;
  readonly #logger: PolicyLogger;
  readonly #cache: LRUCache<string, Introspection> | null;
  readonly #inflight = new Map<string, Promise<Introspection>>();
  readonly #auth: string | null;
  /** Calls made to the endpoint (tests read it to prove the cache). */
  calls = 0;

  constructor(options: IntrospectorOptions, logger: PolicyLogger) {
    this.#o = options;
    this.#logger = logger;
    this.#cache = options.cacheMaxEntries > 0 ? new LRUCache({ max: options.cacheMaxEntries }) : null;
    this.#auth = options.clientAuthMethod === 'client_secret_basic' ? basicCredentials(options.clientId, options.clientSecret) : null;
  }

  /** The endpoint's answer for `token`, from the cache when it holds a fresh one. */
  introspect(token: string, nowMs = Date.now()): Introspection | Promise<Introspection> {
    const key = createHash('sha256').update(token).digest('base64url');
    const hit = this.#cache?.get(key);
    if (hit !== undefined) return hit;
    let running = this.#inflight.get(key);
    if (running === undefined) {
      running = this.#call(token).then((answer) => {
        this.#remember(key, answer, nowMs);
        return answer;
      });
      const p = running;
      this.#inflight.set(key, p);
      void p.then(
        () => this.#inflight.delete(key),
        () => this.#inflight.delete(key),
      );
    }
    return running;
  }

  #remember(key: string, answer: Introspection, nowMs: number): void {
    if (this.#cache === null) return;
    let ttl = answer.active ? this.#o.cacheTtlMs : this.#o.negativeCacheTtlMs;
    if (answer.active && typeof answer.claims.exp === 'number') ttl = Math.min(ttl, answer.claims.exp * 1000 - nowMs);
    if (ttl >= 1) this.#cache.set(key, answer, { ttl: Math.floor(ttl) });
  }

  async #call(token: string): Promise<Introspection> {
    this.calls += 1;
    const form = new URLSearchParams({ token, token_type_hint: this.#o.tokenTypeHint });
    if (this.#auth === null) {
      form.set('client_id', this.#o.clientId);
      form.set('client_secret', this.#o.clientSecret);
    }
    let res: Response;
    try {
      res = await fetch(this.#o.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...(this.#auth !== null ? { authorization: this.#auth } : {}) },
        body: form.toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
    } catch (err) {
      const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${this.#o.timeoutMs} ms` : 'unreachable';
      this.#logger.warn({ endpoint: this.#o.endpoint, reason }, 'oauth2-introspection: the introspection endpoint is unavailable');
      throw new IntrospectionUnavailableError(reason);
    }
    let text: string;
    try {
      text = await readCapped(res);
    } catch (err) {
      this.#logger.warn({ endpoint: this.#o.endpoint, reason: err instanceof Error ? err.message : 'read failed' }, 'oauth2-introspection: the introspection response could not be read');
      throw new IntrospectionUnavailableError('unreadable response');
    }
    if (res.status !== 200) {
      // 401/403 here means the gateway's own client credentials were refused: an operator problem, not the caller's.
      this.#logger.warn({ endpoint: this.#o.endpoint, status: res.status }, 'oauth2-introspection: the introspection endpoint refused the request');
      throw new IntrospectionUnavailableError(`status ${res.status}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof (body as { active?: unknown }).active !== 'boolean') {
      this.#logger.warn({ endpoint: this.#o.endpoint }, 'oauth2-introspection: the answer is not an RFC 7662 response (a JSON object with a boolean `active`)');
      throw new IntrospectionUnavailableError('not an introspection response');
    }
    const claims = body as Record<string, unknown>;
    return claims.active === true ? Object.freeze({ active: true, claims: Object.freeze(claims) }) : INACTIVE;
  }
}

/**
 * Introspectors by endpoint, client and cache settings, shared across config snapshots so a config
 * change does not empty the caches. Bounded (LRU of 256 distinct endpoints/settings).
 */
export class IntrospectorRegistry {
  readonly #byKey = new LRUCache<string, Introspector>({ max: 256 });

  get(options: IntrospectorOptions, logger: PolicyLogger): Introspector {
    const key = JSON.stringify([options.endpoint, options.clientId, createHash('sha256').update(options.clientSecret).digest('hex'), options.clientAuthMethod, options.tokenTypeHint, options.timeoutMs, options.cacheMaxEntries, options.cacheTtlMs, options.negativeCacheTtlMs]);
    let i = this.#byKey.get(key);
    if (i === undefined) this.#byKey.set(key, (i = new Introspector(options, logger)));
    return i;
  }
}

/** The process's registry. */
export const introspectors = new IntrospectorRegistry();
