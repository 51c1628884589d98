import { and, gte, inArray, lt, sql } from 'drizzle-orm';
import { usageBatches, usageRollups, type Database } from '@tollgate/db';
import type { UsageRow } from './accumulator.js';

/** Rows per INSERT statement: 18 parameters each stays far below Postgres's 65535 per statement. */
const ROWS_PER_STATEMENT = 1_000;

/** Key columns of `usage_rollups` (its unique index `usage_rollups_key`), the ON CONFLICT target. */
const KEY = [usageRollups.hour, usageRollups.period, usageRollups.consumer, usageRollups.subscription, usageRollups.plan, usageRollups.api, usageRollups.apiVersion, usageRollups.route, usageRollups.statusClass, usageRollups.source, usageRollups.billable, usageRollups.metric];

/** Sums added to the existing row; the histogram element-wise, in bucket order. */
const ADD = {
  requests: sql.raw('"usage_rollups"."requests" + excluded."requests"'),
  units: sql.raw('"usage_rollups"."units" + excluded."units"'),
  quotaUnits: sql.raw('"usage_rollups"."quota_units" + excluded."quota_units"'),
  bytesIn: sql.raw('"usage_rollups"."bytes_in" + excluded."bytes_in"'),
  bytesOut: sql.raw('"usage_rollups"."bytes_out" + excluded."bytes_out"'),
  latencyMsSum: sql.raw('"usage_rollups"."latency_ms_sum" + excluded."latency_ms_sum"'),
  latencyHist: sql.raw('ARRAY(SELECT COALESCE(t.a, 0) + COALESCE(t.b, 0) FROM unnest("usage_rollups"."latency_hist", excluded."latency_hist") WITH ORDINALITY AS t(a, b, i) ORDER BY t.i)'),
};

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
 * multi-row upserts. A retry of a batch whose first attempt committed (the outcome was lost with
 * the connection) therefore adds nothing. `alsoInTx` runs in the same transaction after the rows
 * (only when they were applied). Returns whether the rows were applied now.
 */
export async function writeBatch(db: Database, batch: UsageBatch, alsoInTx?: (tx: Tx) => Promise<unknown>): Promise<'applied' | 'duplicate'> {
  return db.transaction(async (tx) => {
    const inserted = await tx.insert(usageBatches).values({ nodeId: batch.nodeId, seq: batch.seq, requests: batch.requests }).onConflictDoNothing().returning({ seq: usageBatches.seq });
    if (inserted.length === 0) return 'duplicate';
    for (let i = 0; i < batch.rows.length; i += ROWS_PER_STATEMENT) {
      const values = batch.rows.slice(i, i + ROWS_PER_STATEMENT).map((r) => ({
        hour: new Date(r.hour),
        period: r.period,
        consumer: r.consumer,
        subscription: r.subscription,
        plan: r.plan,
        api: r.api,
        apiVersion: r.apiVersion,
        route: r.route,
        statusClass: r.statusClass,
        source: r.source,
        billable: r.billable,
        metric: r.metric,
        requests: r.requests,
        units: r.units,
        quotaUnits: r.quotaUnits,
        bytesIn: r.bytesIn,
        bytesOut: r.bytesOut,
        latencyMsSum: r.latencyMsSum,
        latencyHist: r.latencyHist,
      }));
      await tx.insert(usageRollups).values(values).onConflictDoUpdate({ target: KEY, set: ADD });
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
