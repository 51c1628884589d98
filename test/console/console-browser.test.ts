import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, stream, upstreamYaml } from '../admin/harness.js';
import { buildConsole } from './console-build.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTollgateProcess, type TollgateProcess } from '../support/tollgate-process.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = `${ROOT}docs/console/`;
const ADMIN_TOKEN = 'tgadm_console_browser_0123456789abcdef';

/**
 * The console in a real browser against a real admin process on Postgres: sign in with a token,
 * see the API list, sign out. Screenshots go to docs/console/ (shown in docs/console.md).
 */
describe.skipIf(!existsSync(CHROMIUM))('web console in Chromium', () => {
  let database: TestDatabase;
  let admin: TollgateProcess;

  beforeAll(async () => {
    await buildConsole();
    database = await createTestDatabase();
    admin = await startTollgateProcess({ role: 'admin', env: { DATABASE_URL: database.url, ADMIN_TOKEN } });
    const applied = await fetch(`${admin.adminUrl}/config`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' },
      body: stream(upstreamYaml('httpbin'), apiYaml('httpbin', 'httpbin', '/httpbin'), apiYaml('orders-v1', 'httpbin', '/orders')),
    });
    expect(applied.status, await applied.text()).toBe(200);
  }, 90_000);
  afterAll(async () => {
    await admin?.stop();
    await database?.drop();
  });

  it('signs in with a token, lists the APIs, keeps no token in the page, and signs out', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 720 } });
      // A CSP violation or script error shows up here: the strict policy must not break the app.
      page.on('console', (m) => m.type() === 'error' && !m.text().includes('401') && problems.push(m.text()));
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`${admin.adminUrl}/console/`);
      await page.getByRole('heading', { name: 'Sign in to the console' }).waitFor();
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: `${SCREENSHOTS}sign-in.png` });

      await page.getByLabel('Admin token').fill('tgadm_not_a_real_token_000000');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('not valid');

      await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor(); // the landing screen
      await page.getByRole('link', { name: 'APIs' }).click();
      await page.getByRole('heading', { name: 'APIs' }).waitFor();
      const row = page.getByRole('row', { name: /orders-v1/ });
      await row.waitFor();
      expect(await row.textContent()).toContain('/orders');
      expect(await page.getByRole('row').count()).toBe(3); // header + 2 APIs
      await page.screenshot({ path: `${SCREENSHOTS}apis.png` });

      // The session lives in an HttpOnly cookie: nothing a script could read or steal.
      expect(await page.evaluate(() => document.cookie)).toBe('');
      expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))).not.toContain(ADMIN_TOKEN);
      const cookies = await page.context().cookies();
      expect(cookies).toHaveLength(1);
      expect(cookies[0]).toMatchObject({ name: 'tollgate_console', httpOnly: true, sameSite: 'Strict', path: '/' });

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByText('You have signed out.').waitFor();
      // The old cookie (if a browser kept it) no longer opens anything.
      const after = await page.evaluate(async () => (await fetch('/apis', { credentials: 'same-origin' })).status);
      expect(after).toBe(401);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
