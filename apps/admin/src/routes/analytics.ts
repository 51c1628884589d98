import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { sql, type SQL } from 'drizzle-orm';
import { usageRollups, type Database } from '@tollgate/db';
import { resourceName } from '@tollgate/model';
import { LATENCY_BUCKETS_MS } from '@tollgate/metering';
import { ProblemError } from '../problem.js';
import { errorResponses, problemSchema } from '../schemas.js';
import { bucketOf, GRANULARITIES, rangeFields, resolveRange, rollupFilter } from './usage-query.js';

const GROUPS = ['api', 'route', 'consumer', 'status_class'] as const;
type Group = (typeof GROUPS)[number];

/** `GET /analytics/requests` query. */
export const analyticsQuerySchema = z.strictObject({
  ...rangeFields,
  api: resourceName.optional().describe('Only this API.'),
  consumer: resourceName.optional().describe('Only this consumer.'),
  groupBy: z.enum(GROUPS).optional().describe('Split each bucket by API, route (`api/route`), consumer or status class; omit for totals.'),
});

const item = z.object({
  bucket: z.string().describe('Hour (`2026-11-15T10:00:00Z`), UTC day (`2026-11-15`) or UTC month (`2026-11`).'),
  group: z.string().nullable().describe('Value of the groupBy dimension (null: no grouping, or an anonymous consumer).'),
  requests: z.number().int(),
  statusClasses: z.record(z.string(), z.number().int()).describe('Requests per status class (`2xx`, `4xx`, ...).'),
  errorRate: z.number().describe('Share of 4xx and 5xx answers, 0..1.'),
  serverErrorRate: z.number().describe('Share of 5xx answers, 0..1.'),
  gatewayResponses: z.number().int().describe('Answers the gateway produced itself (refusals, errors, redirects, direct responses).'),
  bytesIn: z.number().int(),
  bytesOut: z.number().int(),
  latencyMs: z
    .object({ mean: z.number(), p50: z.number(), p90: z.number(), p99: z.number() })
    .describe('Total latency: mean from the stored sum; percentiles interpolated in the stored fixed histogram (as Prometheus histogram_quantile).'),
});

export const analyticsResponseSchema = z.object({
  from: z.string(),
  to: z.string(),
  granularity: z.enum(GRANULARITIES),
  groupBy: z.enum(GROUPS).nullable(),
  latencyBucketsMs: z.array(z.number()).describe('Upper bounds of the latency histogram buckets (the last bucket is unbounded).'),
  items: z.array(item),
});

/**
 * The q-quantile of a histogram of counts per bucket (bounds {@link LATENCY_BUCKETS_MS}, plus an
 * overflow bucket), interpolated linearly inside the bucket it falls in; in the overflow bucket the
 * last finite bound (as Prometheus's histogram_quantile). 0 for an empty histogram.
 */
export function histogramQuantile(q: number, counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = q * total;
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (c > 0 && cum + c >= rank) {
      if (i >= LATENCY_BUCKETS_MS.length) return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] as number;
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] as number);
      const upper = LATENCY_BUCKETS_MS[i] as number;
      return round(lower + ((upper - lower) * (rank - cum)) / c);
    }
    cum += c;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] as number;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const n = (v: unknown): number => Number(v ?? 0);

function groupOf(g: Group | undefined): SQL<string> {
  switch (g) {
    case 'api':
      return sql<string>`${usageRollups.api}`;
    case 'route':
      return sql<string>`${usageRollups.api} || '/' || ${usageRollups.route}`;
    case 'consumer':
      return sql<string>`${usageRollups.consumer}`;
    case 'status_class':
      return sql<string>`${usageRollups.statusClass}`;
    default:
      // An expression, not a bare literal: Postgres refuses a non-integer constant in GROUP BY.
      return sql<string>`CAST('' AS text)`;
  }
}

/**
 * `GET /analytics/requests`: request counts, error rates and latency percentiles per bucket (and
 * group) from the stored rollups, not from Prometheus (so they cover every node and outlive
 * restarts). Permission `config:read`.
 */
export function register(app: FastifyInstance, db: Database | undefined): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/analytics/requests',
    {
      schema: {
        tags: ['usage'],
        summary: 'Request counts, error rates and latency percentiles per bucket (from the rollups)',
        querystring: analyticsQuerySchema,
        response: { 200: analyticsResponseSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      if (!db) throw new ProblemError('UNAVAILABLE', 'analytics need the database; this admin process has none');
      const q = request.query;
      const { from, to } = resolveRange(q);
      const bucket = bucketOf(q.granularity, false);
      const group = groupOf(q.groupBy);
      const where = rollupFilter({ from, to }, q);
      const counts = await db
        .select({
          bucket,
          group,
          statusClass: usageRollups.statusClass,
          requests: sql<string>`sum(${usageRollups.requests})`,
          gateway: sql<string>`sum(CASE WHEN ${usageRollups.source} = 'gateway' THEN ${usageRollups.requests} ELSE 0 END)`,
          bytesIn: sql<string>`sum(${usageRollups.bytesIn})`,
          bytesOut: sql<string>`sum(${usageRollups.bytesOut})`,
          latencySum: sql<string>`sum(${usageRollups.latencyMsSum})`,
        })
        .from(usageRollups)
        .where(where)
        .groupBy(bucket, group, usageRollups.statusClass);
      // Histograms added element-wise per bucket and group, in SQL (one row per histogram bucket).
      const hist = await db.execute<{ bucket: string; grp: string; i: string; c: string }>(
        sql`SELECT b AS bucket, g AS grp, i, sum(v) AS c FROM (SELECT ${bucket} AS b, ${group} AS g, u.v, u.i FROM ${usageRollups}, unnest(${usageRollups.latencyHist}) WITH ORDINALITY AS u(v, i) WHERE ${where}) t GROUP BY b, g, i`,
      );
      type Acc = { bucket: string; group: string; requests: number; classes: Record<string, number>; gateway: number; bytesIn: number; bytesOut: number; latencySum: number; hist: number[] };
      const byKey = new Map<string, Acc>();
      const accOf = (b: string, g: string): Acc => {
        const k = `${b}\u0000${g}`;
        let a = byKey.get(k);
        if (a === undefined) byKey.set(k, (a = { bucket: b, group: g, requests: 0, classes: {}, gateway: 0, bytesIn: 0, bytesOut: 0, latencySum: 0, hist: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) }));
        return a;
      };
      for (const r of counts) {
        const a = accOf(r.bucket, r.group);
        const c = n(r.requests);
        a.requests += c;
        a.classes[r.statusClass] = (a.classes[r.statusClass] ?? 0) + c;
        a.gateway += n(r.gateway);
        a.bytesIn += n(r.bytesIn);
        a.bytesOut += n(r.bytesOut);
        a.latencySum += n(r.latencySum);
      }
      const histRows = (hist as unknown as { rows?: Array<{ bucket: string; grp: string; i: string; c: string }> }).rows ?? (hist as unknown as Array<{ bucket: string; grp: string; i: string; c: string }>);
      for (const h of histRows) {
        const a = accOf(h.bucket, h.grp);
        const i = n(h.i) - 1;
        if (i >= 0 && i < a.hist.length) a.hist[i] = n(h.c);
      }
      const items = [...byKey.values()]
        .sort((x, y) => (x.bucket < y.bucket ? -1 : x.bucket > y.bucket ? 1 : x.group < y.group ? -1 : x.group > y.group ? 1 : 0))
        .map((a) => {
          const errors = (a.classes['4xx'] ?? 0) + (a.classes['5xx'] ?? 0);
          return {
            bucket: a.bucket,
            group: q.groupBy === undefined || (q.groupBy === 'consumer' && a.group === '') ? null : a.group,
            requests: a.requests,
            statusClasses: a.classes,
            errorRate: a.requests === 0 ? 0 : round(errors / a.requests),
            serverErrorRate: a.requests === 0 ? 0 : round((a.classes['5xx'] ?? 0) / a.requests),
            gatewayResponses: a.gateway,
            bytesIn: a.bytesIn,
            bytesOut: a.bytesOut,
            latencyMs: { mean: a.requests === 0 ? 0 : round(a.latencySum / a.requests), p50: histogramQuantile(0.5, a.hist), p90: histogramQuantile(0.9, a.hist), p99: histogramQuantile(0.99, a.hist) },
          };
        });
      return reply.header('cache-control', 'no-store').send({ from: from.toISOString(), to: to.toISOString(), granularity: q.granularity, groupBy: q.groupBy ?? null, latencyBucketsMs: [...LATENCY_BUCKETS_MS], items });
    },
  );
}
