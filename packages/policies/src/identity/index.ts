import type { Resource } from '@tollgate/model';
import type { ConsumerIdentity, PolicyLogger } from '../types.js';
import { ConsumerCredentials } from './consumer-credentials.js';

/** An API key created through the admin API, as the config store hands it out (active keys only). */
export interface IndexedApiKey {
  readonly id: string;
  readonly consumer: string;
  /** SHA-256 (hex) of the whole key. */
  readonly hash: string;
  readonly expiresAt?: Date | null;
}

/** A key's current state from the change feed: active (add or replace) or revoked (remove). */
export interface ApiKeyDelta extends IndexedApiKey {
  readonly revoked: boolean;
}

/** What a key hash resolves to. */
export interface KeyEntry {
  readonly consumer: ConsumerIdentity;
  /** Epoch milliseconds after which the key no longer authenticates; Infinity when it never expires. */
  readonly expiresAtMs: number;
  /** `key_…` id of an admin-created key, or `<consumer>/<name>` of a declared one (safe to log). */
  readonly keyId: string;
}

/** A basic-auth user name's entry: its consumer and stored scrypt hash (see `@tollgate/model` password-hash). */
export interface BasicEntry {
  readonly consumer: ConsumerIdentity;
  readonly username: string;
  readonly passwordHash: string;
}

/** An OAuth client as the config snapshot hands it out (active clients only). */
export interface IndexedOAuthClient {
  /** `ocl_…`: the client_id. */
  readonly id: string;
  readonly consumer: string;
  /** SHA-256 (hex) of the client secret. */
  readonly secretHash: string;
  /** Scopes the client may be granted. */
  readonly scopes: readonly string[];
}

/** What a client_id resolves to: its consumer, secret digest and grantable scopes (client ∩ consumer). */
export interface OAuthClientEntry {
  readonly clientId: string;
  readonly consumer: ConsumerIdentity;
  readonly secretHash: string;
  readonly scopes: ReadonlySet<string>;
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
 * (issuer, subject). Built once per config snapshot, never queried per request from a database;
 * admin-created API keys are then added and removed IN PLACE from the change feed
 * ({@link applyKeys}), so a key never costs a rebuild. A value two consumers claim (same key
 * hash, same custom id, same subject) is ambiguous and authenticates nobody, rather than picking
 * one silently.
 */
export class IdentityIndex {
  /** An index with no consumers (never changed in place). */
  static readonly EMPTY = new IdentityIndex([], []);

  /**
   * Change-feed position of the keys this index holds: the snapshot's `changeSeq`, then each
   * applied delta's. -1 = not on the feed (nothing may be applied to it).
   */
  changeSeq = -1;

  readonly #byName = new Map<string, ConsumerIdentity>();
  readonly #byKey = new Map<string, KeyEntry | typeof AMBIGUOUS>();
  /** Hash of each indexed key by its id, to remove a key by id (revocation). */
  readonly #keyHash = new Map<string, string>();
  /** Every claimant of a hash claimed more than once, so removing one can make the hash usable again. */
  readonly #keyClaims = new Map<string, KeyEntry[]>();
  readonly #logger: PolicyLogger | undefined;
  readonly #byCustomId = new Map<string, ConsumerIdentity | typeof AMBIGUOUS>();
  readonly #bySubject = new Map<string, ConsumerIdentity | typeof AMBIGUOUS>();
  /** Request-signing keys and client-certificate selectors (http-signature, mtls-auth). */
  readonly credentials = new ConsumerCredentials();
  readonly #byUsername = new Map<string, BasicEntry | typeof AMBIGUOUS>();
  readonly #byClientId = new Map<string, OAuthClientEntry>();

  /** Builds the index from the snapshot's Consumer resources and stored API keys. */
  constructor(resources: readonly Resource[], apiKeys: readonly IndexedApiKey[] = [], logger?: PolicyLogger, oauthClients: readonly IndexedOAuthClient[] = []) {
    this.#logger = logger;
    const clash = (what: string) => (key: string) => logger?.warn({ what, key: what === 'key' ? `${key.slice(0, 8)}…` : key }, 'identity: value claimed by two consumers; it authenticates nobody');
    const sameConsumer = (a: ConsumerIdentity, b: ConsumerIdentity) => a === b;
    for (const r of resources) {
      if (r.kind !== 'Consumer') continue;
      const c: ConsumerIdentity = Object.freeze({ name: r.metadata.name, customId: r.spec.customId ?? null, groups: Object.freeze([...r.spec.groups]) });
      this.#byName.set(c.name, c);
      if (c.customId !== null) put(this.#byCustomId, c.customId, c, sameConsumer, clash('customId'));
      this.credentials.add(c, r.spec, logger);
      // A stored Consumer only has `passwordHash` (the admin API hashes `password`); a user name two consumers claim authenticates nobody.
      for (const b of r.spec.basicAuth ?? []) if (b.passwordHash !== undefined) put(this.#byUsername, b.username, Object.freeze({ consumer: c, username: b.username, passwordHash: b.passwordHash }), () => false, clash('username'));
      for (const s of r.spec.jwtSubjects) put(this.#bySubject, subjectKey(s.issuer, s.subject), c, sameConsumer, clash('subject'));
      for (const k of r.spec.keys) {
        // A stored Consumer only has `hash`; a `key` here means the admin did not hash it (never expected).
        if (k.hash === undefined) continue;
        const entry: KeyEntry = Object.freeze({ consumer: c, expiresAtMs: k.expiresAt !== undefined ? Date.parse(k.expiresAt) : Infinity, keyId: `${c.name}/${k.name}` });
        this.#addKey(k.hash, entry);
      }
    }
    for (const k of apiKeys) this.#putApiKey(k);
    const consumerScopes = new Map<string, readonly string[]>();
    for (const r of resources) if (r.kind === 'Consumer') consumerScopes.set(r.metadata.name, r.spec.scopes ?? []);
    for (const o of oauthClients) {
      const c = this.#byName.get(o.consumer);
      if (c === undefined) continue; // a client of a consumer that no longer exists gets nothing
      // Grantable now: what the client was given AND the consumer still may have.
      const allowed = new Set(consumerScopes.get(o.consumer) ?? []);
      this.#byClientId.set(o.id, Object.freeze({ clientId: o.id, consumer: c, secretHash: o.secretHash.toLowerCase(), scopes: new Set(o.scopes.filter((s) => allowed.has(s))) }));
    }
  }

  /**
   * Applies change-feed deltas in place, in order: an active key is added (or replaces the entry
   * of the same id), a revoked one is removed. A key of a consumer this index does not hold is
   * skipped (it authenticates nobody; the snapshot naming that consumer will include the key).
   * Returns how many keys were applied.
   */
  applyKeys(deltas: Iterable<ApiKeyDelta>): number {
    if (this === IdentityIndex.EMPTY) throw new Error('the empty identity index is shared and never changed');
    let n = 0;
    for (const d of deltas) {
      this.#removeKey(d.id);
      if (!d.revoked) this.#putApiKey(d);
      n += 1;
    }
    return n;
  }

  #putApiKey(k: IndexedApiKey): void {
    const c = this.#byName.get(k.consumer);
    if (c === undefined) return; // a key of a consumer that no longer exists authenticates nobody
    const exp = k.expiresAt instanceof Date ? k.expiresAt.getTime() : Infinity;
    this.#addKey(k.hash.toLowerCase(), Object.freeze({ consumer: c, expiresAtMs: exp, keyId: k.id }));
  }

  /** Indexes a key; a hash claimed twice becomes ambiguous (see the class comment). */
  #addKey(hash: string, entry: KeyEntry): void {
    this.#keyHash.set(entry.keyId, hash);
    const prev = this.#byKey.get(hash);
    if (prev === undefined) {
      this.#byKey.set(hash, entry);
      return;
    }
    const claims = this.#keyClaims.get(hash) ?? [prev as KeyEntry];
    claims.push(entry);
    this.#keyClaims.set(hash, claims);
    this.#byKey.set(hash, AMBIGUOUS);
    this.#logger?.warn({ what: 'key', key: `${hash.slice(0, 8)}…` }, 'identity: value claimed by two consumers; it authenticates nobody');
  }

  #removeKey(keyId: string): void {
    const hash = this.#keyHash.get(keyId);
    if (hash === undefined) return;
    this.#keyHash.delete(keyId);
    const claims = this.#keyClaims.get(hash);
    if (claims === undefined) {
      this.#byKey.delete(hash);
      return;
    }
    const left = claims.filter((e) => e.keyId !== keyId);
    if (left.length === 1) {
      this.#byKey.set(hash, left[0] as KeyEntry);
      this.#keyClaims.delete(hash);
    } else this.#keyClaims.set(hash, left);
  }

  /** The consumer named `name`. */
  byName(name: string): ConsumerIdentity | undefined {
    return this.#byName.get(name);
  }

  /** The key whose SHA-256 hex is `hash` (expiry is the caller's to check). */
  byKeyHash(hash: string): KeyEntry | undefined {
    return get(this.#byKey, hash);
  }

  /** The basic-auth credential of user name `username` (the password is the caller's to verify). */
  byUsername(username: string): BasicEntry | undefined {
    return get(this.#byUsername, username);
  }

  /** The active OAuth client `clientId` (its secret is the caller's to check). */
  byClientId(clientId: string): OAuthClientEntry | undefined {
    return this.#byClientId.get(clientId);
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
