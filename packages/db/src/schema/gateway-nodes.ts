import { bigint, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Health of one upstream target as one node sees it at its heartbeat (see TargetHealth in @tollgate/stores). */
export interface TargetHealthRow {
  upstream: string;
  target: string;
  activeHealthy: boolean;
  ejectedUntil: string | null;
  consecutiveErrors: number;
  inflight: number;
  maxInflight: number;
}

/**
 * Gateway processes that share this database, each refreshing its row on a heartbeat, so
 * `/status` and `GET /nodes` can say which nodes run and which configuration each serves
 * (as Kong's clustering status does). A row whose heartbeat is old is a node that went away.
 */
export const gatewayNodes = pgTable(
  'gateway_nodes',
  {
    /** `hostname:pid` or the configured NODE_ID. */
    nodeId: text('node_id').primaryKey(),
    hostname: text('hostname').notNull(),
    pid: integer('pid').notNull(),
    /** Tollgate version the node runs. */
    version: text('version').notNull(),
    /** Configuration version the node serves (null before its first snapshot). */
    configVersion: bigint('config_version', { mode: 'number' }),
    configHash: text('config_hash'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
    /** Set when the node shut down cleanly. */
    stoppedAt: timestamp('stopped_at', { withTimezone: true }),
    /** Health of the node's upstream targets at its last heartbeat (null: not reported, an older node). */
    targets: jsonb('targets').$type<TargetHealthRow[]>(),
  },
  (t) => [index('gateway_nodes_last_seen_idx').on(t.lastSeenAt)],
);

export type GatewayNodeRow = typeof gatewayNodes.$inferSelect;
