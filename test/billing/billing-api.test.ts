import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildAdmin, compilerValidator, hashToken } from '@tollgate/admin';
import { usageRollups } from '@tollgate/db';
import { createPgliteStores, createPostgresStores, type SqlStores } from '@tollgate/stores';
import { EXPECTED_TOTALS, FIXTURE_MONTH, FIXTURE_YAML, fixtureRows } from '../../packages/billing/src/report.fixtures.js';
import { BACKENDS, startAdminHarness } from '../admin/harness.js';
import { expectProblem } from '../admin/problem-assertions.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';

const TOKENS = { admin: 'tgadm_billing_api_admin_000001', billing: 'tgadm_billing_api_billing_0001', viewer: 'tgadm_billing_api_viewer_00001' } as const;

/** `GET /reports/billing` in process, on embedded PGlite and on real Postgres. */
describe.each(BACKENDS)('GET /reports/billing on %s', (backend) => {
  let stores: SqlStores;
  let database: TestDatabase | undefined;
  let app: FastifyInstance;
  const auth = (role: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[role]}` });

  beforeAll(async () => {
    if (backend === 'postgres') {
      database = await createTestDatabase();
      stores = await createPostgresStores({ url: database.url, poolMax: 3 });
    } else {
      stores = await createPgliteStores();
    }
    for (const role of Object.keys(TOKENS) as Array<keyof typeof TOKENS>) await stores.tokens.insert({ id: `atk_${role}`, name: role, role, hash: hashToken(TOKENS[role]) });
    app = await buildAdmin({ config: stores.config, tokens: stores.tokens, apiKeys: stores.apiKeys, audit: stores.audit, validate: compilerValidator, db: stores.db });
    const applied = await app.inject({ method: 'POST', url: '/config', headers: { ...auth('admin'), 'content-type': 'application/yaml' }, payload: FIXTURE_YAML });
    expect(applied.statusCode, applied.body).toBe(200);
    await stores.db.insert(usageRollups).values(fixtureRows().map((r) => ({ ...r, bytesIn: 0, bytesOut: 0, latencyMsSum: 0, latencyHist: [] })));
  });
  afterAll(async () => {
    await app?.close();
    await stores?.close();
    await database?.drop();
  });

  it('role billing reads each format; the JSON totals are exact', async () => {
    for (const format of ['csv', 'json', 'html'] as const) {
      const res = await app.inject({ method: 'GET', url: `/reports/billing?month=${FIXTURE_MONTH}&format=${format}`, headers: auth('billing') });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-disposition']).toContain(`filename="billing-${FIXTURE_MONTH}.${format}"`);
      if (format === 'json') expect(res.json<{ totals: Array<{ consumer: string; amount: number }> }>().totals.map((t) => [t.consumer, t.amount])).toEqual(EXPECTED_TOTALS.map((t) => [t.consumer, t.amount]));
    }
    // JSON is the default format
    expect((await app.inject({ method: 'GET', url: `/reports/billing?month=${FIXTURE_MONTH}`, headers: auth('admin') })).headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('a viewer is refused; unknown query parameters are a 400 problem', async () => {
    expectProblem(await app.inject({ method: 'GET', url: `/reports/billing?month=${FIXTURE_MONTH}`, headers: auth('viewer') }), 403, 'FORBIDDEN');
    expectProblem(await app.inject({ method: 'GET', url: `/reports/billing?month=${FIXTURE_MONTH}&colour=red`, headers: auth('billing') }), 400, 'INVALID_REQUEST');
    expectProblem(await app.inject({ method: 'GET', url: `/reports/billing?month=${FIXTURE_MONTH}&consumer=Not_A_Name`, headers: auth('billing') }), 400, 'INVALID_REQUEST');
  });

  it('consumer= narrows the report to one customer\'s lines and invoice', async () => {
    const res = await app.inject({ method: 'GET', url: `/reports/billing?month=${FIXTURE_MONTH}&consumer=initech&format=json`, headers: auth('billing') });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toBe(`inline; filename="billing-${FIXTURE_MONTH}-initech.json"`);
    const body = res.json<{ lines: Array<{ consumer: string }>; totals: Array<{ consumer: string; amount: number }> }>();
    expect(body.totals).toEqual([expect.objectContaining({ consumer: 'initech', amount: 1951 })]);
    expect(new Set(body.lines.map((l) => l.consumer))).toEqual(new Set(['initech']));
    const html = await app.inject({ method: 'GET', url: `/reports/billing?month=${FIXTURE_MONTH}&consumer=initech&format=html`, headers: auth('billing') });
    expect(html.body.match(/<section class="invoice"/g)).toHaveLength(1);
    // A name nobody has is 404, not an empty invoice.
    expectProblem(await app.inject({ method: 'GET', url: `/reports/billing?month=${FIXTURE_MONTH}&consumer=initehc`, headers: auth('billing') }), 404, 'NOT_FOUND');
  });
});

describe('GET /reports/billing without a database', () => {
  it('is 503 UNAVAILABLE', async () => {
    const h = await startAdminHarness('pglite');
    try {
      expectProblem(await h.app.inject({ method: 'GET', url: '/reports/billing?month=2026-11', headers: h.auth('billing') }), 503, 'UNAVAILABLE');
    } finally {
      await h.close();
    }
  });
});
