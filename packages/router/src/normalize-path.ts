/** Stable reasons a request path is refused; the gateway answers them all with 400 `BAD_PATH`. */
export type PathErrorCode = 'ENCODED_SLASH' | 'BACKSLASH' | 'NUL' | 'INVALID_PERCENT_ENCODING' | 'MATRIX_PARAMS' | 'TRAILING_DOT';

/** A request path the gateway refuses to route, with a stable machine-readable `code`. */
export class PathError extends Error {
  readonly code: PathErrorCode;
  constructor(code: PathErrorCode, message: string) {
    super(message);
    this.name = 'PathError';
    this.code = code;
  }
}

/** The path and raw query of a request-target (RFC 9112 §3.2). */
export interface SplitTarget {
  /** The raw path, not yet normalized; `/` when the target had none. */
  path: string;
  /** The raw query without the leading `?`, or `null` when the target had no `?`. */
  query: string | null;
}

// A path needs work only when it holds one of: '%', '\', NUL, or a '/' followed by '/' or '.'.
// Tested once per request against a module-level regex, so the common clean path costs one scan.
const NEEDS_WORK = /[%\\\0]|\/[./]|^(?!\/)/;
const SCHEME_PREFIX = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * Splits a request-target into the raw path and raw query. The absolute-form
 * (`http://host/p?q`, RFC 9112 §3.2.2) keeps only its path; a fragment is dropped (clients must
 * not send one; RFC 9110 §7.1).
 */
export function splitTarget(url: string): SplitTarget {
  let target = url;
  if (target.charCodeAt(0) !== 47 /* / */ && SCHEME_PREFIX.test(target)) {
    const authorityStart = target.indexOf('//') + 2;
    let pathStart = authorityStart;
    while (pathStart < target.length) {
      const c = target.charCodeAt(pathStart);
      if (c === 47 || c === 63 || c === 35) break; // '/', '?', '#'
      pathStart++;
    }
    target = target.slice(pathStart);
  }
  const hash = target.indexOf('#');
  if (hash !== -1) target = target.slice(0, hash);
  const q = target.indexOf('?');
  if (q === -1) return { path: target === '' ? '/' : target, query: null };
  const path = target.slice(0, q);
  return { path: path === '' ? '/' : path, query: target.slice(q + 1) };
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 65 && c <= 70) return c - 55; // A-F
  if (c >= 97 && c <= 102) return c - 87; // a-f
  return -1;
}

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95 || c === 126;
}

const HEX = '0123456789ABCDEF';

/**
 * Percent-decoding step of normalization, in one pass so nothing is decoded twice:
 * unreserved characters are decoded (RFC 3986 §6.2.2.2), other escapes are kept with upper-case
 * hex digits (§6.2.2.1). An encoded `/` or `\` is refused rather than decoded: decoding it would
 * change the path's segment structure, the root of path-confusion bypasses such as
 * CVE-2019-9901 (Envoy) and CVE-2021-43557 (APISIX). NUL is refused in any form.
 */
function decodePercent(raw: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 92) throw new PathError('BACKSLASH', 'the path contains a backslash');
    if (c === 0) throw new PathError('NUL', 'the path contains a NUL character');
    if (c !== 37) continue;
    const hi = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 1)) : -1;
    const lo = hi === -1 ? -1 : hexValue(raw.charCodeAt(i + 2));
    if (lo === -1) throw new PathError('INVALID_PERCENT_ENCODING', 'the path contains a "%" not followed by two hex digits');
    const v = hi * 16 + lo;
    if (v === 0x2f) throw new PathError('ENCODED_SLASH', 'the path contains an encoded slash (%2F)');
    if (v === 0x5c) throw new PathError('BACKSLASH', 'the path contains an encoded backslash (%5C)');
    if (v === 0) throw new PathError('NUL', 'the path contains an encoded NUL (%00)');
    out += raw.slice(start, i) + (isUnreserved(v) ? String.fromCharCode(v) : `%${HEX[hi]}${HEX[lo]}`);
    start = i + 3;
    i += 2;
  }
  return start === 0 ? raw : out + raw.slice(start);
}

/**
 * Normalizes a raw request path (without query) for routing and forwarding:
 * 1. refuses backslashes, NUL, an encoded `/`, and malformed `%` escapes (throws {@link PathError});
 * 2. decodes percent-encoded unreserved characters and upper-cases other escapes (RFC 3986 §6.2.2);
 * 3. collapses empty segments (`//`) and removes dot-segments (RFC 3986 §5.2.4), after decoding so
 *    `%2e%2e` counts as `..`; `..` above the root stays at the root.
 * The result always starts with `/` and keeps a trailing slash. The gateway routes on this result
 * and forwards exactly this result, so what is checked is what the upstream sees.
 */
export function normalizePath(raw: string): string {
  if (!NEEDS_WORK.test(raw)) return raw;
  const decoded = decodePercent(raw);
  const segments = decoded.split('/');
  const out: string[] = [];
  let trailingSlash = false;
  // A path that does not start with '/' is treated as relative to the root.
  for (let i = decoded.charCodeAt(0) === 47 ? 1 : 0; i < segments.length; i++) {
    const s = segments[i] as string;
    const last = i === segments.length - 1;
    if (s === '' || s === '.') {
      trailingSlash = last;
    } else if (s === '..') {
      out.pop();
      trailingSlash = last;
    } else {
      out.push(s);
      trailingSlash = false;
    }
  }
  if (out.length === 0) return '/';
  return trailingSlash ? `/${out.join('/')}/` : `/${out.join('/')}`;
}
