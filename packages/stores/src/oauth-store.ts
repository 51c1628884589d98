import type { AuditContext } from './config-store.js';

/** An OAuth client as the gateway indexes it (active clients only). */
export interface StoredOAuthClient {
  /** `ocl_…`: the public `client_id`. */
  id: string;
  consumer: string;
  /** SHA-256 (hex) of the client secret. */
  secretHash: string;
  /** Scopes the client may be granted. */
  scopes: string[];
}

/** An OAuth client as the admin API lists it (never with its secret; its digest only inside the store). */
export interface OAuthClientRecord extends StoredOAuthClient {
  name?: string;
  createdAt: Date;
  revokedAt?: Date;
}

/** A client to create: the caller generated the id and secret and hashes the secret. */
export interface NewOAuthClient {
  id: string;
  consumer: string;
  secretHash: string;
  scopes: string[];
  name?: string;
}

/**
 * OAuth clients of consumers. A create or a revocation bumps the config version in its
 * transaction (NOTIFY): every gateway node reloads its identity index within a second, so a
 * revoked client gets no new token on any node, and tokens it already holds stop verifying at
 * Tollgate's own jwt-auth. Client changes are rare; the recompile they cost is skipped (same
 * config hash), only the identity index is rebuilt.
 */
export interface OAuthClientStore {
  /** Creates a client of an existing Consumer (ResourceConflictError `not_found` otherwise). */
  create(client: NewOAuthClient, audit?: AuditContext): Promise<{ client: OAuthClientRecord; version: number }>;
  /** A consumer's clients, oldest first, revoked ones included. */
  list(consumer: string): Promise<OAuthClientRecord[]>;
  /** Revokes an active client (RecordNotFoundError when there is none of that id for the consumer). */
  revoke(consumer: string, id: string, audit?: AuditContext): Promise<{ client: OAuthClientRecord; version: number }>;
}

/** A token-signing key (see `oauth_signing_keys`). */
export interface SigningKeyRecord {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  privatePem: string;
  activeFrom: Date;
  activeUntil: Date;
  retireAt: Date;
}

/** Keys the gateway signs access tokens with, shared by every node through the database. */
export interface SigningKeyStore {
  /** Keys not yet retired at `now`, by `activeFrom`. */
  listLive(now: Date): Promise<SigningKeyRecord[]>;
  /** Inserts `key` unless a key with its `kid` exists (another node won the race); returns the stored one. */
  insertIfAbsent(key: SigningKeyRecord): Promise<SigningKeyRecord>;
  /** Deletes keys retired before `now` (their private keys leave the database); returns how many. */
  deleteRetired(now: Date): Promise<number>;
}
