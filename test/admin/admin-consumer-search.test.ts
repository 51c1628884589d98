import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminHarness, type AdminHarness } from './harness.js';

// The console's Consumers screen searches and pages on the server (issue #18): it must stay fast
// with 100,000 consumers. The rows are seeded straight into the table (one INSERT … SELECT
// generate_series, about a second) rather than applied: this test is about reading them.
const CONSUMERS = 100_000;
/** Generous: the numbers printed are a few ms on a quiet machine; the bound only catches a full materialisation gone wrong. */
const BUDGET_MS = 1_500;

interface Page {
  items: Array<{ metadata: { name: string }; spec: { customId?: string } }>;
  next?: string;
}

describe('GET /consumers?q= with 100,000 consumers (postgres)', () => {
  let h: AdminHarness;
  const timings: string[] = [];

  beforeAll(async () => {
    h = await startAdminHarness('postgres');
    const client = new pg.Client({ connectionString: h.databaseUrl });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO resources (kind, name, api_version, metadata, spec, version)
         SELECT 'Consumer', 'cust-' || lpad(i::text, 6, '0'), 'tollgate.dev/v1',
                jsonb_build_object('name', 'cust-' || lpad(i::text, 6, '0'), 'labels', '{}'::jsonb, 'annotations', '{}'::jsonb),
                jsonb_build_object('customId', 'CRM-' || (i * 7)::text, 'groups', '[]'::jsonb, 'jwtSubjects', '[]'::jsonb, 'keys', '[]'::jsonb, 'metadata', '{}'::jsonb),
                1
         FROM generate_series(1, $1::int) AS i`,
        [CONSUMERS],
      );
      await client.query('ANALYZE resources');
    } finally {
      await client.end();
    }
  }, 120_000);
  afterAll(async () => {
    console.log(`consumer search with ${CONSUMERS} rows (under shared test load):\n  ${timings.join('\n  ')}`);
    await h?.close();
  });

  async function get(url: string): Promise<{ page: Page; ms: number; link: string | undefined }> {
    await h.app.inject({ method: 'GET', url, headers: h.auth('viewer') }); // warm the plan cache, as a live server is
    const started = performance.now();
    const res = await h.app.inject({ method: 'GET', url, headers: h.auth('viewer') });
    const ms = performance.now() - started;
    expect(res.statusCode, res.body).toBe(200);
    timings.push(`${url}: ${ms.toFixed(1)} ms`);
    const link = res.headers.link;
    return { page: res.json<Page>(), ms, link: typeof link === 'string' ? link : undefined };
  }

  it('pages through all consumers by keyset, deep pages as fast as the first', async () => {
    const first = await get('/consumers?limit=50');
    expect(first.page.items).toHaveLength(50);
    expect(first.page.next).toBe('cust-000050');
    const deep = await get('/consumers?limit=50&after=cust-099900');
    expect(deep.page.items.map((c) => c.metadata.name)).toEqual(Array.from({ length: 50 }, (_, i) => `cust-0${99_901 + i}`));
    expect(deep.ms).toBeLessThan(BUDGET_MS);
  });

  it('searches names and customIds on the server, case-insensitively, with paging', async () => {
    const one = await get('/consumers?limit=50&q=cust-054321');
    expect(one.page.items.map((c) => c.metadata.name)).toEqual(['cust-054321']);
    expect(one.page.next).toBeUndefined();
    expect(one.ms).toBeLessThan(BUDGET_MS);

    // customId CRM-70 belongs to consumer 10 (i * 7); CRM-700… match others too: contains, not equals.
    const byId = await get('/consumers?limit=50&q=crm-70007');
    expect(byId.page.items.map((c) => c.spec.customId)).toContain('CRM-70007');
    expect(byId.page.items.every((c) => c.spec.customId?.includes('CRM-70007'))).toBe(true);

    // "cust-0999" matches 100 names (cust-0999xx), paged by 40 with the search kept in the Link.
    const p1 = await get('/consumers?limit=40&q=cust-0999');
    expect(p1.page.items).toHaveLength(40);
    expect(p1.link).toBe(`</consumers?limit=40&q=cust-0999&after=${p1.page.next}>; rel="next"`);
    const p2 = await get(`/consumers?limit=40&q=cust-0999&after=${p1.page.next}`);
    const p3 = await get(`/consumers?limit=40&q=cust-0999&after=${p2.page.next}`);
    expect(p3.page.items).toHaveLength(20);
    expect(p3.page.next).toBeUndefined();
    const names = [...p1.page.items, ...p2.page.items, ...p3.page.items].map((c) => c.metadata.name);
    expect(new Set(names).size).toBe(100);
    expect(names.every((n) => n.startsWith('cust-0999'))).toBe(true);
  });

  it('a search that matches nothing scans every row once and still answers within budget', async () => {
    const none = await get('/consumers?limit=50&q=nobody-here');
    expect(none.page.items).toEqual([]);
    expect(none.ms).toBeLessThan(BUDGET_MS);
  });

  it('treats % and _ literally and refuses an over-long search', async () => {
    expect((await get('/consumers?limit=5&q=%25')).page.items).toEqual([]);
    expect((await get('/consumers?limit=5&q=cust_0')).page.items).toEqual([]);
    const long = await h.app.inject({ method: 'GET', url: `/consumers?q=${'x'.repeat(254)}`, headers: h.auth() });
    expect(long.statusCode).toBe(400);
    expect(long.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
