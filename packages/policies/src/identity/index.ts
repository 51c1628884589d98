import type { Resource } from '@tollgate/model';
import type { ConsumerIdentity, PolicyLogger } from '../types.js';

/** An API key created through the admin API, as the config store hands it out (active keys only). */
export interface IndexedApiKey {
  readonly id: string;
  readonly consumer: string;
  /** SHA-256 (hex) of the whole key. */
  readonly hash: string;
  readonly expiresAt?: Date | null;
}

/** What a key hash resolves to. */
export interface KeyEntry {
  readonly consumer: ConsumerIdentity;
  /** Epoch milliseconds after which the key no longer authenticates; Infinity when it never expires. */
  readonly expiresAtMs: number;
  /** `key_…` id of an admin-created key, or `<consumer>/<name>` of a declared one (safe to log). */
  readonly keyId: string;
}

/** Marks an ambiguous entry (two consumers claim it): it authenticates nobody. */
const AMBIGUOUS = Symbol('ambiguous');

function put<V>(map: Map<string, V | typeof AMBIGUOUS>, key: string, value: V, same: (a: V, b: V) => boolean, onClash: (key: string) => void): void {
  const prev = map.get(key);
  if (prev === undefined) map.set(key, value);
  else if (prev !== AMBIGUOUS && same(prev, value)) return;
  else {
    map.set(key, AMBIGUOUS);
    onClash(key);
  }
}

function get<V>(map: Map<string, V | typeof AMBIGUOUS>, key: string): V | undefined {
  const v = map.get(key);
  return v === AMBIGUOUS ? undefined : v;
}

/**
 * The in-memory consumer index authentication policies look up: by key hash, by custom id, by
 * (issuer, subject). Built once per config snapshot (and per API-key change), never queried per
 * request from a database. A value two consumers claim (same key hash, same custom id, same
 * subject) is ambiguous and authenticates nobody, rather than picking one silently.
 */
export class IdentityIndex {
  /** An index with no consumers. */
  static readonly EMPTY = new IdentityIndex([], []);

  readonly #byName = new Map<string, ConsumerIdentity>();
  readonly #byKey = new Map<string, KeyEntry | typeof AMBIGUOUS>();
  readonly #byCustomId = new Map<string, ConsumerIdentity | typeof AMBIGUOUS>();
  readonly #bySubject = new Map<string, ConsumerIdentity | typeof AMBIGUOUS>();

  /** Builds the index from the snapshot's Consumer resources and stored API keys. */
  constructor(resources: readonly Resource[], apiKeys: readonly IndexedApiKey[] = [], logger?: PolicyLogger) {
    const clash = (what: string) => (key: string) => logger?.warn({ what, key: what === 'key' ? `${key.slice(0, 8)}…` : key }, 'identity: value claimed by two consumers; it authenticates nobody');
    const sameConsumer = (a: ConsumerIdentity, b: ConsumerIdentity) => a === b;
    for (const r of resources) {
      if (r.kind !== 'Consumer') continue;
      const c: ConsumerIdentity = Object.freeze({ name: r.metadata.name, customId: r.spec.customId ?? null, groups: Object.freeze([...r.spec.groups]) });
      this.#byName.set(c.name, c);
      if (c.customId !== null) put(this.#byCustomId, c.customId, c, sameConsumer, clash('customId'));
      for (const s of r.spec.jwtSubjects) put(this.#bySubject, subjectKey(s.issuer, s.subject), c, sameConsumer, clash('subject'));
      for (const k of r.spec.keys) {
        // A stored Consumer only has `hash`; a `key` here means the admin did not hash it (never expected).
        if (k.hash === undefined) continue;
        const entry: KeyEntry = Object.freeze({ consumer: c, expiresAtMs: k.expiresAt !== undefined ? Date.parse(k.expiresAt) : Infinity, keyId: `${c.name}/${k.name}` });
        put(this.#byKey, k.hash, entry, () => false, clash('key'));
      }
    }
    for (const k of apiKeys) {
      const c = this.#byName.get(k.consumer);
      if (c === undefined) continue; // a key of a consumer that no longer exists authenticates nobody
      const exp = k.expiresAt instanceof Date ? k.expiresAt.getTime() : Infinity;
      put(this.#byKey, k.hash.toLowerCase(), Object.freeze({ consumer: c, expiresAtMs: exp, keyId: k.id }), () => false, clash('key'));
    }
  }

  /** The consumer named `name`. */
  byName(name: string): ConsumerIdentity | undefined {
    return this.#byName.get(name);
  }

  /** The key whose SHA-256 hex is `hash` (expiry is the caller's to check). */
  byKeyHash(hash: string): KeyEntry | undefined {
    return get(this.#byKey, hash);
  }

  /** The consumer whose `customId` is `id`. */
  byCustomId(id: string): ConsumerIdentity | undefined {
    return get(this.#byCustomId, id);
  }

  /** The consumer that declared `subject` for tokens of `issuer`. */
  bySubject(issuer: string, subject: string): ConsumerIdentity | undefined {
    return get(this.#bySubject, subjectKey(issuer, subject));
  }

  /** Number of consumers indexed. */
  get size(): number {
    return this.#byName.size;
  }
}

function subjectKey(issuer: string, subject: string): string {
  return `${issuer}\u0000${subject}`;
}

/** A mutable holder of the current index: the gateway swaps `current`, policies read it per request. */
export class IdentityHolder {
  current: IdentityIndex = IdentityIndex.EMPTY;
}
