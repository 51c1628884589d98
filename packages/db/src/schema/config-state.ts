import { sql } from 'drizzle-orm';
import { bigint, check, pgTable, smallint, timestamp } from 'drizzle-orm/pg-core';

/**
 * The single row holding the global config version. Every committed change locks this row
 * (`SELECT … FOR UPDATE`), so applies are serialized and each gets a distinct version.
 * The row is seeded by a migration; the check keeps it single. `change_seq` orders the
 * credential deltas the same way.
 */
export const configState = pgTable(
  'config_state',
  {
    id: smallint('id').primaryKey().default(1),
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    /**
     * Position of the change feed of credentials (API keys): bumped, under the same row lock, by
     * every key create or revoke, which do NOT bump `version` (no route recompile). Gateways
     * resync from it after a missed notification (see docs/architecture.md, "Change feed").
     */
    changeSeq: bigint('change_seq', { mode: 'number' }).notNull().default(0),
    /**
     * The newest feed position whose `resource_changes` rows were pruned (0: none): a reader at an
     * older position cannot be caught up from the log and reloads the whole snapshot instead.
     */
    feedFloor: bigint('feed_floor', { mode: 'number' }).notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('config_state_single_row', sql`${t.id} = 1`)],
);
