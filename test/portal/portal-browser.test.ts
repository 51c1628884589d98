import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { linkToken, startSmtpInbox, type SmtpInbox } from '../support/smtp-inbox.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHOTS = `${ROOT}docs/portal/`;
const ADMIN_TOKEN = 'tgadm_portal_browser_0123456789abcdef';
const MONTH = new Date().toISOString().slice(0, 7);

/** The brand logo of the test's portal (PORTAL_LOGO_FILE): a sun over a horizon. */
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#0f766e"/><circle cx="32" cy="30" r="12" fill="#f59e0b"/><path d="M10 46h44" stroke="#fff" stroke-width="5" stroke-linecap="round"/></svg>';

const weatherSpec = {
  openapi: '3.0.3',
  info: { title: 'Weather API', version: '2.0', description: 'Current conditions and forecasts for any city.' },
  paths: {
    '/current/{city}': { get: { summary: 'Current conditions in a city', parameters: [{ name: 'city', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'Conditions' } } } },
    '/forecast/{city}': { get: { summary: 'Five-day forecast', parameters: [{ name: 'city', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'Forecast' } } } },
  },
  components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } } },
  security: [{ apiKey: [] }],
};

function config(upstreamUrl: string, portalOrigin: string): object[] {
  const api = (name: string, version: string, lifecycle: object, description: string) => ({
    apiVersion: 'tollgate.dev/v1',
    kind: 'Api',
    metadata: { name },
    spec: { product: 'weather', version, description, basePath: `/${name}`, stripBasePath: true, subscriptionRequired: true, lifecycle, policies: [{ name: 'cors', config: { allowOrigins: [portalOrigin], allowMethods: ['GET'], allowHeaders: ['x-api-key'] } }, { name: 'key-auth' }], routes: [{ name: 'all', destination: { upstream: 'weather' } }], openapi: { document: weatherSpec } },
  });
  return [
    { apiVersion: 'tollgate.dev/v1', kind: 'Upstream', metadata: { name: 'weather' }, spec: { targets: [{ url: upstreamUrl }] } },
    api('weather-v2', 'v2', { state: 'published' }, 'Current conditions and five-day forecasts.'),
    api('weather-v1', 'v1', { state: 'deprecated', sunsetAt: '2027-03-31T00:00:00Z', successor: 'weather-v2' }, 'The first version; use v2.'),
    { apiVersion: 'tollgate.dev/v1', kind: 'Plan', metadata: { name: 'starter', annotations: { 'tollgate.dev/portal-offer': 'self-service', 'tollgate.dev/portal-description': 'For trying things out.' } }, spec: { limits: [{ limit: 60, window: '1m' }], quota: { limit: 5, overage: 'hard' }, billing: { currency: 'EUR', baseFee: 900, includedUnits: 2, charge: { perUnit: { unitPrice: '50' } } } } },
    { apiVersion: 'tollgate.dev/v1', kind: 'Plan', metadata: { name: 'business', annotations: { 'tollgate.dev/portal-offer': 'approval', 'tollgate.dev/portal-description': 'For production traffic.' } }, spec: { limits: [{ limit: 600, window: '1m' }], quota: { limit: 100000, overage: 'allow' }, billing: { currency: 'EUR', baseFee: 4900, includedUnits: 50000, charge: { perUnit: { unitPrice: '0.1' } } } } },
  ];
}

/**
 * The developer portal's done-when walk in Chromium against a real Tollgate (gateway + admin +
 * portal listener) on Postgres, with a local SMTP server. Screenshots go to docs/portal/.
 */
describe.skipIf(!existsSync(CHROMIUM))('developer portal in Chromium', () => {
  let database: TestDatabase;
  let inbox: SmtpInbox;
  let upstream: RecordingUpstream;
  let tg: TollgateProcess;
  let portalUrl: string;
  let logoDir: string | undefined;
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${tg.adminUrl}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

  beforeAll(async () => {
    execFileSync('npm', ['run', 'build', '--silent', '-w', '@tollgate/portal'], { cwd: ROOT, stdio: 'ignore' });
    [database, inbox, upstream] = await Promise.all([createTestDatabase(), startSmtpInbox(), startRecordingUpstream('weather')]);
    const port = await freePort();
    portalUrl = `http://127.0.0.1:${port}`;
    logoDir = mkdtempSync(join(tmpdir(), 'portal-logo-'));
    const logo = join(logoDir, 'acme.svg');
    writeFileSync(logo, LOGO);
    tg = await startTollgateProcess({
      env: { DATABASE_URL: database.url, ADMIN_TOKEN, PORTAL: 'true', PORTAL_PORT: String(port), PORTAL_HOST: '127.0.0.1', PORTAL_SIGNUP: 'approval', PORTAL_TITLE: 'Acme Developers', PORTAL_LOGO_FILE: logo, PORTAL_PRIMARY_COLOR: '#0f766e', PORTAL_ACCENT_COLOR: '#f59e0b', SMTP_URL: inbox.url, PORTAL_MAIL_FROM: 'Acme <dev@acme.test>', USAGE_FLUSH_MS: '200' },
    });
    const applied = await admin('POST', '/config', config(upstream.url, portalUrl));
    expect(applied.status, await applied.text()).toBe(200);
    await waitUntil(async () => (await fetch(`${portalUrl}/healthz`)).ok, 10_000);
  }, 180_000);
  afterAll(async () => {
    await tg?.stop();
    await Promise.all([database?.drop(), inbox?.close(), upstream?.close()]);
    if (logoDir) rmSync(logoDir, { recursive: true, force: true });
  });

  it('walks a new developer from sign-up to a quota hit and an invoice that matches the billing report', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const problems: string[] = [];
    mkdirSync(SHOTS, { recursive: true });
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      // A CSP violation or script error shows up here: the strict policy must not break the portal.
      page.on('console', (m) => m.type() === 'error' && !/40[134]/.test(m.text()) && problems.push(m.text()));
      page.on('pageerror', (e) => problems.push(e.message));

      // Catalogue: published and deprecated (with the sunset date), no sign-in needed.
      await page.goto(`${portalUrl}/`);
      await page.getByRole('heading', { name: 'APIs' }).waitFor();
      await page.getByText('Deprecated · sunset').waitFor();
      expect(await page.title()).toBe('Acme Developers');
      expect(await page.locator('header img.logo').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
      expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--brand').trim())).toBe('#0f766e');
      await page.screenshot({ path: `${SHOTS}catalogue.png`, fullPage: true });

      // Sign up, confirm from the mail.
      await page.getByRole('link', { name: 'Sign up' }).click();
      await page.getByRole('heading', { name: 'Create your developer account' }).waitFor();
      await page.getByLabel('Name').fill('Ada Lovelace');
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password').fill('analytical engine 1843');
      await page.screenshot({ path: `${SHOTS}sign-up.png` });
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('heading', { name: 'Check your email' }).waitFor();
      const mail = await inbox.waitFor('ada@example.com', 'confirm your email');
      const link = /http:\S+/.exec(mail.text)?.[0] ?? '';
      expect(link.startsWith(`${portalUrl}/#/verify?token=`)).toBe(true);
      await page.goto(link);
      await page.getByRole('heading', { name: 'Email confirmed' }).waitFor();

      // Sign in: waiting for an operator.
      await page.goto(`${portalUrl}/#/sign-in`);
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password').fill('analytical engine 1843');
      await page.screenshot({ path: `${SHOTS}sign-in.png` });
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'APIs' }).waitFor();
      await page.goto(`${portalUrl}/#/keys`);
      await page.getByRole('heading', { name: 'Waiting for approval' }).waitFor();
      await page.screenshot({ path: `${SHOTS}waiting-for-approval.png` });

      // The operator approves through the admin API.
      const queue = (await (await admin('GET', '/portal/accounts?status=pending')).json()) as { items: Array<{ id: string; email: string }> };
      expect(queue.items.map((a) => a.email)).toEqual(['ada@example.com']);
      const approved = (await (await admin('POST', `/portal/accounts/${queue.items[0]!.id}/approve`)).json()) as { consumer: string };
      const consumer = approved.consumer;
      await inbox.waitFor('ada@example.com', 'approved');

      // Reference docs of the published version, rendered by the bundled Swagger UI.
      await page.goto(`${portalUrl}/#/`);
      await page.reload();
      await page.getByRole('link', { name: 'Reference for weather-v2 →' }).click();
      await page.getByRole('heading', { name: 'weather v2' }).waitFor();
      await page.locator('.swagger-ui .opblock-summary-path', { hasText: '/current/{city}' }).first().waitFor({ timeout: 30_000 });
      expect(await page.locator('.swagger-ui .servers').textContent()).toContain(`${tg.proxyUrl}/weather-v2`);
      await page.screenshot({ path: `${SHOTS}reference.png`, fullPage: false });

      // Subscribe to the starter plan, create a key (shown once).
      await page.getByRole('link', { name: 'Plans & usage' }).click();
      await page.getByRole('button', { name: 'Subscribe to starter' }).click();
      await page.getByText('Your plan').waitFor();
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByLabel('Key name').fill('laptop');
      await page.getByRole('button', { name: 'Create key' }).click();
      const key = (await page.getByTestId('new-key').textContent()) ?? '';
      expect(key).toMatch(/^tg_[A-Za-z0-9_-]{43}$/);
      await page.getByRole('row', { name: /laptop/ }).waitFor();
      await page.screenshot({ path: `${SHOTS}keys.png` });

      // Call the API through the real gateway until the plan's quota (5 a month) is used up.
      await waitUntil(async () => (await fetch(`${tg.proxyUrl}/weather-v2/current/paris`, { method: 'HEAD', headers: { 'x-api-key': 'tg_not_yet' } })).status === 401, 10_000);
      const statuses: number[] = [];
      // The new key and subscription reach the gateway through the change feed: retry until the first 200.
      await waitUntil(async () => {
        const r = await fetch(`${tg.proxyUrl}/weather-v2/current/paris`, { headers: { 'x-api-key': key } });
        if (r.status === 200) statuses.push(200);
        return r.status === 200;
      }, 15_000, 100);
      // "Try it out" in the reference calls the real gateway with the developer's key (the API's
      // cors policy allows the portal's origin and the X-API-Key header).
      await page.goto(`${portalUrl}/#/apis/weather-v2`);
      await page.getByLabel('Your API key for "Try it out"').fill(key);
      await page.locator('.opblock-summary', { hasText: '/current/{city}' }).first().click();
      await page.getByRole('button', { name: 'Try it out' }).click();
      await page.locator('input[placeholder="city"]').fill('paris');
      await page.getByRole('button', { name: 'Execute' }).click();
      await expect.poll(() => page.locator('.live-responses-table tbody .response-col_status').first().textContent(), { timeout: 15_000 }).toContain('200');
      await page.locator('.live-responses-table').first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}try-it.png`, fullPage: false });
      statuses.push(200);
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${tg.proxyUrl}/weather-v2/current/paris`, { headers: { 'x-api-key': key } })).status);

      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      expect(upstream.requests.filter((r) => r.url === '/current/paris')).toHaveLength(5);

      await page.goto(`${portalUrl}/#/plans`);
      const usage = page.getByRole('article', { name: 'Usage on starter' });
      await usage.getByText('Used up.').waitFor();
      expect(await usage.textContent()).toContain('5 / 5');
      // The business plan is offered with approval: a request, visible to operators, not a subscription.
      await page.getByRole('button', { name: 'Request business' }).click();
      await page.getByText('Requested · waiting for approval').waitFor();
      const requests = (await (await admin('GET', '/portal/subscription-requests?status=pending')).json()) as { items: Array<{ plan: string; consumer: string }> };
      expect(requests.items).toMatchObject([{ plan: 'business', consumer }]);
      await page.screenshot({ path: `${SHOTS}plans-and-usage.png`, fullPage: true });

      // The month's invoice, as the developer downloads it, against GET /reports/billing.
      await page.getByRole('link', { name: 'Invoices' }).click();
      await page.getByRole('row', { name: /preview/ }).waitFor();
      await page.screenshot({ path: `${SHOTS}invoices.png` });
      type Report = { totals: Array<{ consumer: string; amount: number; currency: string }>; lines: Array<{ quantity: number }> };
      // Usage reaches the Postgres rollups within a flush (USAGE_FLUSH_MS): wait for all five calls.
      let expected: Report | undefined;
      await waitUntil(async () => {
        expected = (await (await admin('GET', `/reports/billing?month=${MONTH}&consumer=${consumer}&format=json`)).json()) as Report;
        return expected.lines.reduce((n, l) => n + l.quantity, 0) >= 5;
      }, 15_000, 200);
      const mine = await page.evaluate(async (m) => (await fetch(`/api/invoice?month=${m}&format=json`)).json(), MONTH) as Report;
      expect(mine.totals).toEqual(expected!.totals);
      expect(mine.totals[0]).toMatchObject({ consumer, currency: 'EUR' });
      expect(mine.totals[0]!.amount).toBeGreaterThan(0);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'PDF' }).first().click()]);
      expect(download.suggestedFilename()).toContain('.pdf');
      const csv = await page.evaluate(async (m) => (await fetch(`/api/invoice?month=${m}&format=csv`)).text(), MONTH);
      expect(csv).toContain(consumer);
      const htmlInvoice = await context.newPage();
      await htmlInvoice.goto(`${portalUrl}/api/invoice?month=${MONTH}&format=html`);
      await htmlInvoice.screenshot({ path: `${SHOTS}invoice.png`, fullPage: true });
      await htmlInvoice.close();

      // Another developer cannot read or change Ada's keys, usage or invoices by changing ids.
      const other = await browser.newContext();
      const bob = await other.newPage();
      await bob.goto(`${portalUrl}/`);
      const signUp = await bob.evaluate(async () => (await fetch('/api/sign-up', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bob@example.com', password: 'bob has a long one' }) })).status);
      expect(signUp).toBe(202);
      const token = linkToken(await inbox.waitFor('bob@example.com', 'confirm'));
      await bob.evaluate(async (t) => fetch('/api/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: t }) }), token);
      const bobId = ((await (await admin('GET', '/portal/accounts?status=pending')).json()) as { items: Array<{ id: string }> }).items[0]!.id;
      expect((await admin('POST', `/portal/accounts/${bobId}/approve`)).status).toBe(200);
      const adaKeyId = ((await page.evaluate(async () => (await fetch('/api/keys')).json())) as { items: Array<{ id: string }> }).items[0]!.id;
      const forged = await bob.evaluate(
        async ({ keyId, victim, month }) => {
          const s = (await (await fetch('/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bob@example.com', password: 'bob has a long one' }) })).json()) as { csrfToken: string };
          return {
            revoke: (await fetch(`/api/keys/${keyId}`, { method: 'DELETE', headers: { 'x-csrf-token': s.csrfToken } })).status,
            keys: await (await fetch('/api/keys')).text(),
            usage: await (await fetch('/api/subscriptions')).text(),
            invoiceForOther: (await fetch(`/api/invoice?month=${month}&format=json&consumer=${victim}`)).status,
            invoice: await (await fetch(`/api/invoice?month=${month}&format=json`)).text(),
            adminApi: (await fetch(`/consumers/${victim}/keys`)).status,
          };
        },
        { keyId: adaKeyId, victim: consumer, month: MONTH },
      );
      expect(forged.revoke).toBe(404);
      expect(forged.keys).toBe('{"items":[]}');
      expect(forged.usage).toBe('{"items":[]}');
      expect(forged.invoiceForOther).toBe(400);
      expect(forged.invoice).not.toContain(consumer);
      expect(forged.adminApi).toBe(404); // the portal listener has no admin routes at all
      expect((await fetch(`${tg.proxyUrl}/weather-v2/current/paris`, { headers: { 'x-api-key': key } })).status).toBe(429); // Ada's key still stands
      await other.close();

      // Readable on a phone.
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
      const mobile = await phone.newPage();
      await mobile.goto(`${portalUrl}/`);
      await mobile.getByRole('heading', { name: 'APIs' }).waitFor();
      expect(await mobile.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      await mobile.screenshot({ path: `${SHOTS}phone-catalogue.png` });
      await phone.close();

      // The session cookie is HttpOnly and SameSite=Strict; nothing secret in storage.
      expect(await page.evaluate(() => document.cookie)).toBe('');
      const cookies = await context.cookies();
      expect(cookies.find((c) => c.name === 'tollgate_portal')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 180_000);
});
