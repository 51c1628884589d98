import { createHash } from 'node:crypto';

/** `%XX` of an unreserved character (RFC 3986 §2.3) is that character; other escapes get upper-case hex (§6.2.2.1, §6.2.2.2). */
function canonicalEscapes(s: string): string {
  if (!s.includes('%')) return s;
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${hex.toUpperCase()}`;
  });
}

/**
 * The query string in a canonical order: pairs stably sorted by name, so `?b=2&a=1` and
 * `?a=1&b=2` are one entry (as Kong's proxy-cache), while repeated parameters keep their order
 * (`?a=1&a=2` and `?a=2&a=1` are two: an upstream that reads the first value answers differently).
 * Pairs are otherwise kept as forwarded, up to URI equivalence (RFC 3986 §6.2.2): `%7e` is `~`, but
 * `+` is not `%20` and `?a` is not `?a=` (an upstream may tell them apart). Empty pairs are dropped.
 */
export function normalizeQuery(query: string | null): string {
  if (query === null || query === '') return '';
  const pairs = query
    .split('&')
    .filter((p) => p !== '')
    .map((raw) => {
      const text = canonicalEscapes(raw);
      const eq = text.indexOf('=');
      return { text, name: eq === -1 ? text : text.slice(0, eq) };
    });
  // Array.prototype.sort is stable (ES2019): equal names keep their order.
  pairs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return pairs.map((p) => p.text).join('&');
}

/** How the client reached the gateway, as the upstream is told: part of the key. */
export interface RequestOrigin {
  /** `https` on the TLS listener else `http`; a trusted proxy's `X-Forwarded-Proto` (lower case) instead. */
  readonly scheme: string;
  /** A trusted proxy's `X-Forwarded-Host`, else `Host`: lower case, without the scheme's default port. */
  readonly host: string;
  /** A trusted proxy's `X-Forwarded-Port`, else null. */
  readonly port: string | null;
  /** A trusted proxy's `X-Forwarded-Prefix`, else null. */
  readonly prefix: string | null;
  /** The `proto=` and `host=` parameters of a trusted proxy's `Forwarded` (RFC 7239), else null. */
  readonly forwarded: string | null;
}

/** What the origin is computed from (a subset of the policy context). */
export interface OriginSource {
  readonly secure: boolean;
  readonly trustForwarding: boolean;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

const str = (v: string | string[] | undefined): string | null => (typeof v === 'string' ? v : Array.isArray(v) ? v.join(', ') : null);

/**
 * A host as a URI authority is compared (RFC 3986 §6.2.2.1, §6.2.3): case-insensitive, and the
 * scheme's default port (or an empty one) is the same as none. Anything else (another port, a
 * trailing dot) stays distinct: a distinct key is never wrong, only less shared.
 */
export function normalizeAuthority(raw: string, scheme: string): string {
  let h = raw.trim().toLowerCase();
  if (h.endsWith(':')) return h.slice(0, -1);
  const def = scheme === 'https' ? ':443' : scheme === 'http' ? ':80' : null;
  if (def !== null && h.endsWith(def)) h = h.slice(0, -def.length);
  return h;
}

const FORWARDED_PARAM = /(?:^|[;,])\s*(proto|host)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)/gi;

/** `proto=` / `host=` of a `Forwarded` field (RFC 7239 §4), lower case, in order; null when none (`for=` / `by=` are per client and left out). */
export function forwardedParams(v: string | null): string | null {
  if (v === null) return null;
  let out: string | null = null;
  for (const m of v.matchAll(FORWARDED_PARAM)) {
    const p = `${(m[1] as string).toLowerCase()}=${(m[2] as string).toLowerCase()}`;
    out = out === null ? p : `${out},${p}`;
  }
  return out;
}

/**
 * The scheme and host the upstream is told (mirrors the gateway's X-Forwarded-* handling: a trusted
 * proxy's values are relayed, otherwise the gateway's own view), plus the other forwarding fields
 * a trusted proxy relays. An upstream that builds absolute URLs (redirects to HTTPS, links) answers
 * differently for each, so each is part of the key.
 */
export function requestOrigin(s: OriginSource): RequestOrigin {
  const h = s.headers;
  const xfp = s.trustForwarding ? str(h['x-forwarded-proto']) : null;
  const scheme = xfp !== null ? xfp.trim().toLowerCase() : s.secure ? 'https' : 'http';
  const xfh = s.trustForwarding ? str(h['x-forwarded-host']) : null;
  const host = normalizeAuthority(xfh ?? str(h.host) ?? '', scheme);
  if (!s.trustForwarding) return { scheme, host, port: null, prefix: null, forwarded: null };
  return { scheme, host, port: str(h['x-forwarded-port']), prefix: str(h['x-forwarded-prefix']), forwarded: forwardedParams(str(h.forwarded)) };
}

/** What identifies a cached response. */
export interface KeyInput {
  readonly method: string;
  /** Scheme, host and forwarding fields as the upstream sees them ({@link requestOrigin}). */
  readonly origin: RequestOrigin;
  /** Normalized path. */
  readonly path: string;
  readonly query: string | null;
  /** `[name, value]` of the policy's key headers, in the policy's order (absent = null). */
  readonly headers: ReadonlyArray<readonly [string, string | null]>;
  /** The consumer's name when the key is per consumer, else null. */
  readonly consumer: string | null;
}

/**
 * The key id: SHA-256 (hex) over the method, the origin (scheme, host, trusted forwarding fields),
 * path, normalized query, the key headers and the consumer, each length-prefixed so no two
 * different inputs can produce the same material.
 */
export function cacheKeyId(k: KeyInput): string {
  const h = createHash('sha256');
  const put = (s: string | null) => {
    if (s === null) h.update('-;');
    else h.update(`${Buffer.byteLength(s)}:${s};`);
  };
  put(k.method);
  put(k.origin.scheme);
  put(k.origin.host);
  put(k.origin.port);
  put(k.origin.prefix);
  put(k.origin.forwarded);
  put(k.path);
  put(normalizeQuery(k.query));
  for (const [n, v] of k.headers) {
    put(n);
    put(v);
  }
  put(k.consumer);
  return h.digest('hex');
}
