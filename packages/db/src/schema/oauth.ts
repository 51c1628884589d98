import { index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * OAuth 2.0 clients (RFC 6749 §2) of consumers, for the client-credentials grant the gateway
 * serves (`oauth2-token` policy). Only the SHA-256 digest of the secret is stored (the secret is
 * 256 random bits, so a fast digest is enough, as for API keys); a revoked client keeps its row
 * (with `revoked_at`) so listings and the audit log can still name it.
 */
export const oauthClients = pgTable(
  'oauth_clients',
  {
    /** Prefixed id, e.g. `ocl_…` (also the public `client_id`). */
    id: text('id').primaryKey(),
    /** Name of the Consumer resource the client acts for. */
    consumer: text('consumer').notNull(),
    /** SHA-256 (hex) of the client secret. */
    secretHash: text('secret_hash').notNull(),
    /** Scopes the client may be granted (a subset of the Consumer's `spec.scopes`). */
    scopes: jsonb('scopes').$type<string[]>().notNull(),
    name: text('name'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('oauth_clients_consumer_idx').on(t.consumer)],
);

/** A row of `oauth_clients` as read. */
export type OAuthClientRow = typeof oauthClients.$inferSelect;

/**
 * Keys the gateway signs its access tokens with, one per rotation slot. Every gateway node reads
 * the same rows, so they sign and verify with the same keys; the private key never leaves the
 * database and the gateway processes (no admin endpoint reads this table's private column).
 */
export const oauthSigningKeys = pgTable('oauth_signing_keys', {
  /** JWS `kid`: `tgk_<slot>`, deterministic so nodes racing to create a slot's key agree on one row. */
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  /** Public key as a JWK (published in the JWKS). */
  publicJwk: jsonb('public_jwk').$type<Record<string, unknown>>().notNull(),
  /** PKCS #8 PEM of the private key. */
  privatePem: text('private_pem').notNull(),
  /** When the key starts signing. */
  activeFrom: timestamp('active_from', { withTimezone: true }).notNull(),
  /** When it stops signing (the next key takes over). */
  activeUntil: timestamp('active_until', { withTimezone: true }).notNull(),
  /** When it leaves the JWKS: `activeUntil` plus the longest token lifetime, so no token outlives its key. */
  retireAt: timestamp('retire_at', { withTimezone: true }).notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A row of `oauth_signing_keys` as read. */
export type OAuthSigningKeyRow = typeof oauthSigningKeys.$inferSelect;
