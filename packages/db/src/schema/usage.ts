import { bigint, boolean, doublePrecision, index, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * Usage rolled up per UTC hour and per every dimension billing and analytics group by. Gateways
 * add to these rows in idempotent batches (see `usage_batches`); reports and analytics read only
 * here, never Redis. Dimensions that do not apply hold '' rather than NULL so the unique key
 * (and `ON CONFLICT`) treats them as equal.
 */
export const usageRollups = pgTable(
  'usage_rollups',
  {
    /** Start of the UTC hour the requests were answered in. */
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    /** Billing month (`YYYY-MM`) in the plan's time zone at the request's instant; UTC month without a plan. */
    period: text('period').notNull(),
    consumer: text('consumer').notNull(),
    subscription: text('subscription').notNull(),
    plan: text('plan').notNull(),
    api: text('api').notNull(),
    apiVersion: text('api_version').notNull(),
    route: text('route').notNull(),
    /** `1xx` … `5xx`. */
    statusClass: text('status_class').notNull(),
    /** Who produced the status: `upstream` or `gateway`. */
    source: text('source').notNull(),
    /** Whether these requests count towards the invoice under the plan's billable rule. */
    billable: boolean('billable').notNull(),
    /** Billing metric the units are of (`requests` unless a route names another). */
    metric: text('metric').notNull(),
    requests: bigint('requests', { mode: 'number' }).notNull(),
    /** Billable units (a route may weigh a request as several). */
    units: bigint('units', { mode: 'number' }).notNull(),
    /**
     * Units charged to the subscription's monthly quota: those of requests that passed the plan's
     * limiter (its own 429 and 503 refusals charge nothing). What a re-seed of the Redis quota
     * counters sums, so that it equals what the limiter counted.
     */
    quotaUnits: bigint('quota_units', { mode: 'number' }).notNull().default(0),
    bytesIn: bigint('bytes_in', { mode: 'number' }).notNull(),
    bytesOut: bigint('bytes_out', { mode: 'number' }).notNull(),
    /** Sum of total latencies in ms (means); percentiles come from `latency_hist`. */
    latencyMsSum: doublePrecision('latency_ms_sum').notNull(),
    /** Counts per fixed latency bucket (bounds defined in @tollgate/metering), added element-wise. */
    latencyHist: bigint('latency_hist', { mode: 'number' }).array().notNull(),
  },
  (t) => [
    uniqueIndex('usage_rollups_key').on(t.hour, t.period, t.consumer, t.subscription, t.plan, t.api, t.apiVersion, t.route, t.statusClass, t.source, t.billable, t.metric),
    index('usage_rollups_period_idx').on(t.period, t.consumer),
    index('usage_rollups_hour_idx').on(t.hour),
  ],
);

/**
 * Flushed batches, keyed by node and sequence: a batch's rollup additions commit in the same
 * transaction as its row here, so a retried flush (whose first attempt did commit) adds nothing.
 */
export const usageBatches = pgTable(
  'usage_batches',
  {
    nodeId: text('node_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    requests: bigint('requests', { mode: 'number' }).notNull(),
    flushedAt: timestamp('flushed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.nodeId, t.seq] })],
);

/**
 * One row per generated closed-month billing report: the first generation fixes the report id
 * and time, so a re-run over unchanged rollups is byte-identical; `exported_at` makes the
 * scheduled export happen once per month across nodes.
 */
export const billingRuns = pgTable('billing_runs', {
  /** `YYYY-MM`. */
  month: text('month').primaryKey(),
  reportId: text('report_id').notNull(),
  generatedAt: timestamp('generated_at', { withTimezone: true }).notNull(),
  /** SHA-256 over the report's inputs: its source rollups' checksum and its configuration's (see @tollgate/billing `runChecksum`). */
  sourceChecksum: text('source_checksum').notNull(),
  exportedAt: timestamp('exported_at', { withTimezone: true }),
  exportDir: text('export_dir'),
});

export type UsageRollupRow = typeof usageRollups.$inferSelect;
export type BillingRunRow = typeof billingRuns.$inferSelect;
