import { and, gte, inArray, lt, sql } from 'drizzle-orm';
import { usageBatches, usageRollups, type Database } from '@tollgate/db';
import type { UsageRow } from './accumulator.js';

/**
 * Rows per INSERT statement. Each statement binds 19 array parameters (one per column) whatever
 * its row count, so the slice only bounds one statement's size on the wire.
 */
const ROWS_PER_STATEMENT = 500;

/** `usage_rollups` columns in the order the unnest arrays are bound, with their Postgres array types. */
const COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['hour', 'timestamptz'],
  ['period', 'text'],
  ['consumer', 'text'],
  ['subscription', 'text'],
  ['plan', 'text'],
  ['api', 'text'],
  ['api_version', 'text'],
  ['route', 'text'],
  ['status_class', 'text'],
  ['source', 'text'],
  ['billable', 'boolean'],
  ['metric', 'text'],
  ['requests', 'bigint'],
  ['units', 'bigint'],
  ['quota_units', 'bigint'],
  ['bytes_in', 'bigint'],
  ['bytes_out', 'bigint'],
  ['latency_ms_sum', 'double precision'],
  // A 2-D array would flatten in unnest: each histogram travels as its array literal text.
  ['latency_hist', 'text'],
];

const KEY_COLUMNS = 'hour, period, consumer, subscription, plan, api, api_version, route, status_class, source, billable, metric';

/** Sums added to the existing row; the histogram element-wise, in bucket order. */
const ON_CONFLICT = `ON CONFLICT (${KEY_COLUMNS}) DO UPDATE SET
  requests = usage_rollups.requests + excluded.requests,
  units = usage_rollups.units + excluded.units,
  quota_units = usage_rollups.quota_units + excluded.quota_units,
  bytes_in = usage_rollups.bytes_in + excluded.bytes_in,
  bytes_out = usage_rollups.bytes_out + excluded.bytes_out,
  latency_ms_sum = usage_rollups.latency_ms_sum + excluded.latency_ms_sum,
  latency_hist = ARRAY(SELECT COALESCE(t.a, 0) + COALESCE(t.b, 0) FROM unnest(usage_rollups.latency_hist, excluded.latency_hist) WITH ORDINALITY AS t(a, b, i) ORDER BY t.i)`;

/**
 * One multi-row upsert of `rows` as 19 array parameters and `unnest` (a columnar INSERT ...
 * SELECT). Building it is O(rows) plain array pushes: the previous form (one bind parameter per
 * value through the query builder, 19,000 for 1,000 rows) took 300-650 ms of synchronous CPU on
 * the serving thread per 1,000-row flush on the 2-core bench machine, which is what stalled
 * key-auth requests at many consumers (issue #16); this one takes a few ms.
 */
function upsertStatement(rows: readonly UsageRow[]) {
  const cols: unknown[][] = COLUMNS.map(() => new Array<unknown>(rows.length));
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as UsageRow;
    const values = [new Date(r.hour).toISOString(), r.period, r.consumer, r.subscription, r.plan, r.api, r.apiVersion, r.route, r.statusClass, r.source, r.billable, r.metric, r.requests, r.units, r.quotaUnits ?? 0, r.bytesIn, r.bytesOut, r.latencyMsSum, `{${r.latencyHist.join(',')}}`];
    for (let c = 0; c < values.length; c++) (cols[c] as unknown[])[i] = values[c];
  }
  const names = COLUMNS.map(([n]) => n).join(', ');
  const select = COLUMNS.map(([n]) => (n === 'latency_hist' ? 't.latency_hist::bigint[]' : `t.${n}`)).join(', ');
  const arrays = sql.join(
    COLUMNS.map(([, type], c) => sql`${sql.param(cols[c])}::${sql.raw(type)}[]`),
    sql`, `,
  );
  return sql`INSERT INTO usage_rollups (${sql.raw(names)}) SELECT ${sql.raw(select)} FROM unnest(${arrays}) AS t(${sql.raw(names)}) ${sql.raw(ON_CONFLICT)}`;
}

const KEY_TEXT_FIELDS = ['period', 'consumer', 'subscription', 'plan', 'api', 'apiVersion', 'route', 'statusClass', 'source', 'metric'] as const;

/**
 * A total order on the rollup key (`KEY_COLUMNS`). Each node's accumulator lists rows in the order
 * its requests arrived; two nodes whose batches share keys and upsert them in different orders lock
 * those rows crosswise, and Postgres aborts one transaction with a deadlock (40P01), a failed flush
 * retried after a backoff. Sorted first, every transaction takes the row locks in the same order.
 * Any fixed order does; it need not match a Postgres collation.
 */
export function compareRowKeys(a: UsageRow, b: UsageRow): number {
  if (a.hour !== b.hour) return a.hour - b.hour;
  for (const f of KEY_TEXT_FIELDS) {
    const x = a[f];
    const y = b[f];
    if (x !== y) return x < y ? -1 : 1;
  }
  return Number(a.billable) - Number(b.billable);
}

/** A batch of one node: its rows are added to the rollups at most once, whatever the retries. */
export interface UsageBatch {
  readonly nodeId: string;
  readonly seq: number;
  readonly rows: readonly UsageRow[];
  /** Requests in the batch (recorded with the batch row, for audits of the ledger). */
  readonly requests: number;
}

/**
 * Writes a batch in ONE transaction: the `usage_batches` row (node id, seq) first, with
 * `ON CONFLICT DO NOTHING`; only when it was inserted are the rows added to `usage_rollups` by
 * columnar multi-row upserts (see upsertStatement). A retry of a batch whose first attempt committed (the outcome was lost with
 * the connection) therefore adds nothing. `alsoInTx` runs in the same transaction after the rows
 * (only when they were applied). Returns whether the rows were applied now.
 */
export async function writeBatch(db: Database, batch: UsageBatch, alsoInTx?: (tx: Tx) => Promise<unknown>): Promise<'applied' | 'duplicate'> {
  // Every node upserts in the same key order, so their transactions lock shared rows in one order.
  const rows = [...batch.rows].sort(compareRowKeys);
  return db.transaction(async (tx) => {
    const inserted = await tx.insert(usageBatches).values({ nodeId: batch.nodeId, seq: batch.seq, requests: batch.requests }).onConflictDoNothing().returning({ seq: usageBatches.seq });
    if (inserted.length === 0) return 'duplicate';
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      await tx.execute(upsertStatement(rows.slice(i, i + ROWS_PER_STATEMENT)));
    }
    // What must commit with the usage (the quota events it raises), after the rows are added.
    if (alsoInTx !== undefined) await alsoInTx(tx);
    return 'applied';
  });
}

/** A drizzle transaction over either driver. */
export type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/** Live-counter totals of one consumer, period and metric, as re-seeded into Redis. */
export interface LiveTotals {
  consumer: string;
  period: string;
  metric: string;
  requests: number;
  units: number;
  billableRequests: number;
  billableUnits: number;
}

/** Quota usage of one subscription in one period, as re-seeded into Redis. */
export interface QuotaTotals {
  subscription: string;
  period: string;
  units: number;
}

const num = (v: unknown): number => Number(v ?? 0);

/**
 * The usage sums of grouped rollup rows: all requests and units, and the billable ones (what an
 * invoice counts). Shared by the live-counter seed and the admin `GET /usage`, so both count alike.
 * Postgres returns the bigint sums as text.
 */
export function usageSums() {
  return {
    requests: sql<string>`sum(${usageRollups.requests})`,
    units: sql<string>`sum(${usageRollups.units})`,
    billableRequests: sql<string>`sum(CASE WHEN ${usageRollups.billable} THEN ${usageRollups.requests} ELSE 0 END)`,
    billableUnits: sql<string>`sum(CASE WHEN ${usageRollups.billable} THEN ${usageRollups.units} ELSE 0 END)`,
  };
}

/**
 * Totals per consumer, period and metric of every period that has rows since `since` (a period's
 * sum covers all of its rows, also those before `since`). Anonymous usage (consumer '') is left out.
 */
export async function liveTotals(db: Database | Tx, since: Date): Promise<LiveTotals[]> {
  const recent = db.selectDistinct({ period: usageRollups.period }).from(usageRollups).where(gte(usageRollups.hour, since));
  const rows = await db
    .select({
      consumer: usageRollups.consumer,
      period: usageRollups.period,
      metric: usageRollups.metric,
      ...usageSums(),
    })
    .from(usageRollups)
    .where(and(inArray(usageRollups.period, recent), sql`${usageRollups.consumer} <> ''`))
    .groupBy(usageRollups.consumer, usageRollups.period, usageRollups.metric);
  return rows.map((r) => ({ consumer: r.consumer, period: r.period, metric: r.metric, requests: num(r.requests), units: num(r.units), billableRequests: num(r.billableRequests), billableUnits: num(r.billableUnits) }));
}

/**
 * What the subscription limiter counted: the quota units (`quota_units`: units of requests that
 * passed the plan's limiter, whether Redis or a node decided) under each subscription in the period.
 */
export async function quotaTotals(db: Database | Tx, periods: readonly string[]): Promise<QuotaTotals[]> {
  if (periods.length === 0) return [];
  const rows = await db
    .select({ subscription: usageRollups.subscription, period: usageRollups.period, units: sql<string>`sum(${usageRollups.quotaUnits})` })
    .from(usageRollups)
    .where(and(inArray(usageRollups.period, [...periods]), sql`${usageRollups.subscription} <> ''`))
    .groupBy(usageRollups.subscription, usageRollups.period);
  return rows.map((r) => ({ subscription: r.subscription, period: r.period, units: num(r.units) }));
}

/**
 * The same count for one subscription over [from, to) by hour, for a quota whose time zone is not
 * the plan's billing time zone (then the rollup period is not the quota's month). Exact for zones
 * with whole-hour offsets; for others (Asia/Kolkata) the hour holding the boundary is counted in
 * the month it starts in.
 */
export async function quotaUnitsBetween(db: Database | Tx, subscription: string, from: number, to: number): Promise<number> {
  const rows = await db
    .select({ units: sql<string>`coalesce(sum(${usageRollups.quotaUnits}), 0)` })
    .from(usageRollups)
    .where(and(sql`${usageRollups.subscription} = ${subscription}`, gte(usageRollups.hour, new Date(from)), lt(usageRollups.hour, new Date(to))));
  return num(rows[0]?.units);
}

/**
 * Deletes `usage_batches` rows flushed before `before`. Idempotency needs a batch's row only while
 * its node may still retry it, and a node retries only its one pending batch: rows older than any
 * plausible outage can go (the meter keeps 7 days). Returns how many were deleted.
 */
export async function pruneBatches(db: Database, before: Date): Promise<number> {
  const deleted = await db.delete(usageBatches).where(lt(usageBatches.flushedAt, before)).returning({ seq: usageBatches.seq });
  return deleted.length;
}

/**
 * What a seed of the live and quota counters needs, read from ONE snapshot (repeatable read): the
 * totals, `extra` (the quota sums), and per node the last batch sequence they include (a node's
 * batches commit in order, so every batch up to it is in the totals and none after it).
 */
export async function seedSnapshot<T = undefined>(db: Database, since: Date, extra?: (tx: Tx) => Promise<T>): Promise<{ live: LiveTotals[]; nodes: Array<{ node: string; seq: number }>; extra: T | undefined }> {
  return db.transaction(
    async (tx) => {
      const nodes = await tx.select({ node: usageBatches.nodeId, seq: sql<string>`max(${usageBatches.seq})` }).from(usageBatches).groupBy(usageBatches.nodeId);
      const live = await liveTotals(tx, since);
      const more = extra === undefined ? undefined : await extra(tx);
      return { live, nodes: nodes.map((n) => ({ node: n.node, seq: Number(n.seq) })), extra: more };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
