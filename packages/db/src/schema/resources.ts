import { bigint, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Operator resources (Kubernetes-style documents), one row per `kind/name`. `metadata` and `spec`
 * are stored as given after validation; `version` is the config version at the row's last change.
 */
export const resources = pgTable(
  'resources',
  {
    kind: text('kind').notNull(),
    name: text('name').notNull(),
    apiVersion: text('api_version').notNull(),
    metadata: jsonb('metadata').notNull(),
    spec: jsonb('spec').notNull(),
    // mode 'number': versions are counters far below 2^53.
    version: bigint('version', { mode: 'number' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  // The primary key (kind, name) also serves keyset pagination by name within a kind.
  (t) => [primaryKey({ columns: [t.kind, t.name] })],
);

/** A row of `resources` as read. */
export type ResourceRow = typeof resources.$inferSelect;
