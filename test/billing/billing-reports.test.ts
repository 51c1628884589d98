import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closesAt, monthBounds, previousMonth, type BillingReport } from '@tollgate/billing';
import { migratePostgres, openPostgres, usageRollups, type PostgresHandle } from '@tollgate/db';
import { EXPECTED_TOTALS, FIXTURE_MONTH, FIXTURE_YAML, fixtureResources, fixtureRows, type FixtureRow } from '../../packages/billing/src/report.fixtures.js';
import { runCli } from '../cli/cli-harness.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

const ADMIN_TOKEN = 'tgadm_billing_blackbox_admin_0001';
const CHROMIUM = '/usr/bin/chromium';

/** Totals of the fixture's consumers (zeta, who exists for the closed month, left out). */
function fixtureTotals<T extends { consumer?: string }>(totals: T[]): T[] {
  return totals.filter((t) => EXPECTED_TOTALS.some((e) => e.consumer === t.consumer));
}

/**
 * Black box: real admin processes on a real Postgres, rollup rows inserted as the gateways' flush
 * would leave them, reports read through `GET /reports/billing` and `tollgate report billing`, and
 * the scheduled export run by two admin processes at once.
 */
describe('billing reports through the admin API, the CLI and the scheduled export', () => {
  let database: TestDatabase;
  let handle: PostgresHandle;
  let admin: TollgateProcess;
  let billingToken: string;
  let operatorToken: string;
  let work: string;
  /** The last closed month by the real clock (the export's month), with rows of its own. */
  const closedMonth = previousMonth(new Date());
  const env = () => ({ DATABASE_URL: database.url, ADMIN_TOKEN, LOG_LEVEL: 'info' });

  const get = (path: string, token: string) => fetch(`${admin.adminUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    database = await createTestDatabase();
    await migratePostgres(database.url);
    handle = openPostgres(database.url, { max: 2 });
    work = await mkdtemp(join(tmpdir(), 'tollgate-billing-bb-'));
    admin = await startTollgateProcess({ role: 'admin', env: env() });
    // zeta is subscribed for exactly the closed month, so whichever month that is (the fixture's
    // own, when this runs in December 2026) the fixture consumers' numbers stay as worked out.
    const { start, end } = monthBounds(closedMonth, 'UTC');
    const zeta = `---\napiVersion: tollgate.dev/v1\nkind: Consumer\nmetadata: { name: zeta }\nspec: {}\n---\napiVersion: tollgate.dev/v1\nkind: Subscription\nmetadata: { name: zeta-metered }\nspec: { consumer: zeta, plan: metered, start: "${start.toISOString()}", end: "${end.toISOString()}" }\n`;
    const applied = await fetch(`${admin.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' }, body: FIXTURE_YAML + zeta });
    expect(applied.status, await applied.clone().text()).toBe(200);
    const token = async (role: string) => {
      const res = await fetch(`${admin.adminUrl}/admin-tokens`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: role, role }) });
      expect(res.status).toBe(201);
      return ((await res.json()) as { token: string }).token;
    };
    billingToken = await token('billing');
    operatorToken = await token('operator');
    // The fixture month, plus 300 requests of zeta (metered: 100 included, 0.5 each after) in the closed month.
    const extra: FixtureRow = { ...(fixtureRows()[0] as FixtureRow), consumer: 'zeta', subscription: 'zeta-metered', period: closedMonth, hour: new Date(start.getTime() + 5 * 86_400_000), units: 300, requests: 300 };
    await handle.db.insert(usageRollups).values([...fixtureRows(), extra].map((r) => ({ ...r, bytesIn: 0, bytesOut: 0, latencyMsSum: 0, latencyHist: [] })));
  }, 90_000);

  afterAll(async () => {
    await admin?.stop();
    await handle?.close();
    await database?.drop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('JSON for role billing: exact totals; preview while the month is open, final once closed', async () => {
    const res = await get(`/reports/billing?month=${FIXTURE_MONTH}&format=json`, billingToken);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`inline; filename="billing-${FIXTURE_MONTH}.json"`);
    const report = (await res.json()) as BillingReport;
    expect(fixtureTotals(report.totals).map(({ consumer, currency, amount }) => ({ consumer, currency, amount }))).toEqual(EXPECTED_TOTALS);
    const open = Date.now() < closesAt(FIXTURE_MONTH, fixtureResources()).getTime();
    expect(report.status).toBe(open ? 'preview' : 'final');
    expect(res.headers.get('x-tollgate-report-status')).toBe(report.status);
  });

  it('CSV: a download, RFC 4180, whose amounts add up to the totals', async () => {
    const res = await get(`/reports/billing?month=${FIXTURE_MONTH}&format=csv`, ADMIN_TOKEN);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="billing-${FIXTURE_MONTH}.csv"`);
    const text = await res.text();
    expect(text).toContain('\r\n');
    const records = parse(text, { bom: true, columns: true }) as Array<Record<string, string>>;
    const totals = fixtureTotals(records.filter((r) => r.line_type === 'total'));
    expect(totals.map((t) => [t.consumer, Number(t.amount)])).toEqual(EXPECTED_TOTALS.map((t) => [t.consumer, t.amount]));
    for (const t of totals) {
      expect(records.filter((r) => r.line_type !== 'total' && r.consumer === t.consumer).reduce((a, r) => a + Number(r.amount), 0)).toBe(Number(t.amount));
    }
  });

  it('HTML: printable invoices; renders in Chromium when it is installed', async () => {
    const res = await get(`/reports/billing?month=${FIXTURE_MONTH}&format=html`, billingToken);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html.match(/<section class="invoice" data-consumer="(acme|globex|hooli|initech)"/g)).toHaveLength(EXPECTED_TOTALS.length);
    if (!existsSync(CHROMIUM)) return; // the structure above is checked without a browser
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
      await page.setContent(html);
      const totals = await page.$$eval('section.invoice:not([data-consumer="zeta"]) td.total', (cells) => cells.map((c) => (c as HTMLElement).innerText.trim()));
      expect(totals).toEqual(['10.56 EUR', '2.25 USD', '20.00 EUR', '19.51 EUR']);
      // The first invoice's table fits the page width (nothing pushed off to the right).
      const width = await page.$eval('section.invoice table', (t) => (t as HTMLElement).getBoundingClientRect().right);
      expect(width).toBeLessThanOrEqual(1000);
      await page.screenshot({ path: join(tmpdir(), 'tollgate-billing-invoice.png'), fullPage: true });
      const pdf = await page.pdf({ format: 'A4' });
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('role operator gets 403; a bad month or format is a 400 problem', async () => {
    const forbidden = await get(`/reports/billing?month=${FIXTURE_MONTH}`, operatorToken);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await forbidden.json()) as { code: string }).code).toBe('FORBIDDEN');
    for (const query of ['month=2026-13', 'month=nov', 'format=csv', `month=${FIXTURE_MONTH}&format=xlsx`]) {
      const bad = await get(`/reports/billing?${query}`, billingToken);
      expect(bad.status, query).toBe(400);
      expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await bad.json()) as { code: string }).code).toBe('INVALID_REQUEST');
    }
  });

  it('CLI report billing --out writes the file; a closed month is byte-identical on re-run', async () => {
    const cliEnv = { TOLLGATE_ADMIN_URL: admin.adminUrl, TOLLGATE_ADMIN_TOKEN: billingToken };
    const out = join(work, 'cli');
    const first = await runCli(['report', 'billing', '--month', closedMonth, '--format', 'json', '--out', out], cliEnv);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(`billing-${closedMonth}.json written`);
    const path = join(out, `billing-${closedMonth}.json`);
    const text = await readFile(path, 'utf8');
    const report = JSON.parse(text) as BillingReport;
    expect(report.status).toBe('final');
    expect(report.totals.find((t) => t.consumer === 'zeta')).toMatchObject({ currency: 'EUR', amount: 1000 + 100 });
    const second = await runCli(['report', 'billing', '--month', closedMonth, '--format', 'json'], cliEnv);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(text);
    const csv = await runCli(['report', 'billing', '--month', closedMonth, '--format', 'csv'], cliEnv);
    expect(csv.stdout.split('\r\n')[0]).toMatch(/^\uFEFFreport_id,status,line_type,/);
    const pdf = await runCli(['report', 'billing', '--month', closedMonth, '--format', 'pdf', '--out', out], cliEnv);
    expect(pdf.code, pdf.stderr).toBe(0);
    const pdfBytes = await readFile(join(out, `billing-${closedMonth}.pdf`));
    expect(pdfBytes.subarray(0, 5).toString()).toBe('%PDF-');
    const viaApi = await get(`/reports/billing?month=${closedMonth}&format=pdf`, billingToken);
    expect(viaApi.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await viaApi.arrayBuffer()).equals(pdfBytes)).toBe(true);
    const one = await runCli(['report', 'billing', '--month', closedMonth, '--format', 'html', '--consumer', 'zeta', '--out', out], cliEnv);
    expect(one.code, one.stderr).toBe(0);
    const invoice = await readFile(join(out, `billing-${closedMonth}-zeta.html`), 'utf8');
    expect(invoice.match(/<section class="invoice" data-consumer="([a-z]+)"/g)).toEqual(['<section class="invoice" data-consumer="zeta"']);
    const denied = await runCli(['report', 'billing', '--month', closedMonth], { ...cliEnv, TOLLGATE_ADMIN_TOKEN: operatorToken });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/FORBIDDEN/);
    const invalid = await runCli(['report', 'billing', '--month', '2026/11'], cliEnv);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/--month must be YYYY-MM/);
  });

  it('two admin processes with BILLING_EXPORT_DIR export the closed month once, as the API reports it', async () => {
    const dir = join(work, 'export');
    const exportEnv = { ...env(), BILLING_EXPORT_DIR: dir, BILLING_EXPORT_DELAY: '1s', BILLING_EXPORT_INTERVAL: '1s' };
    const [b, c] = await Promise.all([startTollgateProcess({ role: 'admin', env: exportEnv }), startTollgateProcess({ role: 'admin', env: exportEnv })]);
    try {
      await waitUntil(async () => existsSync(join(dir, `billing-${closedMonth}.pdf`)) && existsSync(join(dir, `billing-${closedMonth}.html`)), 30_000, 100);
      // A few more checks by each process: still one export.
      await new Promise((r) => setTimeout(r, 2_500));
      const exportedLogs = [b, c].map((p) => p.output().split('\n').filter((l) => l.includes('billing reports exported')).length);
      expect(exportedLogs.reduce((a, n) => a + n, 0)).toBe(1);
      expect((await readdir(dir)).sort()).toEqual([`billing-${closedMonth}.csv`, `billing-${closedMonth}.html`, `billing-${closedMonth}.json`, `billing-${closedMonth}.pdf`]);
      const api = await (await get(`/reports/billing?month=${closedMonth}&format=json`, billingToken)).text();
      expect(await readFile(join(dir, `billing-${closedMonth}.json`), 'utf8')).toBe(api);
    } finally {
      await Promise.all([b.stop(), c.stop()]);
    }
  }, 90_000);
});
