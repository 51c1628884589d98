/**
 * `Cache-Control` parsing and the freshness rules of a shared cache (RFC 9111). Pure functions,
 * unit-tested beside this file.
 */

/** Parsed directives: names lower-cased; a directive without argument maps to `true`. */
export type Directives = ReadonlyMap<string, string | true>;

const EMPTY: Directives = new Map();

/**
 * Parses `Cache-Control` (RFC 9111 §5.2: `#cache-directive`, `token [ "=" ( token / quoted-string ) ]`).
 * Several fields are one comma-separated list (RFC 9110 §5.3). Quoted commas are respected; a
 * malformed member is skipped. For a duplicated directive the first wins (§4.2.1 lets a cache
 * pick; the first is the conservative choice for most senders).
 */
export function parseCacheControl(value: string | readonly string[] | undefined): Directives {
  if (value === undefined) return EMPTY;
  const s = typeof value === 'string' ? value : value.join(',');
  if (s.trim() === '') return EMPTY;
  const out = new Map<string, string | true>();
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s[i] === ',' || s[i] === ' ' || s[i] === '\t')) i++;
    let name = '';
    while (i < s.length && s[i] !== '=' && s[i] !== ',') name += s[i++];
    name = name.trim().toLowerCase();
    let arg: string | true = true;
    if (s[i] === '=') {
      i++;
      while (s[i] === ' ' || s[i] === '\t') i++;
      if (s[i] === '"') {
        i++;
        let v = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          v += s[i++];
        }
        i++;
        arg = v;
        while (i < s.length && s[i] !== ',') i++;
      } else {
        let v = '';
        while (i < s.length && s[i] !== ',') v += s[i++];
        arg = v.trim();
      }
    }
    if (name !== '' && /^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name) && !out.has(name)) out.set(name, arg);
  }
  return out;
}

/**
 * A delta-seconds argument (RFC 9111 §1.2.2): non-negative integer; a value too large to hold is
 * 2^31 (as the RFC says); anything else is invalid (undefined). `max-age` without a value, or
 * `max-age=abc`, is invalid and then treated as stale by §4.2.1's "invalid means stale" guidance
 * (the caller decides; see {@link freshnessLifetime}).
 */
export function deltaSeconds(v: string | true | undefined): number | undefined {
  if (v === undefined || v === true || !/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n > 2_147_483_648 ? 2_147_483_648 : n;
}

/** An HTTP-date (RFC 9110 §5.6.7) in ms since the epoch, or undefined. */
export function httpDate(v: string | readonly string[] | undefined): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** What a request's own directives ask of the cache (RFC 9111 §5.2.1). */
export interface RequestCacheRules {
  /** `no-store`: neither use nor store (§5.2.1.5). */
  readonly noStore: boolean;
  /** `no-cache` (or `Pragma: no-cache` without Cache-Control, §5.4): do not serve a stored response; a new one may be stored. */
  readonly noCache: boolean;
  /** `max-age`: the largest acceptable age (§5.2.1.1), or undefined. */
  readonly maxAge: number | undefined;
  /** `min-fresh`: the response must stay fresh at least this long (§5.2.1.3), or undefined. */
  readonly minFresh: number | undefined;
  /** `only-if-cached`: answer 504 instead of going upstream (§5.2.1.7). */
  readonly onlyIfCached: boolean;
}

/** Reads the request directives. */
export function requestRules(cacheControl: string | readonly string[] | undefined, pragma: string | readonly string[] | undefined): RequestCacheRules {
  const d = parseCacheControl(cacheControl);
  const pragmaNoCache = cacheControl === undefined && pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(typeof pragma === 'string' ? pragma : pragma.join(','));
  return {
    noStore: d.has('no-store'),
    noCache: d.has('no-cache') || pragmaNoCache,
    maxAge: deltaSeconds(d.get('max-age')),
    minFresh: deltaSeconds(d.get('min-fresh')),
    onlyIfCached: d.has('only-if-cached'),
  };
}

/** How the cache may treat a response, per its directives. */
export interface ResponseVerdict {
  /** Whether a shared cache may store it at all. */
  readonly storable: boolean;
  /** Why not, for logs and tests. */
  readonly reason: string | null;
  /** Freshness lifetime in seconds (§4.2.1), when storable. */
  readonly lifetime: number;
  /**
   * The response says it may be shared even with a request carrying credentials: `public`,
   * `s-maxage` or `must-revalidate` (§3.5), and not `private`. Only such an answer is stored for,
   * or served to, a request that forwards a Cookie or Authorization the gateway did not consume.
   */
  readonly shared: boolean;
}

/** Inputs of {@link responseVerdict}. */
export interface VerdictInput {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The policy's cacheable statuses. */
  readonly statuses: ReadonlySet<number>;
  /** Lifetime when the response gives none (the operator's heuristic, §4.2.2), seconds. */
  readonly defaultTtl: number;
  /** Honour the response's Cache-Control / Expires (the default); false = always `defaultTtl`. */
  readonly honour: boolean;
  /** The request carried `Authorization` (§3.5). */
  readonly authorization: boolean;
  /** The entry would be keyed by the authenticated consumer, so a private answer is only ever served to its own caller. */
  readonly keyedPerCaller: boolean;
  /** Current time, ms. */
  readonly now: number;
}

const NOT = (reason: string): ResponseVerdict => ({ storable: false, reason, lifetime: 0, shared: false });

/**
 * Request fields the gateway sets per request (or per client) on the way upstream, which the
 * client's own header does not show: a response that varies on one of them would be matched on
 * the wrong value (`X-Forwarded-For` absent for every direct client), so it is not stored, as
 * `Vary: *`. (The scheme and host fields are in the key itself.)
 */
const PER_REQUEST_FIELDS: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-real-ip', 'forwarded', 'x-request-id', 'traceparent', 'tracestate']);

/** Whether the directives allow sharing an answer to a request with credentials (§3.5). */
function explicitlyShared(d: Directives): boolean {
  return !d.has('private') && (d.has('public') || d.has('s-maxage') || d.has('must-revalidate'));
}

/**
 * Whether a shared cache may store a response, and for how long it is fresh (RFC 9111 §3, §4.2.1,
 * §5.2.2). `no-store` and `private` (unless the key is per caller) are always respected, also
 * without `honour`; with `honour`, `no-cache` is never stored (this cache does not revalidate) and
 * a request with `Authorization` only when the response says `public`, `s-maxage` or
 * `must-revalidate` (§3.5) or the key is per caller. The lifetime is `s-maxage`, else `max-age`,
 * else `Expires - Date`, else `defaultTtl`. A response with `Set-Cookie` (RFC 9111 §7.3: it belongs
 * to one client), `Vary: *` or a `Vary` on a field the gateway sets per request is never stored.
 */
export function responseVerdict(i: VerdictInput): ResponseVerdict {
  if (!i.statuses.has(i.status)) return NOT(`status ${i.status} is not cacheable by this policy`);
  const h = i.headers;
  if (h['set-cookie'] !== undefined) return NOT('response sets a cookie');
  const vary = typeof h.vary === 'string' ? h.vary : Array.isArray(h.vary) ? h.vary.join(',') : '';
  if (vary !== '') {
    for (const v of vary.split(',')) {
      const n = v.trim().toLowerCase();
      if (n === '*') return NOT('Vary: *');
      if (PER_REQUEST_FIELDS.has(n)) return NOT(`Vary: ${n} (set by the gateway per request)`);
    }
  }
  const d = parseCacheControl(h['cache-control']);
  // A shared cache never stores these (§5.2.2.5, §5.2.2.7), whatever the policy's `cacheControl`.
  if (d.has('no-store')) return NOT('no-store');
  if (d.has('private') && !i.keyedPerCaller) return NOT('private and the key is not per consumer');
  const shared = explicitlyShared(d);
  if (!i.honour) {
    if (i.authorization && !i.keyedPerCaller) return NOT('request has Authorization and the key is not per consumer');
    return i.defaultTtl > 0 ? { storable: true, reason: null, lifetime: i.defaultTtl, shared } : NOT('ttl is 0');
  }
  if (d.has('no-cache')) return NOT('no-cache (this cache does not revalidate)');
  if (i.authorization && !i.keyedPerCaller && !shared) return NOT('request has Authorization and the response is not public');
  let lifetime: number | undefined;
  const sMax = d.get('s-maxage');
  const max = d.get('max-age');
  // s-maxage is for shared caches only, and overrides max-age (§5.2.2.10); a private response is
  // cached per caller, as a private cache would, so s-maxage does not apply to it.
  if (sMax !== undefined && !d.has('private')) lifetime = deltaSeconds(sMax) ?? 0;
  else if (max !== undefined) lifetime = deltaSeconds(max) ?? 0;
  else if (h.expires !== undefined) {
    const exp = httpDate(h.expires);
    const date = httpDate(h.date) ?? i.now;
    // An invalid Expires (e.g. "0") means already expired (§5.3).
    lifetime = exp === undefined ? 0 : Math.max(0, Math.floor((exp - date) / 1000));
  } else lifetime = i.defaultTtl;
  if (lifetime <= 0) return NOT('not fresh (lifetime 0)');
  return { storable: true, reason: null, lifetime, shared };
}

/**
 * The response's age when received (RFC 9111 §4.2.3, simplified for a cache that stores as it
 * receives): the larger of its `Age` and how far its `Date` lies in the past, in whole seconds.
 */
export function initialAge(headers: Readonly<Record<string, string | string[] | undefined>>, now: number): number {
  const age = deltaSeconds(typeof headers.age === 'string' ? headers.age.trim() : undefined) ?? 0;
  const date = httpDate(headers.date);
  // Date has one-second resolution (it is truncated), so it gets one second of slack: a response
  // generated a moment ago must not look a second old.
  const apparent = date === undefined ? 0 : Math.max(0, Math.floor((now - date - 1000) / 1000));
  return Math.max(age, apparent);
}
