import { createHash, randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { billingRuns, usageRollups, writeEvents, type Database } from '@tollgate/db';
import { outboxEvent, type BillingSpec, type ChargeModel, type ConsumerResource, type PlanResource, type Resource, type SubscriptionResource } from '@tollgate/model';
import { roundHalfUp, toSafeNumber } from './money.js';
import { chargeModelName, describeParts, priceRange, uniformUnitPrice, type ChargeModelName } from './pricing.js';
import { allocateIncluded, prorateFee, prorateUnits, shareOf, type Share } from './proration.js';
import { monthBounds, parseMonth, rfc3339 } from './time.js';

/** One row of `usage_rollups` as the report reads it (billable rows of the month only). */
export interface SourceRow {
  hour: Date;
  consumer: string;
  subscription: string;
  plan: string;
  api: string;
  apiVersion: string;
  route: string;
  statusClass: string;
  source: string;
  metric: string;
  requests: number;
  units: number;
}

/** One line of a billing report. */
export interface ReportLine {
  /** `usage`: units of one metric on one API; `base_fee`: a subscription's (prorated) monthly fee. */
  type: 'usage' | 'base_fee';
  /** Start (inclusive) of the plan's billing month, RFC 3339 in UTC. */
  periodStart: string;
  /** End (exclusive) of the plan's billing month, RFC 3339 in UTC. */
  periodEnd: string;
  /** Consumer id (its resource name). */
  consumer: string;
  /** Display name: annotation `tollgate.dev/display-name`, else `spec.metadata.displayName`, else the id. */
  consumerName: string;
  /** The consumer's `spec.customId`, or ''. */
  customId: string;
  plan: string;
  /** Subscription of a base-fee line; '' on usage lines (which may span a plan's subscriptions). */
  subscription: string;
  /** API of a usage line; on a base-fee line the subscription's API ('' = every API). */
  api: string;
  /** Metric of a usage line (`requests` unless a route names another); `base_fee` on base-fee lines. */
  metric: string;
  /** Name of one unit (`request`, or the plan's `metrics.<m>.unit`); `month` on base-fee lines. */
  unit: string;
  quantity: number;
  includedQuantity: number;
  billableQuantity: number;
  chargeModel: ChargeModelName | 'base_fee';
  /** Price of one unit in minor units (decimal string) when all the line's units share it; '' otherwise (see detail). */
  unitPrice: string;
  /** Amount in minor units of `currency`, rounded half up once for the line. */
  amount: number;
  currency: string;
  /** Requests (events) behind the line's units. */
  events: number;
  /** How the amount came about: tiers, packages, or the prorated share of the month. */
  detail: string;
}

/** What a consumer owes in one currency: the sum of its lines' amounts. */
export interface ConsumerTotal {
  consumer: string;
  consumerName: string;
  customId: string;
  currency: string;
  amount: number;
  lines: number;
}

/** Billable usage that could not be priced (no plan, or a plan without `billing`, or a plan since deleted). */
export interface UnpricedUsage {
  consumer: string;
  plan: string;
  metric: string;
  units: number;
  events: number;
  reason: 'no_plan' | 'plan_not_found' | 'plan_without_billing';
}

/** A billing period of the report: one per distinct plan time zone. */
export interface ReportPeriod {
  timeZone: string;
  start: string;
  end: string;
}

/** A billing report for one month. */
export interface BillingReport {
  /** `rpt_YYYYMM_r<revision>_<random>` for a closed month; `preview_YYYYMM` for an open one. */
  reportId: string;
  month: string;
  /** `final`: the month is closed; `preview`: it is still open and the numbers will change. */
  status: 'final' | 'preview';
  /** 0 for a closed month's first report; n > 0 once its inputs (late usage, or the plans, subscriptions or consumer names) changed n times since. */
  revision: number;
  /** RFC 3339 (UTC) time of the first generation over these rollups. */
  generatedAt: string;
  /** `sha256:` + hex of the source rollup rows in canonical order (see `sourceChecksum`). */
  sourceChecksum: string;
  /** `sha256:` + hex of the configuration the report priced with (see `configChecksum`). */
  configChecksum: string;
  sourceRows: number;
  periods: ReportPeriod[];
  lines: ReportLine[];
  totals: ConsumerTotal[];
  unpriced: UnpricedUsage[];
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The order the checksum reads rows in: every key column, compared by UTF-16 code units (no collation). */
function compareRows(a: SourceRow, b: SourceRow): number {
  return (
    a.hour.getTime() - b.hour.getTime() ||
    byCodeUnits(a.consumer, b.consumer) ||
    byCodeUnits(a.subscription, b.subscription) ||
    byCodeUnits(a.plan, b.plan) ||
    byCodeUnits(a.api, b.api) ||
    byCodeUnits(a.apiVersion, b.apiVersion) ||
    byCodeUnits(a.route, b.route) ||
    byCodeUnits(a.statusClass, b.statusClass) ||
    byCodeUnits(a.source, b.source) ||
    byCodeUnits(a.metric, b.metric)
  );
}

/**
 * SHA-256 over the rows sorted by their key, one JSON array per line
 * (`[hour, consumer, subscription, plan, api, apiVersion, route, statusClass, source, metric, requests, units]`).
 * Independent of the order the database returns rows in and of its collation.
 */
export function sourceChecksum(rows: readonly SourceRow[]): string {
  const hash = createHash('sha256');
  for (const r of [...rows].sort(compareRows)) {
    hash.update(`${JSON.stringify([r.hour.toISOString(), r.consumer, r.subscription, r.plan, r.api, r.apiVersion, r.route, r.statusClass, r.source, r.metric, r.requests, r.units])}\n`);
  }
  return `sha256:${hash.digest('hex')}`;
}

/**
 * SHA-256 over the configuration a report depends on, in a canonical order: the billing block of
 * every plan, every subscription, and every consumer's display name and custom id. A closed month
 * re-run after any of these changed is a revision, like one after late usage.
 */
export function configChecksum(resources: readonly Resource[]): string {
  const parts: unknown[] = [];
  for (const r of resources) {
    if (r.kind === 'Plan' && r.spec.billing) parts.push(['Plan', r.metadata.name, r.spec.billing]);
    else if (r.kind === 'Subscription') parts.push(['Subscription', r.metadata.name, r.spec]);
    else if (r.kind === 'Consumer') parts.push(['Consumer', r.metadata.name, consumerDisplayName(r.metadata.name, r), r.spec.customId ?? '']);
  }
  const lines = parts.map((p) => canonicalJson(p)).sort(byCodeUnits);
  return `sha256:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
}

/** JSON with object keys sorted, so the same value always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => byCodeUnits(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What `billing_runs.source_checksum` holds: the rollups' and the configuration's checksums together. */
export function runChecksum(source: string, config: string): string {
  return `sha256:${createHash('sha256').update(`${source}\n${config}`).digest('hex')}`;
}

/** Display name of a consumer (see ReportLine.consumerName). */
export function consumerDisplayName(name: string, consumer: ConsumerResource | undefined): string {
  const annotated = consumer?.metadata.annotations?.['tollgate.dev/display-name'];
  if (annotated) return annotated;
  const meta = consumer?.spec.metadata?.displayName;
  return meta && meta !== '' ? meta : name;
}

/** The month closes when it has ended in every time zone the report's plans bill in (and in UTC). */
export function closesAt(month: string, resources: readonly Resource[]): Date {
  const zones = new Set(['UTC']);
  for (const r of resources) if (r.kind === 'Plan' && r.spec.billing) zones.add(r.spec.billing.timeZone);
  let latest = 0;
  for (const z of zones) latest = Math.max(latest, monthBounds(month, z).end.getTime());
  return new Date(latest);
}

interface MetricPricing {
  unit: string;
  included: bigint;
  charge: ChargeModel | undefined;
}

function metricPricing(billing: BillingSpec, metric: string): MetricPricing {
  const override = billing.metrics?.[metric];
  return {
    unit: override?.unit ?? (metric === 'requests' ? 'request' : 'unit'),
    included: BigInt(override?.includedUnits ?? billing.includedUnits),
    charge: override?.charge ?? billing.charge,
  };
}

/** Inputs of `computeReport`: everything it needs, read beforehand (so it is pure and testable). */
export interface ReportInput {
  month: string;
  rows: readonly SourceRow[];
  resources: readonly Resource[];
  reportId: string;
  status: 'final' | 'preview';
  revision: number;
  generatedAt: Date;
}

/**
 * Computes the report from rollup rows and configuration.
 *
 * Charge groups are consumer × plan × metric. A group's included units are the sum over the
 * consumer's subscriptions to the plan that overlap the month of the plan's (per-metric) included
 * units prorated to the subscription's active share (rounded down). The group's units past the
 * included ones are priced on their total (tiers see the whole month, not each API alone); lines
 * are one per API in ascending name order, each using up included units first and then taking the
 * next range of the group's billable units (see `priceRange`), its amount rounded half up once.
 */
export function computeReport(input: ReportInput): BillingReport {
  const { month, resources } = input;
  if (!parseMonth(month)) throw new Error(`not a month: ${month}`);
  const plans = new Map<string, PlanResource>();
  const consumers = new Map<string, ConsumerResource>();
  const subscriptions: SubscriptionResource[] = [];
  for (const r of resources) {
    if (r.kind === 'Plan') plans.set(r.metadata.name, r);
    else if (r.kind === 'Consumer') consumers.set(r.metadata.name, r);
    else if (r.kind === 'Subscription') subscriptions.push(r);
  }

  // consumer → plan → metric → api → totals
  type Sum = { units: bigint; events: bigint };
  const usage = new Map<string, Map<string, Map<string, Map<string, Sum>>>>();
  const unpriced = new Map<string, UnpricedUsage>();
  for (const row of input.rows) {
    const plan = plans.get(row.plan);
    if (!plan?.spec.billing) {
      const reason = row.plan === '' ? 'no_plan' : plan ? 'plan_without_billing' : 'plan_not_found';
      const key = `${row.consumer}\u0000${row.plan}\u0000${row.metric}`;
      const u = unpriced.get(key) ?? { consumer: row.consumer, plan: row.plan, metric: row.metric, units: 0, events: 0, reason };
      u.units += row.units;
      u.events += row.requests;
      unpriced.set(key, u);
      continue;
    }
    const byPlan = usage.get(row.consumer) ?? new Map<string, Map<string, Map<string, Sum>>>();
    usage.set(row.consumer, byPlan);
    const byMetric = byPlan.get(row.plan) ?? new Map<string, Map<string, Sum>>();
    byPlan.set(row.plan, byMetric);
    const byApi = byMetric.get(row.metric) ?? new Map<string, Sum>();
    byMetric.set(row.metric, byApi);
    const sum = byApi.get(row.api) ?? { units: 0n, events: 0n };
    sum.units += BigInt(row.units);
    sum.events += BigInt(row.requests);
    byApi.set(row.api, sum);
  }

  // Subscriptions that overlap the month in their plan's time zone also bring consumer × plan groups (base fees).
  const activeSubs = new Map<string, Array<{ sub: SubscriptionResource; share: Share }>>(); // `${consumer}\0${plan}` → subscriptions
  for (const s of subscriptions) {
    const billing = plans.get(s.spec.plan)?.spec.billing;
    if (!billing) continue;
    const { start, end } = monthBounds(month, billing.timeZone);
    const share = shareOf({ start: new Date(s.spec.start), ...(s.spec.end ? { end: new Date(s.spec.end) } : {}) }, start, end);
    if (share.active === 0n) continue;
    const key = `${s.spec.consumer}\u0000${s.spec.plan}`;
    const list = activeSubs.get(key);
    if (list) list.push({ sub: s, share });
    else activeSubs.set(key, [{ sub: s, share }]);
    const byPlan = usage.get(s.spec.consumer) ?? new Map();
    usage.set(s.spec.consumer, byPlan);
    if (!byPlan.has(s.spec.plan)) byPlan.set(s.spec.plan, new Map());
  }

  const lines: ReportLine[] = [];
  const periods = new Map<string, ReportPeriod>();
  for (const consumerName of [...usage.keys()].sort(byCodeUnits)) {
    const consumer = consumers.get(consumerName);
    const who = { consumer: consumerName, consumerName: consumerDisplayName(consumerName, consumer), customId: consumer?.spec.customId ?? '' };
    const byPlan = usage.get(consumerName) as Map<string, Map<string, Map<string, Sum>>>;
    for (const planName of [...byPlan.keys()].sort(byCodeUnits)) {
      const billing = plans.get(planName)?.spec.billing as BillingSpec;
      const { start, end } = monthBounds(month, billing.timeZone);
      const period = { periodStart: rfc3339(start), periodEnd: rfc3339(end) };
      periods.set(billing.timeZone, { timeZone: billing.timeZone, start: period.periodStart, end: period.periodEnd });
      const shares = (activeSubs.get(`${consumerName}\u0000${planName}`) ?? []).sort((a, b) => byCodeUnits(a.sub.metadata.name, b.sub.metadata.name));

      for (const { sub, share } of shares) {
        const fee = BigInt(billing.baseFee);
        if (fee === 0n) continue;
        const amount = prorateFee(fee, share);
        const whole = share.active >= share.period;
        lines.push({
          type: 'base_fee',
          ...period,
          ...who,
          plan: planName,
          subscription: sub.metadata.name,
          api: sub.spec.api ?? '',
          metric: 'base_fee',
          unit: 'month',
          quantity: 1,
          includedQuantity: 0,
          billableQuantity: 1,
          chargeModel: 'base_fee',
          unitPrice: fee.toString(),
          amount: toSafeNumber(amount),
          currency: billing.currency,
          events: 0,
          detail: whole ? 'whole month' : `prorated: active ${share.active / 1000n} s of ${share.period / 1000n} s (${rfc3339(new Date(Math.max(Date.parse(sub.spec.start), start.getTime())))} to ${rfc3339(new Date(Math.min(sub.spec.end ? Date.parse(sub.spec.end) : Number.POSITIVE_INFINITY, end.getTime())))})`,
        });
      }

      const byMetric = byPlan.get(planName) as Map<string, Map<string, Sum>>;
      for (const metric of [...byMetric.keys()].sort(byCodeUnits)) {
        const pricing = metricPricing(billing, metric);
        const included = shares.reduce((a, { share }) => a + prorateUnits(pricing.included, share), 0n);
        const byApi = byMetric.get(metric) as Map<string, Sum>;
        const apis = [...byApi.keys()].sort(byCodeUnits);
        const quantities = apis.map((a) => (byApi.get(a) as Sum).units);
        const includedPerLine = allocateIncluded(included, quantities);
        const billableTotal = quantities.reduce((a, q, i) => a + q - (includedPerLine[i] as bigint), 0n);
        let from = 0n;
        apis.forEach((api, i) => {
          const sum = byApi.get(api) as Sum;
          const inc = includedPerLine[i] as bigint;
          const billable = sum.units - inc;
          const range = priceRange(pricing.charge, billableTotal, from, from + billable);
          from += billable;
          const model = chargeModelName(pricing.charge);
          const parts = describeParts(range);
          lines.push({
            type: 'usage',
            ...period,
            ...who,
            plan: planName,
            subscription: '',
            api,
            metric,
            unit: pricing.unit,
            quantity: toSafeNumber(sum.units),
            includedQuantity: toSafeNumber(inc),
            billableQuantity: toSafeNumber(billable),
            chargeModel: model,
            unitPrice: uniformUnitPrice(pricing.charge, range) ?? '',
            amount: toSafeNumber(roundHalfUp(range.amount)),
            currency: billing.currency,
            events: toSafeNumber(sum.events),
            detail: [`${inc} of ${included} included`, ...(parts !== '' ? [parts] : []), ...(model !== 'free' && model !== 'perUnit' ? [`${model} on ${billableTotal} billable in the month`] : [])].join('; '),
          });
        });
      }
    }
  }

  const totals = new Map<string, ConsumerTotal>();
  for (const l of lines) {
    const key = `${l.consumer}\u0000${l.currency}`;
    const t = totals.get(key) ?? { consumer: l.consumer, consumerName: l.consumerName, customId: l.customId, currency: l.currency, amount: 0, lines: 0 };
    t.amount = toSafeNumber(BigInt(t.amount) + BigInt(l.amount));
    t.lines += 1;
    totals.set(key, t);
  }
  const sortedUnpriced = [...unpriced.values()].sort((a, b) => byCodeUnits(a.consumer, b.consumer) || byCodeUnits(a.plan, b.plan) || byCodeUnits(a.metric, b.metric));
  return {
    reportId: input.reportId,
    month,
    status: input.status,
    revision: input.revision,
    generatedAt: rfc3339(input.generatedAt),
    sourceChecksum: sourceChecksum(input.rows),
    configChecksum: configChecksum(resources),
    sourceRows: input.rows.length,
    periods: [...periods.values()].sort((a, b) => byCodeUnits(a.timeZone, b.timeZone)),
    lines,
    totals: [...totals.values()].sort((a, b) => byCodeUnits(a.consumer, b.consumer) || byCodeUnits(a.currency, b.currency)),
    unpriced: sortedUnpriced,
  };
}

/**
 * The report narrowed to one consumer (its lines, totals and unpriced usage), for a single
 * customer's invoice. Id, time, status and checksums stay those of the whole month's report.
 */
export function forConsumer(report: BillingReport, consumer: string): BillingReport {
  return {
    ...report,
    lines: report.lines.filter((l) => l.consumer === consumer),
    totals: report.totals.filter((t) => t.consumer === consumer),
    unpriced: report.unpriced.filter((u) => u.consumer === consumer),
  };
}

/** Reads the billable rollup rows of a billing month. */
export async function readSourceRows(db: Database, month: string): Promise<SourceRow[]> {
  const rows = await db
    .select({
      hour: usageRollups.hour,
      consumer: usageRollups.consumer,
      subscription: usageRollups.subscription,
      plan: usageRollups.plan,
      api: usageRollups.api,
      apiVersion: usageRollups.apiVersion,
      route: usageRollups.route,
      statusClass: usageRollups.statusClass,
      source: usageRollups.source,
      metric: usageRollups.metric,
      requests: usageRollups.requests,
      units: usageRollups.units,
    })
    .from(usageRollups)
    .where(and(eq(usageRollups.period, month), eq(usageRollups.billable, true)));
  return rows.map((r) => ({ ...r, requests: Number(r.requests), units: Number(r.units) })).sort(compareRows);
}

/** The revision number a report id carries (`rpt_202611_r2_…` → 2). */
export function revisionOf(reportId: string): number {
  const m = /_r(\d+)_/.exec(reportId);
  return m ? Number(m[1]) : 0;
}

function newReportId(month: string, revision: number): string {
  return `rpt_${month.replace('-', '')}_r${revision}_${randomBytes(6).toString('hex')}`;
}

/** The `billing_runs` record of a closed month's report (created, reused or revised). */
export interface BillingRun {
  month: string;
  reportId: string;
  generatedAt: Date;
  sourceChecksum: string;
  exportedAt: Date | null;
}

/**
 * Finds or records the report identity of a closed month. The first generation inserts the run;
 * a later one over the same rollups and configuration (same `runChecksum`) reuses its id and
 * time (so the output is byte-identical); one over changed inputs (usage that landed after the
 * first report, or a changed plan, subscription or consumer name) records a new revision: a new id with the revision number incremented, the new time and checksum, and
 * clears `exported_at` so the scheduled export writes the revised files.
 */
export async function recordRun(db: Database, month: string, checksum: string, now: Date): Promise<BillingRun> {
  for (let attempt = 0; attempt < 5; attempt++) {
    // The `billing.report_ready` event commits with the run it announces (first generation or revision).
    const inserted = await db.transaction(async (tx) => {
      const rows = await tx.insert(billingRuns).values({ month, reportId: newReportId(month, 0), generatedAt: now, sourceChecksum: checksum }).onConflictDoNothing().returning();
      if (rows[0]) await writeEvents(tx, [reportReady(rows[0])]);
      return rows;
    });
    if (inserted[0]) return inserted[0];
    const existing = (await db.select().from(billingRuns).where(eq(billingRuns.month, month)))[0];
    if (!existing) continue;
    if (existing.sourceChecksum === checksum) return existing;
    const revised = await db.transaction(async (tx) => {
      const rows = await tx
        .update(billingRuns)
        .set({ reportId: newReportId(month, revisionOf(existing.reportId) + 1), generatedAt: now, sourceChecksum: checksum, exportedAt: null, exportDir: null })
        .where(and(eq(billingRuns.month, month), eq(billingRuns.sourceChecksum, existing.sourceChecksum)))
        .returning();
      if (rows[0]) await writeEvents(tx, [reportReady(rows[0])]);
      return rows;
    });
    if (revised[0]) return revised[0];
    // Another process revised it at the same moment: read again.
  }
  throw new Error(`could not record the billing run of ${month}`);
}

/** The `billing.report_ready` event of a recorded run (deduplicated by report id). */
function reportReady(run: { month: string; reportId: string; generatedAt: Date }) {
  return outboxEvent('billing.report_ready', { month: run.month, reportId: run.reportId, generatedAt: run.generatedAt.toISOString() }, `billing.report_ready:${run.reportId}`);
}

/** Options of `generateReport`. */
export interface GenerateOptions {
  /** The current time (injectable for tests); default now. */
  now?: Date;
}

/**
 * Builds the report of `month` from the rollups in `db` and the configuration `resources`. An open
 * month (not yet ended in every plan time zone) gives a `preview`, recorded nowhere; a closed one
 * is recorded in `billing_runs` (see `recordRun`).
 */
export async function generateReport(db: Database, resources: readonly Resource[], month: string, options: GenerateOptions = {}): Promise<BillingReport> {
  if (!parseMonth(month)) throw new Error(`not a month: ${month}`);
  const now = options.now ?? new Date();
  const rows = await readSourceRows(db, month);
  const checksum = runChecksum(sourceChecksum(rows), configChecksum(resources));
  if (now.getTime() < closesAt(month, resources).getTime()) {
    return computeReport({ month, rows, resources, reportId: `preview_${month.replace('-', '')}`, status: 'preview', revision: 0, generatedAt: now });
  }
  const run = await recordRun(db, month, checksum, now);
  return computeReport({ month, rows, resources, reportId: run.reportId, status: 'final', revision: revisionOf(run.reportId), generatedAt: run.generatedAt });
}
