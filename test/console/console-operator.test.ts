import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, type TollgateProcess } from '../support/tollgate-process.js';
import { buildConsole } from './console-build.js';
import { CHROMIUM, expectAccessible, launchChromium, signIn, waitUntil, watchProblems } from './console-support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = `${ROOT}docs/console/`;
const ADMIN_TOKEN = 'tgadm_console_operator_0123456789abcdef';

/** More customers than one page of the Consumers screen (25) holds. */
const CUSTOMERS = ['globex', 'initech', 'hooli', 'umbrella', 'stark-industries', 'wayne-enterprises', 'wonka', 'tyrell', 'aperture', 'blue-sun', 'cyberdyne', 'duff', 'gekko', 'gringotts', 'hanso', 'ingen', 'lacuna', 'massive-dynamic', 'monarch', 'nakatomi', 'oceanic', 'octan', 'pied-piper', 'soylent', 'vandelay', 'virtucon', 'weyland-yutani', 'yoyodyne'];

/** The shop API behind key-auth, two priced plans, and a few customers so the lists look lived in. */
function configYaml(upstreamUrl: string): string {
  return [
    `kind: Upstream\nmetadata: { name: shop-backend }\nspec: { targets: [{ url: "${upstreamUrl}" }] }`,
    `kind: Api\nmetadata: { name: shop }\nspec:\n  version: v1\n  basePath: /shop\n  description: Orders and catalogue\n  policies: [{ name: key-auth }]\n  routes:\n    - { name: orders, match: [{ path: { prefix: /orders } }], destination: { upstream: shop-backend } }\n    - { name: catalogue, destination: { upstream: shop-backend } }`,
    `kind: Plan\nmetadata: { name: starter }\nspec:\n  description: For trying the API out\n  quota: { limit: 5 }\n  billing: { currency: EUR, baseFee: 1900, charge: { perUnit: { unitPrice: "50" } } }`,
    `kind: Plan\nmetadata: { name: pro }\nspec:\n  description: Production traffic with volume pricing\n  limits: [{ limit: 50, window: 1s }]\n  quota: { limit: 1000000, overage: allow }\n  billing:\n    currency: EUR\n    baseFee: 9900\n    includedUnits: 100000\n    charge: { graduated: { tiers: [{ upTo: 1000000, unitPrice: "0.1" }, { upTo: null, unitPrice: "0.05" }] } }`,
    ...CUSTOMERS.map(
      (name, i) => `kind: Consumer\nmetadata: { name: ${name} }\nspec: { customId: "CRM-${2001 + i * 17}", groups: [${i % 3 === 0 ? 'partners' : 'customers'}] }`,
    ),
  ]
    .map((d) => `apiVersion: tollgate.dev/v1\n${d}\n`)
    .join('---\n');
}

/** RFC 4180 fields of one CSV line (quoted fields may hold commas and doubled quotes). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') out.push(field), (field = '');
    else field += c;
  }
  out.push(field);
  return out;
}

/**
 * A new operator's first hour in the console, in Chromium against one real Tollgate process (gateway
 * and admin on Postgres): consumers, keys, plans and quota, usage, billing, analytics, audit log and
 * admin tokens; then what a viewer and a billing user can and cannot do, and a forged cross-site
 * POST. Screenshots of each screen go to docs/console/.
 */
describe.skipIf(!existsSync(CHROMIUM))('console: consumers, plans, billing, analytics, audit, settings', () => {
  let database: TestDatabase;
  let tollgate: TollgateProcess;
  let upstream: RecordingUpstream;
  const tokens = { viewer: '', billing: '' };
  const bearer = (path: string, init: RequestInit = {}) => fetch(`${tollgate.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers as Record<string, string>) } });

  beforeAll(async () => {
    // `npm test` runs `tsc -b` only: build the console (about 2 s) unless the build is current.
    await buildConsole();
    database = await createTestDatabase();
    upstream = await startRecordingUpstream('shop');
    tollgate = await startTollgateProcess({ role: 'all', env: { DATABASE_URL: database.url, ADMIN_TOKEN, USAGE_FLUSH_MS: '200', MAX_EVENT_LOOP_DELAY_MS: '0', LOG_LEVEL: 'warn' } });
    const applied = await bearer('/config', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: configYaml(upstream.url) });
    expect(applied.status, await applied.text()).toBe(200);
    for (const role of ['viewer', 'billing'] as const) {
      const res = await bearer('/admin-tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `${role}-user`, role }) });
      expect(res.status).toBe(201);
      tokens[role] = ((await res.json()) as { token: string }).token;
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await tollgate?.stop();
    await upstream?.close();
    await database?.drop();
  });

  const shot = (page: Page, name: string) => page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });

  it('walks an operator through consumers, keys, quota, usage, billing, analytics, audit log and tokens', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: tollgate.adminUrl });
      const page = await context.newPage();
      // The browser logs every HTTP error; the refused double subscription (409) is one on purpose.
      const problems = watchProblems(page, /\b(401|403|409|429)\b/);

      // Time to first screen: from navigation start until the sign-in form is on screen.
      await page.goto(`${tollgate.adminUrl}/console/`);
      await page.getByRole('heading', { name: 'Sign in to the console' }).waitFor();
      const firstScreenMs = await page.evaluate(() => performance.now());
      console.log(`console time to first screen (localhost, under test load): ${firstScreenMs.toFixed(0)} ms`);
      await signIn(page, tollgate.adminUrl, ADMIN_TOKEN);

      // Consumers: server-side search.
      await page.getByRole('link', { name: 'Consumers' }).click();
      await page.getByRole('heading', { name: 'Consumers', level: 1 }).waitFor();
      await page.getByRole('row', { name: /globex/ }).waitFor();
      await page.getByLabel('Search consumers').fill('crm-2018');
      await waitUntil(async () => (await page.getByRole('row').count()) === 2, 10_000, 'one search hit');
      expect(await page.getByRole('row').nth(1).textContent()).toContain('initech');
      await page.getByLabel('Search consumers').fill('');
      await page.getByRole('row', { name: /aperture/ }).waitFor();
      // 28 consumers: 25 on page 1, the rest on page 2 (keyset cursors, Previous goes back).
      expect(await page.getByRole('row').count()).toBe(26);
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('row', { name: /yoyodyne/ }).waitFor();
      expect(await page.getByRole('row').count()).toBe(4);
      expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Previous' }).click();
      await page.getByRole('row', { name: /aperture/ }).waitFor();

      // Create a consumer, then a key: the plaintext is shown once and copied.
      await page.getByRole('button', { name: 'New consumer' }).click();
      await page.getByLabel('Name', { exact: true }).fill('acme');
      await page.getByLabel('Custom ID (optional)').fill('CRM-1042');
      await page.getByRole('button', { name: 'Create consumer' }).click();
      await page.getByRole('heading', { name: 'acme', level: 1 }).waitFor();
      await page.getByText('No keys yet').waitFor();
      await expectAccessible(page, 'consumer page');
      await page.getByLabel('Label').fill('production');
      await page.getByRole('button', { name: 'Create key' }).click();
      const secret = page.getByTestId('secret-value');
      await secret.waitFor();
      const shown = (await secret.textContent()) ?? '';
      expect(shown).toMatch(/^tg_[A-Za-z0-9_-]{40,}$/);
      await page.getByRole('button', { name: 'Copy new api key' }).click();
      await page.getByRole('button', { name: 'Copy new api key' }).getByText('Copied').waitFor();
      const key = await page.evaluate(() => navigator.clipboard.readText());
      expect(key).toBe(shown);
      await shot(page, 'consumer-new-key');
      await page.getByRole('button', { name: 'I have stored it' }).click();
      expect(await page.getByTestId('secret-value').count()).toBe(0);
      await page.getByRole('row', { name: /production/ }).waitFor();
      expect(await page.content()).not.toContain(key); // gone from the page: shown once

      // The copied key calls the API through the gateway.
      await waitUntil(async () => (await fetch(`${tollgate.proxyUrl}/shop/orders`, { headers: { apikey: key } })).status === 200, 15_000, 'the new key to authenticate');

      // Put acme on the starter plan (5 requests a month) and use it up.
      await page.getByLabel('Plan', { exact: true }).selectOption('starter');
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await page.getByRole('row', { name: /starter/ }).waitFor();
      // Subscribing again to the same plan is refused with the server's reason, not a silent restart.
      await page.getByRole('button', { name: 'Subscribe' }).click();
      expect(await page.getByRole('region', { name: 'Subscriptions and quota' }).getByRole('alert').textContent()).toMatch(/exists/);
      const statuses: number[] = [];
      await waitUntil(
        async () => {
          const res = await fetch(`${tollgate.proxyUrl}/shop/orders`, { headers: { apikey: key } });
          statuses.push(res.status);
          return res.status === 429;
        },
        20_000,
        'the quota to run out',
      );
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
      await waitUntil(
        async () => {
          await page.getByRole('region', { name: 'Subscriptions and quota' }).getByRole('button', { name: 'Refresh' }).click();
          return (await page.getByRole('region', { name: 'Subscriptions and quota' }).textContent())?.includes('used up: 429');
        },
        10_000,
        'the remaining quota to show 0',
      );
      expect(await page.getByTestId(/^remaining-/).textContent()).toMatch(/^0/);

      // The usage chart moves once the gateway has written its rollups.
      await waitUntil(
        async () => {
          await page.getByRole('region', { name: 'Usage, last 24 hours' }).getByRole('button', { name: 'Refresh' }).click();
          const total = (await page.getByTestId('usage-total').textContent()) ?? '';
          return Number(total.replace(/\D/g, '')) >= 2;
        },
        20_000,
        'usage to be counted',
      );
      // A fresh load for the screenshot: the refused second subscription's message stays on screen otherwise.
      await page.reload();
      await page.getByRole('heading', { name: 'Subscriptions and quota' }).waitFor();
      await page.getByRole('region', { name: 'Subscriptions and quota' }).getByText('used up: 429').waitFor();
      await page.locator('.chart canvas').first().waitFor();
      await shot(page, 'consumer');

      await page.getByRole('link', { name: 'Consumers' }).first().click();
      await page.getByRole('row', { name: /acme/ }).waitFor();
      await expectAccessible(page, 'consumers');
      await shot(page, 'consumers');

      // Plans with their prices.
      await page.getByRole('link', { name: 'Plans' }).click();
      await page.getByRole('heading', { name: 'starter' }).waitFor();
      expect(await page.getByRole('article', { name: 'starter' }).textContent()).toContain('€19.00');
      await expectAccessible(page, 'plans');
      await shot(page, 'plans');

      // Billing: this month's report; the CSV download's total matches GET /reports/billing.
      await page.getByRole('link', { name: 'Billing' }).click();
      await page.getByRole('row', { name: /acme/ }).first().waitFor();
      const month = await page.getByLabel('Month').inputValue();
      const report = (await (await bearer(`/reports/billing?month=${month}&format=json`)).json()) as { totals: Array<{ consumer: string; amount: number }> };
      const jsonTotal = report.totals.reduce((a, t) => a + t.amount, 0);
      expect(report.totals.find((t) => t.consumer === 'acme')?.amount).toBeGreaterThan(0);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV' }).click()]);
      expect(download.suggestedFilename()).toBe(`billing-${month}.csv`);
      const csv = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
      const [header, ...rows] = csv.trim().split('\r\n').map(csvFields);
      const amount = header?.indexOf('amount') ?? -1;
      const type = header?.indexOf('line_type') ?? -1;
      const csvTotal = rows.filter((r) => r[type] === 'total').reduce((a, r) => a + Number(r[amount]), 0);
      const csvLines = rows.filter((r) => r[type] !== 'total').reduce((a, r) => a + Number(r[amount]), 0);
      expect(csvTotal).toBe(jsonTotal);
      expect(csvLines).toBe(jsonTotal);
      const euros = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR' }).format(jsonTotal / 100);
      expect(await page.getByTestId('billing-total').textContent()).toBe(euros);
      // Every download link answers with its format (the session cookie authenticates it).
      const downloads = await page.evaluate(async () =>
        Promise.all(
          [...document.querySelectorAll<HTMLAnchorElement>('a[download]')].map(async (a) => {
            const res = await fetch(a.href);
            return `${new URL(a.href).searchParams.get('format') ?? ''} ${res.status} ${res.headers.get('content-type')?.split(';')[0] ?? ''}`;
          }),
        ),
      );
      expect(downloads).toEqual(['csv 200 text/csv', 'json 200 application/json', 'html 200 text/html', 'pdf 200 application/pdf']);
      await expectAccessible(page, 'billing');
      await shot(page, 'billing');

      // Analytics by API and by status class.
      await page.getByRole('link', { name: 'Analytics' }).click();
      await waitUntil(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return (await page.getByRole('row', { name: /^shop\b/ }).count()) === 1;
        },
        15_000,
        'the shop API in the analytics',
      );
      await page.getByLabel('Group by', { exact: true }).selectOption('status_class');
      await page.getByRole('row', { name: /^4xx \d/ }).waitFor();
      await page.getByRole('row', { name: /^2xx \d/ }).waitFor();
      await expectAccessible(page, 'analytics');
      await shot(page, 'analytics');

      // Audit log, filtered on the server.
      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByRole('row', { name: /console\.sign-in/ }).first().waitFor();
      await page.getByLabel('Action').fill('api-key.create');
      await page.getByRole('button', { name: 'Filter' }).click();
      await waitUntil(async () => (await page.getByRole('row').count()) === 2, 10_000, 'one api-key.create entry');
      expect(await page.getByRole('row').nth(1).textContent()).toContain('Consumer/acme');
      await page.getByLabel('Action').fill('');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.getByRole('row', { name: /subscription\.create.*rejected 409/ }).waitFor();
      await expectAccessible(page, 'audit log');
      await shot(page, 'audit-log');

      // Settings: an admin token is shown once, then revoked.
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByRole('row', { name: /viewer-user/ }).waitFor();
      await page.getByLabel('Name').fill('ci-deploy');
      await page.getByLabel('Role').selectOption('operator');
      await page.getByRole('button', { name: 'Create token' }).click();
      const newToken = (await page.getByTestId('secret-value').textContent()) ?? '';
      expect(newToken).toMatch(/^tgadm_/);
      expect((await fetch(`${tollgate.adminUrl}/apis`, { headers: { authorization: `Bearer ${newToken}` } })).status).toBe(200);
      await page.getByRole('button', { name: 'I have stored it' }).click();
      await page.getByRole('button', { name: 'Revoke token ci-deploy' }).click();
      await page.getByRole('button', { name: 'Revoke token', exact: true }).click();
      await page.getByRole('row', { name: /ci-deploy.*revoked/ }).waitFor();
      expect((await fetch(`${tollgate.adminUrl}/apis`, { headers: { authorization: `Bearer ${newToken}` } })).status).toBe(401);
      await expectAccessible(page, 'settings');
      await shot(page, 'settings');

      // Revoking the key in the console stops it at the gateway.
      await page.goto(`${tollgate.adminUrl}/console/#consumers/acme`);
      await page.getByRole('button', { name: /^Revoke key tg_/ }).click();
      await page.getByRole('button', { name: 'Revoke key', exact: true }).click();
      await page.getByRole('row', { name: /production.*revoked/ }).waitFor();
      await waitUntil(async () => (await fetch(`${tollgate.proxyUrl}/shop/orders`, { headers: { apikey: key } })).status === 401, 15_000, 'the revoked key to be refused');

      // Sign-out ends the session on the server.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByText('You have signed out.').waitFor();
      expect(await page.evaluate(async () => (await fetch('/consumers', { credentials: 'same-origin' })).status)).toBe(401);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 180_000);

  it('a viewer sees but cannot change; the server answers 403 to a forged change with the CSRF token', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await signIn(page, tollgate.adminUrl, tokens.viewer);
      const nav = page.getByRole('navigation', { name: 'Console' });
      await nav.getByRole('link', { name: 'Consumers' }).waitFor();
      for (const hidden of ['Billing', 'Audit log', 'Settings']) expect(await nav.getByRole('link', { name: hidden }).count(), hidden).toBe(0);
      await nav.getByRole('link', { name: 'Consumers' }).click();
      await page.getByRole('row', { name: /globex/ }).waitFor();
      expect(await page.getByRole('button', { name: 'New consumer' }).count()).toBe(0);
      await page.getByRole('link', { name: 'globex' }).click();
      await page.getByRole('heading', { name: 'API keys' }).waitFor();
      await page.getByRole('heading', { name: 'Subscriptions and quota' }).waitFor();
      expect(await page.getByRole('button', { name: 'Create key' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Subscribe' }).count()).toBe(0);
      // Empty and error states: a search that matches nothing, a consumer that does not exist.
      await page.goto(`${tollgate.adminUrl}/console/#consumers`);
      await page.getByLabel('Search consumers').fill('no-such-customer');
      await page.getByRole('heading', { name: 'No consumer matches' }).waitFor();
      await page.goto(`${tollgate.adminUrl}/console/#consumers/no-such-customer`);
      expect(await page.getByRole('alert').textContent()).toContain('Consumer/no-such-customer does not exist');
      // A screen the role cannot use says so instead of failing.
      await page.goto(`${tollgate.adminUrl}/console/#settings`);
      await page.getByRole('heading', { name: 'Nothing to show here' }).waitFor();

      // Keyboard only: Tab reaches the menu, Enter follows a link, the search box takes typing.
      await page.goto(`${tollgate.adminUrl}/console/#apis`);
      await page.getByRole('heading', { name: 'APIs', level: 1 }).waitFor();
      await waitUntil(
        async () => {
          await page.keyboard.press('Tab');
          return (await page.evaluate(() => document.activeElement?.textContent?.trim())) === 'Consumers';
        },
        10_000,
        'Tab to reach the Consumers link',
      );
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Consumers', level: 1 }).waitFor();
      await page.getByLabel('Search consumers').focus();
      await page.keyboard.type('wonka');
      await waitUntil(async () => (await page.getByRole('row').count()) === 2, 10_000, 'the typed search');
      await expectAccessible(page, 'consumers (viewer)');

      // Forged: a script in the page with the session's own CSRF token still gets 403 for each change.
      const statuses = await page.evaluate(async () => {
        const { csrfToken } = (await (await fetch('/console/session')).json()) as { csrfToken: string };
        const headers = { 'content-type': 'application/json', 'x-csrf-token': csrfToken };
        const tries = [
          fetch('/consumers/globex/keys', { method: 'POST', headers, body: '{}' }),
          fetch('/consumers', { method: 'POST', headers, body: JSON.stringify({ metadata: { name: 'forged' }, spec: {} }) }),
          fetch('/admin-tokens', { method: 'POST', headers, body: JSON.stringify({ name: 'forged', role: 'admin' }) }),
        ];
        return Promise.all(tries.map(async (t) => (await t).status));
      });
      expect(statuses).toEqual([403, 403, 403]);
      expect((await bearer('/consumers/forged')).status).toBe(404);
      expect(((await (await bearer('/consumers/globex/keys')).json()) as { items: unknown[] }).items).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  // Reads the month's bill the operator walk above produced (the tests of this file run in order).
  it('a billing user lands on Billing, sees consumers but no configuration', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const problems = watchProblems(page);
      await signIn(page, tollgate.adminUrl, tokens.billing);
      await page.getByRole('heading', { name: 'Billing', level: 1 }).waitFor();
      await page.getByRole('row', { name: /acme/ }).first().waitFor();
      const nav = page.getByRole('navigation', { name: 'Console' });
      expect(await nav.getByRole('link').allTextContents()).toEqual(['Consumers', 'Billing']);
      expect(await page.evaluate(async () => (await fetch('/apis')).status)).toBe(403);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('refuses a forged cross-site POST carrying the session cookie', async () => {
    // A page on another origin (same host, other port: same-site, so the browser does send the
    // SameSite=Strict cookie) auto-submits a form to the admin API.
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<form id="f" method="POST" action="${tollgate.adminUrl}/admin-tokens" enctype="text/plain"><input name='{"name":"evil","role":"admin","x":"' value='"}'></form><script>document.getElementById('f').submit()</script>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await signIn(page, tollgate.adminUrl, ADMIN_TOKEN);
      const before = ((await (await bearer('/admin-tokens')).json()) as { items: unknown[] }).items.length;
      const answered = page.waitForResponse((r) => r.url().endsWith('/admin-tokens') && r.request().method() === 'POST');
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const res = await answered;
      expect(res.status()).toBe(403);
      expect(await res.text()).toMatch(/cross-site|CSRF/i);
      expect(((await (await bearer('/admin-tokens')).json()) as { items: unknown[] }).items.length).toBe(before);
    } finally {
      await browser.close();
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    }
  }, 60_000);
});
