import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Signed-in browser sessions of the admin console and the developer portal, shared by every admin
 * process on this database: a restart or a second admin replica behind the same address keeps them.
 * The key is the SHA-256 of the session id; the id itself (the cookie's value) is never stored,
 * nor the credential it was signed in with (only its SHA-256, already what `admin_tokens` holds).
 */
export const browserSessions = pgTable(
  'browser_sessions',
  {
    /** SHA-256 (hex) of the session id. */
    hash: text('hash').primaryKey(),
    /** `console` or `portal`: a session of one is never accepted by the other. */
    realm: text('realm').notNull(),
    /** Console: SHA-256 of the admin token. Portal: SHA-256 of the account's password digest. */
    tokenHash: text('token_hash').notNull(),
    /** The admin token's or the portal account's id. */
    tokenId: text('token_id').notNull(),
    /** The CSRF token cookie-authenticated changes must echo (returned to the browser, so kept as is). */
    csrf: text('csrf').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    /** Last use, written only when it moved by more than a small step (see ConsoleSessions). */
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
  },
  // Eviction of the oldest (created_at) and the sweep of idle ones (last_seen_at), per realm; a
  // sign-in counts and ends its owner's oldest by (realm, token_id, created_at).
  (t) => [
    index('browser_sessions_realm_created_idx').on(t.realm, t.createdAt),
    index('browser_sessions_realm_seen_idx').on(t.realm, t.lastSeenAt),
    index('browser_sessions_realm_owner_created_idx').on(t.realm, t.tokenId, t.createdAt),
  ],
);

export type BrowserSessionRow = typeof browserSessions.$inferSelect;
