import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** What key-auth looks a presented key up by: its SHA-256 and the log-safe credential name. */
export interface KeyDigest {
  /** SHA-256 (hex) of the key: the identity index is keyed by it. */
  readonly hash: string;
  /** `key:` + the first 16 hex digits: names the key in logs and limits without revealing it. */
  readonly credential: string;
}

/** Turns a presented key into its {@link KeyDigest}. */
export interface KeyDigests {
  digest(key: string): KeyDigest;
}

function compute(key: string): KeyDigest {
  const hash = createHash('sha256').update(key).digest('hex');
  return { hash, credential: `key:${hash.slice(0, 16)}` };
}

/**
 * A bounded LRU of recently presented keys' digests (issue #16: the SHA-256 per request was a
 * visible part of a key-auth request's cost). It caches the digest, NOT the index entry: every
 * request still looks the digest up in the current identity index, so a revoked, expired or
 * replaced key fails on the next request whatever way the index changes (snapshot swap or
 * in-place deltas), and the cache needs no invalidation. A digest never changes, so entries need
 * no TTL either. The plaintext keys of recent callers sit in this process's memory as cache keys
 * (as they do in request buffers); they are never logged or exported. `max` bounds the memory
 * (10,000 keys of up to 512 characters: a few MiB at most) and how much a flood of random keys can
 * evict: such a flood costs what it cost before (one hash each).
 */
export function cachedKeyDigests(max = 10_000): KeyDigests {
  const cache = new LRUCache<string, KeyDigest>({ max });
  return {
    digest(key) {
      let d = cache.get(key);
      if (d === undefined) cache.set(key, (d = compute(key)));
      return d;
    },
  };
}

/** One cache per process, shared by every key-auth instance across snapshots (digests do not depend on config). */
export const keyDigests: KeyDigests = cachedKeyDigests();
