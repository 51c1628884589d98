import { bigint, index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * API keys issued through the admin API. Only the SHA-256 digest of a key is stored; `prefix`
 * and `last4` are the displayable parts an operator uses to tell keys apart. A revoked key keeps
 * its row (with `revoked_at`) so listings and the audit log can still name it.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    /** Prefixed id, e.g. `key_…`. */
    id: text('id').primaryKey(),
    /** Name of the Consumer resource the key authenticates as. */
    consumer: text('consumer').notNull(),
    hash: text('hash').notNull().unique(),
    prefix: text('prefix').notNull(),
    last4: text('last4').notNull(),
    name: text('name'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /**
     * `config_state.change_seq` of the last change to this row (create, revoke). A gateway that
     * has applied the feed up to S reads `change_seq > S` to catch up: revoked rows stay, so a
     * revocation is never missed.
     */
    changeSeq: bigint('change_seq', { mode: 'number' }).notNull().default(0),
  },
  // Listing one consumer's keys; snapshots read every active key anyway (a full scan); catching
  // up on the change feed reads the few rows past a position.
  (t) => [index('api_keys_consumer_idx').on(t.consumer), index('api_keys_change_seq_idx').on(t.changeSeq)],
);

/** A row of `api_keys` as read. */
export type ApiKeyRow = typeof apiKeys.$inferSelect;
