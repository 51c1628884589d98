import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdmin, compilerValidator, hashToken } from '@tollgate/admin';
import { LATENCY_BUCKETS_MS, LATENCY_HIST_LENGTH, writeBatch, type UsageRow } from '@tollgate/metering';
import { createPgliteStores, createPostgresStores, type AdminRole, type SqlStores } from '@tollgate/stores';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';

function row(over: Partial<UsageRow>): UsageRow {
  return { hour: Date.parse('2026-11-15T10:00:00Z'), period: '2026-11', consumer: 'acme', subscription: 'acme-gold', plan: 'gold', api: 'orders', apiVersion: 'v1', route: 'list', statusClass: '2xx', source: 'upstream', billable: true, metric: 'requests', requests: 0, units: 0, bytesIn: 0, bytesOut: 0, latencyMsSum: 0, latencyHist: new Array<number>(LATENCY_HIST_LENGTH).fill(0), ...over };
}

/** A histogram with `count` requests in the bucket whose upper bound is `boundMs`. */
function hist(entries: Array<[number, number]>): number[] {
  const h = new Array<number>(LATENCY_HIST_LENGTH).fill(0);
  for (const [boundMs, count] of entries) h[LATENCY_BUCKETS_MS.indexOf(boundMs)] = count;
  return h;
}

/** Known rollups: two consumers, two hours of one day, one row the day after, one in December (Berlin plan billed in December). */
const ROWS: UsageRow[] = [
  row({ requests: 90, units: 90, bytesIn: 900, bytesOut: 9000, latencyMsSum: 900, latencyHist: hist([[10, 90]]) }),
  row({ statusClass: '5xx', billable: false, requests: 10, units: 10, latencyMsSum: 1000, latencyHist: hist([[100, 10]]) }),
  row({ hour: Date.parse('2026-11-15T11:00:00Z'), route: 'create', statusClass: '4xx', source: 'gateway', billable: false, requests: 5, units: 5, latencyMsSum: 5, latencyHist: hist([[1, 5]]) }),
  row({ hour: Date.parse('2026-11-15T11:00:00Z'), consumer: 'globex', subscription: 'globex-pro', plan: 'pro', metric: 'exports', requests: 4, units: 20, latencyMsSum: 40, latencyHist: hist([[10, 4]]) }),
  row({ hour: Date.parse('2026-11-16T09:00:00Z'), consumer: '', subscription: '', plan: '', billable: false, requests: 3, units: 3, latencyMsSum: 3, latencyHist: hist([[1, 3]]) }),
  row({ hour: Date.parse('2026-11-30T23:00:00Z'), period: '2026-12', consumer: 'globex', subscription: 'globex-pro', plan: 'pro', requests: 2, units: 2, latencyMsSum: 2, latencyHist: hist([[1, 2]]) }),
];

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`GET /usage and GET /analytics/requests (${backend})`, () => {
    let database: TestDatabase | undefined;
    let stores: SqlStores;
    let app: FastifyInstance;
    const tokens = {} as Record<AdminRole, string>;
    const get = (url: string, role: AdminRole = 'admin') => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tokens[role]}` } });

    beforeAll(async () => {
      if (backend === 'postgres') {
        database = await createTestDatabase();
        stores = await createPostgresStores({ url: database.url, poolMax: 4 });
      } else {
        stores = await createPgliteStores();
      }
      for (const role of ['admin', 'operator', 'viewer', 'billing'] as const) {
        tokens[role] = `tgadm_${role}_${randomBytes(16).toString('hex')}`;
        await stores.tokens.insert({ id: `atk_${role}`, name: role, role, hash: hashToken(tokens[role]) });
      }
      app = await buildAdmin({ config: stores.config, tokens: stores.tokens, apiKeys: stores.apiKeys, audit: stores.audit, validate: compilerValidator, db: stores.db, authThrottle: { maxFailures: 100_000 } });
      await writeBatch(stores.db, { nodeId: 'test', seq: 1, requests: 114, rows: ROWS });
    });
    afterAll(async () => {
      await app?.close();
      await stores?.close();
      await database?.drop();
    });

    it('usage per day, consumer, API and metric, with billable counts and totals', async () => {
      const res = await get('/usage?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&granularity=day');
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body.items).toEqual([
        { bucket: '2026-11-15', consumer: 'acme', api: 'orders', metric: 'requests', requests: 105, units: 105, billableRequests: 90, billableUnits: 90, bytesIn: 900, bytesOut: 9000 },
        { bucket: '2026-11-15', consumer: 'globex', api: 'orders', metric: 'exports', requests: 4, units: 20, billableRequests: 4, billableUnits: 20, bytesIn: 0, bytesOut: 0 },
        { bucket: '2026-11-16', consumer: null, api: 'orders', metric: 'requests', requests: 3, units: 3, billableRequests: 0, billableUnits: 0, bytesIn: 0, bytesOut: 0 },
        { bucket: '2026-11-30', consumer: 'globex', api: 'orders', metric: 'requests', requests: 2, units: 2, billableRequests: 2, billableUnits: 2, bytesIn: 0, bytesOut: 0 },
      ]);
      expect(body.totals).toEqual({ requests: 114, units: 130, billableRequests: 96, billableUnits: 112 });
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('month granularity is the billing month of the plan (a row of Nov 30 23:00Z in a Berlin plan is December)', async () => {
      const res = await get('/usage?consumer=globex&from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&granularity=month');
      expect(res.json().items.map((i: { bucket: string; metric: string; requests: number }) => [i.bucket, i.metric, i.requests])).toEqual([
        ['2026-11', 'exports', 4],
        ['2026-12', 'requests', 2],
      ]);
    });

    it('hour granularity and filters by consumer and API', async () => {
      const res = await get('/usage?consumer=acme&api=orders&from=2026-11-15T00:00:00Z&to=2026-11-16T00:00:00Z&granularity=hour');
      expect(res.json().items.map((i: { bucket: string; requests: number }) => [i.bucket, i.requests])).toEqual([
        ['2026-11-15T10:00:00Z', 100],
        ['2026-11-15T11:00:00Z', 5],
      ]);
      expect((await get('/usage?api=nothing&from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z')).json().items).toEqual([]);
    });

    it('analytics per route: counts, status classes, error rates, gateway answers and latency percentiles from the histograms', async () => {
      const res = await get('/analytics/requests?from=2026-11-15T00:00:00Z&to=2026-11-16T00:00:00Z&granularity=day&groupBy=route');
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body.latencyBucketsMs).toEqual([...LATENCY_BUCKETS_MS]);
      expect(body.items).toHaveLength(2);
      const [create, list] = body.items;
      expect(create).toMatchObject({ bucket: '2026-11-15', group: 'orders/create', requests: 5, statusClasses: { '4xx': 5 }, errorRate: 1, serverErrorRate: 0, gatewayResponses: 5, latencyMs: { mean: 1 } });
      // list: 94 requests (90 at <=10 ms, 4 at <=10 ms from globex) plus 10 at 50..100 ms.
      expect(list).toMatchObject({ group: 'orders/list', requests: 104, statusClasses: { '2xx': 94, '5xx': 10 }, serverErrorRate: 0.096, gatewayResponses: 0 });
      expect(list.errorRate).toBeCloseTo(10 / 104, 3);
      expect(list.latencyMs.mean).toBeCloseTo(1940 / 104, 3);
      // p50 and p90 lie in the (5, 10] bucket, p99 in (50, 100]: linear interpolation inside the bucket.
      expect(list.latencyMs.p50).toBeCloseTo(5 + (5 * 52) / 94, 2);
      expect(list.latencyMs.p90).toBeCloseTo(5 + (5 * 93.6) / 94, 2);
      expect(list.latencyMs.p99).toBeCloseTo(50 + (50 * (102.96 - 94)) / 10, 2);
    });

    it('analytics totals without groupBy, by status class, by consumer (anonymous is null)', async () => {
      const totals = (await get('/analytics/requests?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&granularity=month')).json();
      expect(totals.items.map((i: { bucket: string; group: null; requests: number }) => [i.bucket, i.group, i.requests])).toEqual([['2026-11', null, 114]]);
      const classes = (await get('/analytics/requests?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&granularity=month&groupBy=status_class')).json();
      expect(classes.items.map((i: { group: string; requests: number }) => [i.group, i.requests])).toEqual([
        ['2xx', 99],
        ['4xx', 5],
        ['5xx', 10],
      ]);
      const consumers = (await get('/analytics/requests?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&granularity=month&groupBy=consumer')).json();
      expect(consumers.items.map((i: { group: string | null; requests: number }) => [i.group, i.requests])).toEqual([
        [null, 3],
        ['acme', 105],
        ['globex', 6],
      ]);
    });

    it('analytics filtered by API and consumer', async () => {
      const res = await get('/analytics/requests?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&granularity=month&api=orders&consumer=globex&groupBy=route');
      expect(res.json().items.map((i: { group: string; requests: number }) => [i.group, i.requests])).toEqual([['orders/list', 6]]);
      expect((await get('/analytics/requests?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&api=none')).json().items).toEqual([]);
    });

    it('bad parameters are problem+json 400 naming the parameter', async () => {
      for (const url of [
        '/usage?granularity=week',
        '/usage?from=yesterday',
        '/usage?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z',
        '/usage?from=2026-01-01T00:00:00Z&to=2026-11-01T00:00:00Z&granularity=hour',
        '/usage?unknown=1',
        '/analytics/requests?groupBy=planet',
      ]) {
        const res = await get(url);
        expect(res.statusCode, url).toBe(400);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.json()).toMatchObject({ status: 400, code: 'INVALID_REQUEST' });
      }
      expect((await get('/usage?granularity=week')).json().detail).toContain('granularity');
    });

    it('permissions: /usage for every role that reads consumers, /analytics for config readers; none without a token', async () => {
      const u = '/usage?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z';
      const a = '/analytics/requests?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z';
      for (const role of ['admin', 'operator', 'viewer', 'billing'] as const) expect((await get(u, role)).statusCode, role).toBe(200);
      for (const role of ['admin', 'operator', 'viewer'] as const) expect((await get(a, role)).statusCode, role).toBe(200);
      expect((await get(a, 'billing')).statusCode).toBe(403);
      expect((await app.inject({ method: 'GET', url: u })).statusCode).toBe(401);
    });
  });
}
