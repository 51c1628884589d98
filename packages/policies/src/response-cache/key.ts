import { createHash } from 'node:crypto';
import { decode } from '../request-transformer/template.js';

/**
 * The query string in a canonical order: pairs sorted by decoded name, then decoded value
 * (stable for equal pairs), re-joined as sent. `?b=2&a=1` and `?a=1&b=2` are one cache entry;
 * `?a=1&a=2` and `?a=2&a=1` are too (an upstream that cares about repeated-parameter order is
 * rare, and Kong's proxy-cache sorts the same way).
 */
export function normalizeQuery(query: string | null): string {
  if (query === null || query === '') return '';
  const pairs = query
    .split('&')
    .filter((p) => p !== '')
    .map((raw) => {
      const eq = raw.indexOf('=');
      return { raw, name: decode(eq === -1 ? raw : raw.slice(0, eq)), value: eq === -1 ? '' : decode(raw.slice(eq + 1)) };
    });
  pairs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  return pairs.map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(p.value)}`).join('&');
}

/** What identifies a cached response. */
export interface KeyInput {
  readonly method: string;
  /** The gateway's normalized host (lower case, no trailing dot) plus the port as sent, if any. */
  readonly host: string;
  /** Normalized path. */
  readonly path: string;
  readonly query: string | null;
  /** `[name, value]` of the policy's key headers, in the policy's order (absent = null). */
  readonly headers: ReadonlyArray<readonly [string, string | null]>;
  /** The consumer's name when the key is per consumer, else null. */
  readonly consumer: string | null;
}

/**
 * The key id: SHA-256 (hex) over the method, host, path, normalized query, the key headers and
 * the consumer, each length-prefixed so no two different inputs can produce the same material.
 */
export function cacheKeyId(k: KeyInput): string {
  const h = createHash('sha256');
  const put = (s: string | null) => {
    if (s === null) h.update('-;');
    else h.update(`${Buffer.byteLength(s)}:${s};`);
  };
  put(k.method);
  put(k.host);
  put(k.path);
  put(normalizeQuery(k.query));
  for (const [n, v] of k.headers) {
    put(n);
    put(v);
  }
  put(k.consumer);
  return h.digest('hex');
}
