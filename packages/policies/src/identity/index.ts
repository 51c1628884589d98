import type { ConsumerResource, Resource } from '@tollgate/model';
import type { ConsumerIdentity, PolicyLogger } from '../types.js';
import { Claims } from './ownership-claims.js';
import { ConsumerCredentials, type CredentialClaims } from './consumer-credentials.js';

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

/** What the index holds for one consumer, so a change or removal undoes exactly its claims. */
interface ConsumerRecord {
  readonly identity: ConsumerIdentity;
  readonly subjects: readonly string[];
  /** Declared keys (`spec.keys`): hash by key id. */
  readonly declared: ReadonlyMap<string, string>;
  /** Admin-created keys of this consumer: hash and expiry by key id. */
  readonly apiKeys: Map<string, { readonly hash: string; readonly expiresAtMs: number }>;
  /** Basic-auth user names (`spec.basicAuth`). */
  readonly usernames: readonly string[];
  /** Signature key ids and certificate selectors (`spec.signatureKeys`, `spec.certificates`). */
  readonly credentials: CredentialClaims;
}

/** A Consumer changed on the change feed, in its current state (`null`: deleted). */
export interface ConsumerDelta {
  readonly name: string;
  readonly resource: ConsumerResource | null;
}

/**
 * The in-memory consumer index authentication policies look up: by key hash, by custom id, by
 * (issuer, subject). Built once per config snapshot, never queried per request from a database;
 * Consumers ({@link applyConsumers}) and admin-created API keys ({@link applyKeys}) are then
 * changed IN PLACE from the change feed, so neither costs a rebuild. A value two consumers claim
 * (same key hash, same custom id, same subject) is ambiguous and authenticates nobody, rather
 * than picking one silently; removing one of the claimants makes it usable again.
 */
export class IdentityIndex {
  /** An index with no consumers (never changed in place). */
  static readonly EMPTY = new IdentityIndex([], []);

  /**
   * Change-feed position of the consumers and keys this index holds: the snapshot's `changeSeq`,
   * then each applied delta's. -1 = not on the feed (nothing may be applied to it).
   */
  changeSeq = -1;

  readonly #consumers = new Map<string, ConsumerRecord>();
  readonly #byKey: Claims<KeyEntry>;
  readonly #byCustomId: Claims<ConsumerIdentity>;
  readonly #bySubject: Claims<ConsumerIdentity>;
  /** Consumer of each admin-created key, by key id (a revocation names only the id). */
  readonly #keyOwner = new Map<string, string>();
  readonly #byUsername: Claims<BasicEntry>;
  /** Request-signing keys and client-certificate selectors (http-signature, mtls-auth). */
  readonly credentials: ConsumerCredentials;
  /** Active OAuth clients by consumer (they come with the snapshot), and each served client by id. */
  readonly #oauthClients = new Map<string, IndexedOAuthClient[]>();
  readonly #byClientId = new Map<string, OAuthClientEntry>();

  /** Builds the index from the snapshot's Consumer resources and stored API keys. */
  constructor(resources: readonly Resource[], apiKeys: readonly IndexedApiKey[] = [], logger?: PolicyLogger, oauthClients: readonly IndexedOAuthClient[] = []) {
    const clash = (what: string) => (key: string) => logger?.warn({ what, key: what === 'key' ? `${key.slice(0, 8)}…` : key }, 'identity: value claimed by two consumers; it authenticates nobody');
    this.#byKey = new Claims((e) => e.keyId, clash('key'));
    this.#byCustomId = new Claims((c) => c.name, clash('customId'));
    this.#bySubject = new Claims((c) => c.name, clash('subject'));
    // A user name two consumers claim authenticates nobody.
    this.#byUsername = new Claims((e) => e.consumer.name, clash('username'));
    this.credentials = new ConsumerCredentials(logger);
    for (const o of oauthClients) {
      const list = this.#oauthClients.get(o.consumer);
      if (list === undefined) this.#oauthClients.set(o.consumer, [o]);
      else list.push(o);
    }
    for (const r of resources) if (r.kind === 'Consumer') this.#putConsumer(r, undefined);
    for (const k of apiKeys) this.#putApiKey(k);
  }

  /**
   * Applies Consumer deltas in place: a Consumer is added, or replaced (its custom id, subjects
   * and declared keys re-claimed, its admin-created keys kept and pointed at the new identity),
   * or removed with every key it had. Apply them before the keys of the same feed read (a key
   * names its consumer). Returns how many were applied.
   */
  applyConsumers(deltas: Iterable<ConsumerDelta>): number {
    if (this === IdentityIndex.EMPTY) throw new Error('the empty identity index is shared and never changed');
    let n = 0;
    for (const d of deltas) {
      const before = this.#consumers.get(d.name);
      if (before !== undefined) this.#dropClaims(before);
      if (d.resource !== null) this.#putConsumer(d.resource, before);
      else if (before !== undefined) {
        for (const [id, k] of before.apiKeys) {
          this.#byKey.remove(k.hash, id);
          this.#keyOwner.delete(id);
        }
        this.#consumers.delete(d.name);
      }
      n += 1;
    }
    return n;
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
      this.#removeApiKey(d.id);
      if (!d.revoked) this.#putApiKey(d);
      n += 1;
    }
    return n;
  }

  /** Indexes a Consumer; `before` (its previous record) hands over its admin-created keys. */
  #putConsumer(r: ConsumerResource, before: ConsumerRecord | undefined): void {
    const c: ConsumerIdentity = Object.freeze({ name: r.metadata.name, customId: r.spec.customId ?? null, groups: Object.freeze([...r.spec.groups]) });
    const subjects = r.spec.jwtSubjects.map((s) => subjectKey(s.issuer, s.subject));
    const declared = new Map<string, string>();
    // A stored Consumer only has `passwordHash` (the admin API hashes `password`).
    const basic = (r.spec.basicAuth ?? []).filter((b) => b.passwordHash !== undefined);
    const credentials = this.credentials.add(c, r.spec);
    const record: ConsumerRecord = { identity: c, subjects, declared, apiKeys: before?.apiKeys ?? new Map(), usernames: basic.map((b) => b.username), credentials };
    this.#consumers.set(c.name, record);
    if (c.customId !== null) this.#byCustomId.add(c.customId, c);
    for (const s of subjects) this.#bySubject.add(s, c);
    for (const b of basic) this.#byUsername.add(b.username, Object.freeze({ consumer: c, username: b.username, passwordHash: b.passwordHash as string }));
    // OAuth clients, grantable now: what the client was given AND the consumer still may have.
    const allowed = new Set(r.spec.scopes ?? []);
    for (const o of this.#oauthClients.get(c.name) ?? []) {
      this.#byClientId.set(o.id, Object.freeze({ clientId: o.id, consumer: c, secretHash: o.secretHash.toLowerCase(), scopes: new Set(o.scopes.filter((s) => allowed.has(s))) }));
    }
    for (const k of r.spec.keys) {
      // A stored Consumer only has `hash`; a `key` here means the admin did not hash it (never expected).
      if (k.hash === undefined) continue;
      const keyId = `${c.name}/${k.name}`;
      declared.set(keyId, k.hash);
      this.#byKey.add(k.hash, Object.freeze({ consumer: c, expiresAtMs: k.expiresAt !== undefined ? Date.parse(k.expiresAt) : Infinity, keyId }));
    }
    // The same keys, now authenticating as the changed identity (groups, custom id).
    for (const [id, k] of record.apiKeys) this.#byKey.add(k.hash, Object.freeze({ consumer: c, expiresAtMs: k.expiresAtMs, keyId: id }));
  }

  /** Removes a consumer's custom id, subjects and declared keys (its admin-created keys stay claimed until replaced). */
  #dropClaims(record: ConsumerRecord): void {
    const { identity } = record;
    if (identity.customId !== null) this.#byCustomId.remove(identity.customId, identity.name);
    for (const s of record.subjects) this.#bySubject.remove(s, identity.name);
    for (const [id, hash] of record.declared) this.#byKey.remove(hash, id);
    for (const u of record.usernames) this.#byUsername.remove(u, identity.name);
    this.credentials.remove(identity.name, record.credentials);
    // A client of a consumer that no longer exists gets nothing; a changed consumer re-adds its clients.
    for (const o of this.#oauthClients.get(identity.name) ?? []) this.#byClientId.delete(o.id);
  }

  #putApiKey(k: IndexedApiKey): void {
    const record = this.#consumers.get(k.consumer);
    if (record === undefined) return; // a key of a consumer that no longer exists authenticates nobody
    const exp = k.expiresAt instanceof Date ? k.expiresAt.getTime() : Infinity;
    const hash = k.hash.toLowerCase();
    record.apiKeys.set(k.id, { hash, expiresAtMs: exp });
    this.#keyOwner.set(k.id, k.consumer);
    this.#byKey.add(hash, Object.freeze({ consumer: record.identity, expiresAtMs: exp, keyId: k.id }));
  }

  #removeApiKey(keyId: string): void {
    const owner = this.#keyOwner.get(keyId);
    if (owner === undefined) return;
    this.#keyOwner.delete(keyId);
    const record = this.#consumers.get(owner);
    const k = record?.apiKeys.get(keyId);
    if (record === undefined || k === undefined) return;
    record.apiKeys.delete(keyId);
    this.#byKey.remove(k.hash, keyId);
  }

  /** The consumer named `name`. */
  byName(name: string): ConsumerIdentity | undefined {
    return this.#consumers.get(name)?.identity;
  }

  /** The key whose SHA-256 hex is `hash` (expiry is the caller's to check). */
  byKeyHash(hash: string): KeyEntry | undefined {
    return this.#byKey.get(hash);
  }

  /** The basic-auth credential of user name `username` (the password is the caller's to verify). */
  byUsername(username: string): BasicEntry | undefined {
    return this.#byUsername.get(username);
  }

  /** The active OAuth client `clientId` (its secret is the caller's to check). */
  byClientId(clientId: string): OAuthClientEntry | undefined {
    return this.#byClientId.get(clientId);
  }

  /** The consumer whose `customId` is `id`. */
  byCustomId(id: string): ConsumerIdentity | undefined {
    return this.#byCustomId.get(id);
  }

  /** The consumer that declared `subject` for tokens of `issuer`. */
  bySubject(issuer: string, subject: string): ConsumerIdentity | undefined {
    return this.#bySubject.get(subjectKey(issuer, subject));
  }

  /** Number of consumers indexed. */
  get size(): number {
    return this.#consumers.size;
  }
}

function subjectKey(issuer: string, subject: string): string {
  return `${issuer}\u0000${subject}`;
}

/** A mutable holder of the current index: the gateway swaps `current`, policies read it per request. */
export class IdentityHolder {
  current: IdentityIndex = IdentityIndex.EMPTY;
}
