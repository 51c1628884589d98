import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Admin-API tokens; only the SHA-256 digest is stored, never the plaintext. */
export const adminTokens = pgTable('admin_tokens', {
  /** Prefixed id, e.g. `atk_…`. */
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  role: text('role').notNull(),
  hash: text('hash').notNull().unique(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/** A row of `admin_tokens` as read. */
export type AdminTokenRow = typeof adminTokens.$inferSelect;
