import { sql } from 'drizzle-orm';
import { bigint, check, pgTable, smallint, timestamp } from 'drizzle-orm/pg-core';

/**
 * The single row holding the global config version. Every committed change locks this row
 * (`SELECT … FOR UPDATE`), so applies are serialized and each gets a distinct version.
 * The row is seeded by a migration; the check keeps it single.
 */
export const configState = pgTable(
  'config_state',
  {
    id: smallint('id').primaryKey().default(1),
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('config_state_single_row', sql`${t.id} = 1`)],
);
