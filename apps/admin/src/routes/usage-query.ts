import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { and, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import { usageRollups, type Database } from '@tollgate/db';
import { resourceName } from '@tollgate/model';
import { usageSums } from '@tollgate/metering';
import { ProblemError } from '../problem.js';
import { errorResponses, problemSchema } from '../schemas.js';

export const GRANULARITIES = ['hour', 'day', 'month'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

const DAY_MS = 86_400_000;

/** Longest range per granularity, so one query never returns an unbounded number of buckets. */
export const MAX_RANGE_MS: Readonly<Record<Granularity, number>> = { hour: 31 * DAY_MS, day: 1_100 * DAY_MS, month: 3_660 * DAY_MS };

/** `from` / `to` query parameters shared by /usage and /analytics/requests. */
export const rangeFields = {
  from: z.iso.datetime({ offset: true }).optional().describe('Start (inclusive), RFC 3339. Rollups are hourly: an hour counts when its start is in [from, to). Default: the start of the current UTC month.'),
  to: z.iso.datetime({ offset: true }).optional().describe('End (exclusive), RFC 3339. Default: now.'),
  granularity: z.enum(GRANULARITIES).default('day').describe('Bucket size: hour, day (UTC days) or month.'),
};

/** Resolves and checks the range: from < to and not more buckets than {@link MAX_RANGE_MS} allows. */
export function resolveRange(q: { from?: string | undefined; to?: string | undefined; granularity: Granularity }, now = Date.now()): { from: Date; to: Date } {
  const to = q.to !== undefined ? new Date(q.to) : new Date(now);
  const d = new Date(now);
  const from = q.from !== undefined ? new Date(q.from) : new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  if (from.getTime() >= to.getTime()) throw new ProblemError('INVALID_REQUEST', '"from" must be before "to"', { errors: [{ path: 'querystring.from', code: 'invalid_range', message: 'must be before "to"' }] });
  if (to.getTime() - from.getTime() > MAX_RANGE_MS[q.granularity]) {
    const days = Math.round(MAX_RANGE_MS[q.granularity] / DAY_MS);
    throw new ProblemError('INVALID_REQUEST', `a range of at most ${days} days with granularity ${q.granularity}; use a coarser granularity`, { errors: [{ path: 'querystring.to', code: 'range_too_long', message: `at most ${days} days with granularity ${q.granularity}` }] });
  }
  return { from, to };
}

/** The rollup rows of the range (hours starting in [from, to)), narrowed to one API and/or consumer when given. */
export function rollupFilter(range: { from: Date; to: Date }, q: { api?: string | undefined; consumer?: string | undefined }): SQL | undefined {
  return and(
    gte(usageRollups.hour, range.from),
    lt(usageRollups.hour, range.to),
    ...(q.api !== undefined ? [eq(usageRollups.api, q.api)] : []),
    ...(q.consumer !== undefined ? [eq(usageRollups.consumer, q.consumer)] : []),
  );
}

/** The bucket expression: the UTC hour, the UTC day, or (for /usage) the billing month of the plan's time zone. */
export function bucketOf(granularity: Granularity, billingMonth: boolean): SQL<string> {
  if (granularity === 'hour') return sql<string>`to_char(${usageRollups.hour} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:00:00"Z"')`;
  if (granularity === 'day') return sql<string>`to_char(${usageRollups.hour} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
  return billingMonth ? sql<string>`${usageRollups.period}` : sql<string>`to_char(${usageRollups.hour} AT TIME ZONE 'UTC', 'YYYY-MM')`;
}

/** `GET /usage` query. */
export const usageQuerySchema = z.strictObject({
  consumer: resourceName.optional().describe('Only this consumer.'),
  api: resourceName.optional().describe('Only this API.'),
  ...rangeFields,
});

const usageItem = z.object({
  bucket: z.string().describe('Hour (`2026-11-15T10:00:00Z`), UTC day (`2026-11-15`) or billing month (`2026-11`, in the plan\'s time zone).'),
  consumer: z.string().nullable().describe('Consumer, or null for anonymous callers.'),
  api: z.string(),
  metric: z.string(),
  requests: z.number().int(),
  units: z.number().int(),
  billableRequests: z.number().int(),
  billableUnits: z.number().int(),
  bytesIn: z.number().int(),
  bytesOut: z.number().int(),
});

export const usageResponseSchema = z.object({
  from: z.string(),
  to: z.string(),
  granularity: z.enum(GRANULARITIES),
  items: z.array(usageItem).describe('One item per bucket, consumer, API and metric, in that order.'),
  totals: z.object({ requests: z.number().int(), units: z.number().int(), billableRequests: z.number().int(), billableUnits: z.number().int() }),
});

const n = (v: unknown): number => Number(v ?? 0);

/**
 * `GET /usage`: usage from the Postgres rollups (what the invoice reads), per bucket, consumer,
 * API and metric, for dashboards. Permission `consumers:read` (roles admin, operator, viewer,
 * billing): counts, no money.
 */
export function register(app: FastifyInstance, db: Database | undefined): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/usage',
    {
      schema: {
        tags: ['usage'],
        summary: 'Metered usage per bucket, consumer, API and metric (from the rollups)',
        querystring: usageQuerySchema,
        response: { 200: usageResponseSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      if (!db) throw new ProblemError('UNAVAILABLE', 'usage queries need the database; this admin process has none');
      const q = request.query;
      const { from, to } = resolveRange(q);
      const bucket = bucketOf(q.granularity, true);
      const where = rollupFilter({ from, to }, q);
      const rows = await db
        .select({
          bucket,
          consumer: usageRollups.consumer,
          api: usageRollups.api,
          metric: usageRollups.metric,
          ...usageSums(),
          bytesIn: sql<string>`sum(${usageRollups.bytesIn})`,
          bytesOut: sql<string>`sum(${usageRollups.bytesOut})`,
        })
        .from(usageRollups)
        .where(where)
        .groupBy(bucket, usageRollups.consumer, usageRollups.api, usageRollups.metric)
        .orderBy(bucket, usageRollups.consumer, usageRollups.api, usageRollups.metric);
      const items = rows.map((r) => ({
        bucket: r.bucket,
        consumer: r.consumer === '' ? null : r.consumer,
        api: r.api,
        metric: r.metric,
        requests: n(r.requests),
        units: n(r.units),
        billableRequests: n(r.billableRequests),
        billableUnits: n(r.billableUnits),
        bytesIn: n(r.bytesIn),
        bytesOut: n(r.bytesOut),
      }));
      const totals = { requests: 0, units: 0, billableRequests: 0, billableUnits: 0 };
      for (const i of items) {
        totals.requests += i.requests;
        totals.units += i.units;
        totals.billableRequests += i.billableRequests;
        totals.billableUnits += i.billableUnits;
      }
      return reply.header('cache-control', 'no-store').send({ from: from.toISOString(), to: to.toISOString(), granularity: q.granularity, items, totals });
    },
  );
}
