import { sql } from 'drizzle-orm';
import { writeEvents } from '@tollgate/db';
import { DEFAULT_QUOTA_ALERT_THRESHOLDS, outboxEvent, type OutboxEvent, type PlanSpec } from '@tollgate/model';
import type { UsageRow } from './accumulator.js';
import { quotaTotals, quotaUnitsBetween, type Tx } from './rollups.js';

/** A subscription's quota in its current period, as the flush checks it. */
export interface QuotaPeriod {
  readonly consumer: string;
  readonly plan: string;
  readonly spec: PlanSpec;
  /** `YYYY-MM` of the quota's time zone, and its bounds (ms). */
  readonly key: string;
  readonly start: number;
  readonly end: number;
  /** Whether the rollups' `period` column is this same month (the plan bills in the quota's zone). */
  readonly sameZone: boolean;
}

/** The subscriptions of a batch that charged quota units (only those can have crossed a threshold). */
export function chargedSubscriptions(rows: readonly UsageRow[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rows) if (r.quotaUnits > 0 && r.subscription !== '') out.set(r.subscription, r.consumer);
  return out;
}

/**
 * Raises `quota.threshold` and `quota.exhausted` inside the usage batch's transaction, from the
 * rolled-up totals (so every node's committed usage counts, not only this node's). Level-triggered
 * and deduplicated: an event is written whenever the total is past a threshold, and its dedupe key
 * (`quota.threshold:{subscription}:{period}:{percent}`) keeps it to one row however many nodes and
 * flushes see it. A transaction-scoped advisory lock per subscription serializes the check across
 * nodes, so two batches that only together cross a threshold are not both blind to the other (the
 * second one reads after the first committed). Returns the events this call wrote.
 */
export async function raiseQuotaEvents(tx: Tx, subscriptions: ReadonlyMap<string, QuotaPeriod>): Promise<OutboxEvent[]> {
  if (subscriptions.size === 0) return [];
  const names = [...subscriptions.keys()].sort();
  // Sorted, so two flushes locking several subscriptions never deadlock.
  for (const s of names) await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`tollgate.quota:${s}`}))`);
  const same = names.filter((s) => subscriptions.get(s)?.sameZone === true);
  const totals = await quotaTotals(tx, [...new Set(same.map((s) => (subscriptions.get(s) as QuotaPeriod).key))]);
  const used = new Map<string, number>();
  for (const t of totals) if (subscriptions.get(t.subscription)?.key === t.period) used.set(t.subscription, t.units);
  const events: OutboxEvent[] = [];
  for (const s of names) {
    const q = subscriptions.get(s) as QuotaPeriod;
    const quota = q.spec.quota;
    if (quota === undefined) continue;
    const n = q.sameZone ? (used.get(s) ?? 0) : await quotaUnitsBetween(tx, s, q.start - (q.start % 3_600_000), q.end);
    const base = { consumer: q.consumer, subscription: s, plan: q.plan, period: q.key, used: n, limit: quota.limit };
    for (const percent of quota.alertThresholds ?? DEFAULT_QUOTA_ALERT_THRESHOLDS) {
      // Integer comparison: used/limit >= percent/100 without floating point.
      if (n * 100 >= percent * quota.limit) events.push(outboxEvent('quota.threshold', { ...base, percent }, `quota.threshold:${s}:${q.key}:${percent}`));
    }
    if (n >= quota.limit) events.push(outboxEvent('quota.exhausted', base, `quota.exhausted:${s}:${q.key}`));
  }
  const written = new Set(await writeEvents(tx, events));
  return events.filter((e) => written.has(e.id));
}
