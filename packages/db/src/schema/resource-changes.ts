import { bigint, index, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The change feed's log of Consumers and Subscriptions: one row per resource changed (created,
 * updated or deleted) at a feed position (`config_state.change_seq`). Those two kinds are not
 * compiled into routes, so a change to them alone does not bump the config version: a gateway
 * reads the rows past its position, then the named resources' current state (a name with no
 * resource row was deleted), and updates its consumer and subscription indexes in place. A
 * deletion leaves no resource row to stamp, which is why the feed is a log here rather than a
 * column as on `api_keys`.
 */
export const resourceChanges = pgTable(
  'resource_changes',
  {
    seq: bigint('seq', { mode: 'number' }).notNull(),
    kind: text('kind').notNull(),
    name: text('name').notNull(),
    /** When the change was logged: rows older than the feed retention are pruned (config_state.feed_floor). */
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  // Leading with `seq`: catching up reads the few rows past a position; `at` finds what to prune.
  (t) => [primaryKey({ columns: [t.seq, t.kind, t.name] }), index('resource_changes_at_idx').on(t.at)],
);
