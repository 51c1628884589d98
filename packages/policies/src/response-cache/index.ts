import type { PolicyContext, PolicyDefinition, PolicyReply } from '../types.js';
import { initialAge, requestRules, responseVerdict, type RequestCacheRules } from './cache-control.js';
import { cacheKeyId, requestOrigin } from './key.js';
import { responseCacheSchema } from './schema.js';
import { MemoryCacheStorage, type CacheAddress, type CacheEntry, type CacheStorage } from './store.js';
import { responseCacheDefinition, RESPONSE_CACHE_ERRORS } from './definition.js';
import { problemReply } from '../errors.js';

/**
 * Below the transforms band (500): the cache sees the caller already authenticated, authorized
 * and counted by limits (a hit still costs a request), and keys on the query as transformed.
 */


export { RESPONSE_CACHE_PRIORITY } from './definition.js';

type Mode = 'HIT' | 'MISS' | 'BYPASS';

interface CacheState {
  mode: Mode;
  /** The shared key's address (with `perConsumer`, the consumer's); then the one stored at or served from. */
  address: CacheAddress | null;
  /** The authenticated consumer's own address (without `perConsumer`), for answers that may not be shared. */
  readonly own: CacheAddress | null;
  /**
   * The request forwards a Cookie or an Authorization the gateway did not consume: only an answer
   * the upstream marked shareable (`CacheEntry.shared`) is served to it or stored from it.
   */
  readonly restricted: boolean;
}

/**
 * Per-request decision of the access phase, read by `capture` and the response phase. Module-level
 * because the runtime may build one instance per phase.
 */
const states = new WeakMap<PolicyContext, CacheState>();

/** Request rules when Cache-Control is not honoured (`no-store` still is: a client's "never keep this", RFC 9111 §5.2.1.5). */
const IGNORE_REQUEST: RequestCacheRules = Object.freeze({ noStore: false, noCache: false, maxAge: undefined, minFresh: undefined, onlyIfCached: false });

/** Response fields never stored: computed per answer (`Age`, RFC 9111 §5.1), or this cache's own. */
const NOT_STORED = new Set(['age', 'x-cache', 'x-cache-key', 'x-request-id', 'set-cookie']);

let fallbackMemory: MemoryCacheStorage | null = null;

function one(v: string | string[] | undefined): string | null {
  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
}

/** Lower-cased field names listed in `Vary`. */
function varyNames(v: string | string[] | undefined): string[] {
  const s = one(v);
  if (s === null) return [];
  return s
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
}

/**
 * RFC 9111 §4.1: a stored response is used only for a request whose Vary-named fields match, as
 * the upstream saw them (after the policies' header changes).
 */
function varyMatches(e: CacheEntry, ctx: PolicyContext): boolean {
  for (const name in e.vary) if (one(ctx.upstreamHeader(name)) !== e.vary[name]) return false;
  return true;
}

/**
 * Whether the request has content (RFC 9112 §6.3: a Content-Length above 0, or any
 * Transfer-Encoding). A GET or HEAD body has no defined semantics (RFC 9110 §9.3.1) but is
 * forwarded, and an upstream may answer from it; the key does not see it, so such a request is
 * never answered from, nor stored into, the cache.
 */
export function hasContent(h: PolicyContext['headers']): boolean {
  if (h['transfer-encoding'] !== undefined) return true;
  const cl = h['content-length'];
  return cl !== undefined && cl !== '0' && Number(cl) !== 0;
}

/** A field the upstream will receive with a value (an empty Cookie carries nothing). */
function forwarded(v: string | string[] | undefined): boolean {
  return v !== undefined && (typeof v !== 'string' || v.trim() !== '');
}

/** Fields a 304 carries from the stored response (RFC 9110 §15.4.5), plus Last-Modified. */
const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified'];

const opaque = (tag: string) => tag.trim().replace(/^W\//, '');

/**
 * Whether a conditional request is satisfied by the stored response, so the cache answers 304
 * (RFC 9111 §4.3.2; RFC 9110 §13.1.2 If-None-Match with the weak comparison, §13.1.3
 * If-Modified-Since only without If-None-Match).
 */
export function notModified(stored: Readonly<Record<string, string>>, req: PolicyContext['headers']): boolean {
  const inm = one(req['if-none-match']);
  if (inm !== null) {
    const etag = stored.etag;
    if (inm.trim() === '*') return true;
    if (etag === undefined) return false;
    return inm.split(',').some((t) => opaque(t) === opaque(etag));
  }
  const ims = one(req['if-modified-since']);
  const lm = stored['last-modified'];
  if (ims === null || lm === undefined) return false;
  const a = Date.parse(ims);
  const b = Date.parse(lm);
  return !Number.isNaN(a) && !Number.isNaN(b) && b <= a;
}

/** Age of a stored response now (RFC 9111 §4.2.3: initial age plus resident time), whole seconds. */
export function currentAge(e: CacheEntry, now: number): number {
  return e.initialAge + Math.max(0, Math.floor((now - e.storedAt) / 1000));
}

/** Whether a stored response may answer this request (fresh, and within the request's max-age / min-fresh). */
export function usable(e: CacheEntry, rules: RequestCacheRules, now: number): boolean {
  const age = currentAge(e, now);
  if (age >= e.lifetime) return false;
  if (rules.maxAge !== undefined && age > rules.maxAge) return false;
  if (rules.minFresh !== undefined && e.lifetime - age < rules.minFresh) return false;
  return true;
}

/**
 * `response-cache` (Kong's proxy-cache, with RFC 9111 shared-cache rules). Access phase: a
 * cacheable request (method, no `no-store`) is looked up with one storage round trip; a usable
 * entry answers as the upstream would (the reply goes through the response phase, so CORS, limit
 * headers and response transformations still apply) with `Age` and `X-Cache: HIT`. On a miss the
 * gateway offers the upstream's answer to `capture`, which decides by status and Cache-Control
 * whether to store it and tees the body (up to `maxBodyBytes`) while it streams to the client.
 */
export const responseCache: PolicyDefinition<typeof responseCacheSchema> = {
  ...responseCacheDefinition,
  build(config, deps) {
    const now = deps.now ?? Date.now;
    const storages = deps.responseCache ?? { memory: (fallbackMemory ??= new MemoryCacheStorage()), redis: null };
    let storage: CacheStorage = storages.memory;
    if (config.storage === 'redis') {
      if (storages.redis !== null) storage = storages.redis;
      else deps.logger.warn({ policy: 'response-cache' }, 'response-cache: storage "redis" needs REDIS_URL; caching in memory on this node');
    }
    const methods = new Set<string>(config.methods);
    const statuses = new Set(config.statuses);
    const keyHeaders = config.keyHeaders;
    const honour = config.cacheControl;

    const keyHeaderSet = new Set(keyHeaders);
    // Cookies may be cached when the operator says the upstream ignores them, or keys on them.
    const cookiesAllowed = config.ignoreCookies || keyHeaderSet.has('cookie');

    const bypass = (ctx: PolicyContext) => void states.set(ctx, { mode: 'BYPASS', address: null, own: null, restricted: false });

    return {
      access(ctx) {
        if (!methods.has(ctx.method) || ctx.headers.upgrade !== undefined || hasContent(ctx.headers)) return bypass(ctx);
        const parsed = honour || ctx.headers['cache-control'] !== undefined ? requestRules(ctx.headers['cache-control'], ctx.headers.pragma) : IGNORE_REQUEST;
        const rules = honour ? parsed : parsed.noStore ? parsed : IGNORE_REQUEST;
        if (rules.noStore) return bypass(ctx);
        // Credentials the upstream will see and the gateway did not consume (an auth policy strips
        // its own): the answer may depend on them, and neither the key nor the consumer does.
        // RFC 9111 §3.5 for Authorization; for Cookie, Varnish's default (pass).
        const restricted = (!cookiesAllowed && forwarded(ctx.upstreamHeader('cookie'))) || (!keyHeaderSet.has('authorization') && ctx.upstreamHeader('authorization') !== undefined);
        const key = {
          method: ctx.method,
          origin: requestOrigin(ctx),
          path: ctx.path,
          query: ctx.query,
          headers: keyHeaders.map((n) => [n, one(ctx.upstreamHeader(n))] as const),
        };
        const at = (consumer: string | null): CacheAddress => ({ api: ctx.api, route: ctx.route, id: cacheKeyId({ ...key, consumer }) });
        const address = at(config.perConsumer ? (ctx.consumer?.name ?? '') : null);
        // An answer that may not be shared (private, or to a request with credentials that the
        // upstream did not mark public) is kept under the authenticated consumer's own key; both
        // keys are read in the same round trip. Not for a restricted request: its answer may
        // differ per cookie or Authorization within one consumer.
        const own = !config.perConsumer && !restricted && ctx.consumer !== null ? at(ctx.consumer.name) : null;
        const state: CacheState = { mode: 'MISS', address, own, restricted };
        states.set(ctx, state);
        // no-cache: the stored response may not be used without revalidation (RFC 9111 §5.2.1.4);
        // this cache does not revalidate, so it fetches and stores the fresh answer.
        if (rules.noCache) return undefined;
        const addresses = own === null ? [address] : [own, address];
        return storage.get(addresses).then(
          (found): PolicyReply | undefined => {
            const t = now();
            // A restricted request, or an authenticated consumer looking at the shared key, uses an
            // entry only when the upstream marked it shareable: an anonymous caller's answer is
            // not what the upstream gives a consumer (X-Consumer-*), nor a cookie or Authorization holder.
            const i = found.findIndex((e, j) => e !== undefined && (e.shared || (!restricted && (own === null || j === 0))) && varyMatches(e, ctx) && usable(e, rules, t));
            const e = i === -1 ? undefined : found[i];
            if (e !== undefined) {
              state.mode = 'HIT';
              state.address = addresses[i] as CacheAddress;
              const age = String(currentAge(e, t));
              if (e.status === 200 && notModified(e.headers, ctx.headers)) {
                const h: Record<string, string> = { age };
                for (const n of NOT_MODIFIED_FIELDS) if (e.headers[n] !== undefined) h[n] = e.headers[n];
                return { status: 304, headers: h, body: Buffer.alloc(0), asUpstream: true };
              }
              return { status: e.status, headers: { ...e.headers, age }, body: e.body, asUpstream: true };
            }
            if (rules.onlyIfCached) {
              state.mode = 'BYPASS';
              return problemReply(RESPONSE_CACHE_ERRORS.NOT_CACHED, 'the request says only-if-cached and no usable stored response exists (RFC 9111 §5.2.1.7)');
            }
            return undefined;
          },
          (err: unknown) => {
            // A storage failure never fails the request: it is served from the upstream, uncached.
            deps.logger.warn({ err, policy: 'response-cache', storage: storage.kind }, 'response cache lookup failed; serving from the upstream');
            state.mode = 'BYPASS';
            return undefined;
          },
        );
      },
      capture(ctx, status, headers) {
        const state = states.get(ctx);
        if (state === undefined || state.mode !== 'MISS' || state.address === null) return null;
        const t = now();
        // A caller the gateway authenticated (an API key in any header or parameter, a JWT) sent
        // credentials as surely as one with `Authorization`: its answer is shared only when the
        // upstream says so (public, s-maxage, must-revalidate; RFC 9111 §3.5), else kept under the
        // consumer's own key. Upstreams commonly personalize on the X-Consumer-* headers the
        // gateway adds without marking the answer private.
        const credentials = ctx.headers.authorization !== undefined || ctx.consumer !== null;
        const input = { status, headers, statuses, defaultTtl: config.ttlSeconds, honour, authorization: credentials, now: t };
        let verdict = responseVerdict({ ...input, keyedPerCaller: config.perConsumer && ctx.consumer !== null });
        if (state.restricted && !verdict.shared) {
          // A Cookie or Authorization went upstream: only an answer marked shareable is kept.
          state.mode = 'BYPASS';
          return null;
        }
        if (!verdict.storable && state.own !== null) {
          // Not shareable, but the caller is known: store it under the consumer's own key.
          const mine = responseVerdict({ ...input, keyedPerCaller: true });
          if (mine.storable) {
            verdict = mine;
            state.address = state.own;
          }
        }
        const declared = one(headers['content-length']);
        // A HEAD answer without Content-Length would be replayed with a wrong one (0); not stored.
        const headWithoutLength = ctx.method === 'HEAD' && declared === null;
        if (!verdict.storable || headWithoutLength || (declared !== null && Number(declared) > config.maxBodyBytes)) {
          state.mode = 'BYPASS';
          return null;
        }
        const age = initialAge(headers, t);
        const ttlMs = (verdict.lifetime - age) * 1000;
        if (ttlMs <= 0) {
          state.mode = 'BYPASS';
          return null;
        }
        const stored: Record<string, string> = {};
        for (const n in headers) if (!NOT_STORED.has(n) && headers[n] !== undefined) stored[n] = one(headers[n]) as string;
        const vary: Record<string, string | null> = {};
        for (const n of varyNames(headers.vary)) vary[n] = one(ctx.upstreamHeader(n));
        const address = state.address;
        const method = ctx.method;
        return {
          maxBytes: config.maxBodyBytes,
          done(body) {
            // A chunked answer gets its length, so a hit is sent with Content-Length.
            if (method !== 'HEAD' && stored['content-length'] === undefined) stored['content-length'] = String(body.length);
            storage.set(address, { status, headers: stored, body, storedAt: t, initialAge: age, lifetime: verdict.lifetime, vary, shared: verdict.shared }, ttlMs);
          },
        };
      },
      response(ctx, res) {
        const state = states.get(ctx);
        if (state === undefined) return;
        res.headers['x-cache'] = state.mode;
        if (state.address !== null && state.mode !== 'BYPASS') res.headers['x-cache-key'] = state.address.id;
      },
    };
  },
};
