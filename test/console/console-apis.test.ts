import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from './console-build.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = `${ROOT}docs/console/`;
const ADMIN_TOKEN = 'tgadm_console_apis_0123456789abcdef0123';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const API = 'vs-httpbin';
const HOST = 'httpbin.example.com';

/** The Istio httpbin example of README.md, with the Endpoints pointing at a real local upstream. */
function istioHttpbin(port: number): string {
  return `apiVersion: v1
kind: Service
metadata: { name: httpbin }
spec:
  ports: [{ name: http, port: 8000, targetPort: ${port} }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: httpbin }
subsets:
- addresses: [{ ip: 127.0.0.1 }]
  ports: [{ name: http, port: ${port} }]
---
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: httpbin-gateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - "${HOST}"
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts:
  - "${HOST}"
  gateways:
  - httpbin-gateway
  http:
  - match:
    - uri:
        prefix: /status
    route:
    - destination:
        port:
          number: 8000
        host: httpbin
`;
}

/** A GET through the gateway with a Host header (fetch does not let a caller set Host). */
function proxied(gateway: TollgateProcess, path: string): Promise<number> {
  const url = new URL(path, gateway.proxyUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: { host: HOST } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** axe-core in the page (evaluated over the DevTools protocol: the console's CSP forbids inline scripts); serious and critical violations. */
async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => JSON.stringify(n.target)) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.targets.join(', ')}`);
}

async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/console/`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
}

/**
 * An operator's first hour on the config screens, in Chromium against a real admin and a real
 * gateway process on Postgres: import the Istio httpbin example, find it, break and fix its YAML
 * with a dry-run diff, proxy a request and see it on the Overview, see the upstream healthy,
 * deprecate and retire it; a viewer sees no mutating control and a forged change gets 403.
 * Screenshots go to docs/console/.
 */
describe.skipIf(!existsSync(CHROMIUM))('console: Overview, APIs, Import, Upstreams in Chromium', () => {
  let database: TestDatabase;
  let admin: TollgateProcess;
  let gateway: TollgateProcess;
  let upstream: RecordingUpstream;
  let viewerToken: string;
  let browser: Browser;

  beforeAll(async () => {
    await buildConsole();
    database = await createTestDatabase();
    upstream = await startRecordingUpstream('httpbin');
    const env = { DATABASE_URL: database.url, ADMIN_TOKEN, NODE_HEARTBEAT_MS: '500', USAGE_FLUSH_MS: '200', CONFIG_POLL_MS: '500' };
    admin = await startTollgateProcess({ role: 'admin', env });
    gateway = await startTollgateProcess({ role: 'gateway', env });
    const created = await fetch(`${admin.adminUrl}/admin-tokens`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'auditor', role: 'viewer' }) });
    expect(created.status, await created.clone().text()).toBe(201);
    viewerToken = ((await created.json()) as { token: string }).token;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await admin?.stop();
    await upstream?.close();
    await database?.drop();
  });

  it('imports the Istio example, edits it with a dry-run diff, counts traffic, and deprecates and retires it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && !/\b(401|403|422)\b/.test(m.text()) && problems.push(m.text()));
    await signIn(page, admin.adminUrl, ADMIN_TOKEN);
    // Empty states of a fresh gateway: no traffic yet, no upstreams yet.
    await page.getByRole('heading', { name: 'No traffic yet' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('link', { name: 'Upstreams' }).click();
    await page.getByRole('heading', { name: 'No upstreams yet' }).waitFor();

    // Import: paste, preview (diff, nothing applied yet), apply.
    await page.getByRole('link', { name: 'Import' }).click();
    await page.getByRole('heading', { name: 'Import', level: 1 }).waitFor();
    await page.getByLabel('Documents to import').fill(istioHttpbin(upstream.port));
    await expect.poll(() => page.getByText('Kubernetes / Istio / Gateway API / Tollgate YAML').count()).toBe(1);
    await expect.poll(() => page.getByRole('button', { name: 'Apply import' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Preview import' }).click();
    await page.getByRole('region', { name: `Diff of Api/${API}` }).waitFor();
    await page.getByRole('region', { name: 'Diff of Upstream/svc-httpbin-8000' }).waitFor();
    expect(await page.getByRole('region', { name: `Diff of Api/${API}` }).textContent()).toContain(`+  hosts:`);
    expect((await fetch(`${admin.adminUrl}/apis/${API}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(404); // a preview commits nothing
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: `${SCREENSHOTS}import.png`, fullPage: true });
    await page.getByRole('button', { name: 'Apply import' }).click();
    await page.getByRole('status').filter({ hasText: 'Imported: configuration version' }).waitFor();

    // The API list has it; its page shows the route.
    await page.getByRole('link', { name: `Open ${API}` }).click();
    await page.getByRole('heading', { name: API, level: 1 }).waitFor();
    await page.getByRole('link', { name: 'APIs', exact: true }).first().click();
    await page.getByRole('row', { name: new RegExp(API) }).waitFor();
    await page.getByRole('link', { name: API }).click();
    await page.getByRole('heading', { name: API, level: 1 }).waitFor();
    expect(await page.getByRole('row', { name: /svc-httpbin-8000/ }).count()).toBe(1);
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: `${SCREENSHOTS}api.png`, fullPage: true });

    // An error in the YAML is placed on its line.
    const editor = page.getByLabel(`YAML of Api/${API}`);
    const original = await editor.inputValue();
    const lines = original.split('\n');
    const badLine = lines.findIndex((l) => l.includes('upstream: svc-httpbin-8000')) + 1;
    expect(badLine).toBeGreaterThan(0);
    await editor.fill(original.replace('upstream: svc-httpbin-8000', 'upstream: no-such-upstream'));
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await page.getByRole('list', { name: 'Validation errors' }).waitFor();
    expect(await page.locator('.gutter-error').getAttribute('data-line')).toBe(String(badLine));
    expect(await page.getByRole('list', { name: 'Validation errors' }).textContent()).toContain(`Line ${badLine}`);
    await page.getByRole('button', { name: `Line ${badLine}` }).click();
    expect(await editor.evaluate((el: HTMLTextAreaElement) => el.value.slice(el.selectionStart, el.selectionEnd))).toContain('no-such-upstream');
    await page.locator('.yaml-apply').screenshot({ path: `${SCREENSHOTS}api-yaml-error.png` });

    // A valid edit: the dry-run diff shows exactly it; apply commits it.
    expect(original).toContain('  description: ""\n');
    await editor.fill(original.replace('  description: ""\n', '  description: httpbin, imported from Istio\n'));
    await page.getByRole('button', { name: 'Preview changes' }).click();
    const diff = page.getByRole('region', { name: `Diff of Api/${API}` });
    await diff.waitFor();
    expect(await diff.locator('.diff-add').allTextContents()).toEqual(['+  description: httpbin, imported from Istio\n']);
    expect(await diff.locator('.diff-del').allTextContents()).toEqual(['-  description: ""\n']);
    await page.screenshot({ path: `${SCREENSHOTS}api-dry-run-diff.png`, fullPage: true });
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await page.getByText('httpbin, imported from Istio').first().waitFor();

    // Traffic through the real gateway shows on the Overview.
    await waitUntil(async () => (await proxied(gateway, '/status/200')) === 200, 20_000, 100);
    for (let i = 0; i < 4; i++) expect(await proxied(gateway, `/status/${i}`)).toBe(200);
    await page.getByRole('link', { name: 'Overview' }).click();
    await expect
      .poll(
        async () => {
          await page.getByRole('link', { name: 'Upstreams' }).click();
          await page.getByRole('link', { name: 'Overview' }).click();
          await page.locator('.tile-note').first().waitFor();
          return page.locator('.tile-note').first().textContent();
        },
        { timeout: 30_000, interval: 500 },
      )
      .toMatch(/^[5-9] requests since/);
    await page.getByRole('row', { name: /in sync/ }).waitFor({ timeout: 15_000 });
    expect(await page.getByRole('row', { name: /in sync/ }).locator('.badge-up').textContent()).toBe('up');
    await page.locator('.u-over').first().waitFor(); // the uPlot chart is drawn
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: `${SCREENSHOTS}overview.png`, fullPage: true });

    // Upstreams: the target, healthy as the gateway node reports it, circuit closed.
    await page.getByRole('link', { name: 'Upstreams' }).click();
    const targetRow = page.getByRole('row', { name: new RegExp(`127\\.0\\.0\\.1:${upstream.port}`) });
    await expect.poll(() => targetRow.textContent(), { timeout: 15_000 }).toMatch(/healthy.*closed/);
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: `${SCREENSHOTS}upstreams.png`, fullPage: true });

    // Lifecycle: deprecate, then retire, each confirmed with its consequence.
    await page.goto(`${admin.adminUrl}/console/#apis/${API}`);
    await page.getByRole('heading', { name: API, level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Deprecate' }).click();
    const deprecateDialog = page.getByRole('dialog', { name: `Deprecate ${API}?` });
    expect(await deprecateDialog.textContent()).toContain('Deprecation header (RFC 9745)');
    await deprecateDialog.getByRole('button', { name: 'Deprecate' }).click();
    await page.locator('.api-head .badge-deprecated').waitFor();
    await page.getByRole('button', { name: 'Retire' }).click();
    const retireDialog = page.getByRole('dialog', { name: `Retire ${API}?` });
    expect(await retireDialog.textContent()).toContain('Retired answers 410 Gone to every caller');
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: `${SCREENSHOTS}api-retire-confirm.png` });
    await retireDialog.getByRole('button', { name: 'Retire' }).click();
    await page.locator('.api-head .badge-retired').waitFor();
    expect(await page.getByRole('button', { name: 'Retire' }).count()).toBe(0); // nothing leaves retired
    await waitUntil(async () => (await proxied(gateway, '/status/200')) === 410, 20_000, 100);
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);

  it('imports an OpenAPI document from the Import screen, and the editor keeps keyboard users free', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await signIn(page, admin.adminUrl, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Import' }).click();
    const editor = page.getByLabel('Documents to import');
    // Tab indents inside the editor; Escape then Tab moves on to the next control.
    await editor.fill('a');
    await editor.focus();
    await page.keyboard.press('End');
    await page.keyboard.press('Tab');
    expect(await editor.inputValue()).toBe('a  ');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Preview import');

    const openapi = `openapi: 3.0.3
info: { title: Pets, version: 1.0.0 }
servers: [{ url: "http://127.0.0.1:${upstream.port}/v1" }]
paths:
  /pets:
    get:
      operationId: listPets
      responses: { "200": { description: ok } }
`;
    // Uploaded from a file: its text lands in the editor, recognised as OpenAPI.
    await page.getByLabel('Upload a file').setInputFiles({ name: 'pets.yaml', mimeType: 'application/yaml', buffer: Buffer.from(openapi) });
    await expect.poll(() => editor.inputValue()).toBe(openapi);
    await page.getByText('OpenAPI document', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Preview import' }).click();
    const diff = page.getByRole('region', { name: 'Diff of Api/pets' });
    await diff.waitFor();
    expect(await diff.textContent()).toMatch(/list-?pets/i);
    expect((await fetch(`${admin.adminUrl}/apis/pets`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(404);
    await page.getByRole('button', { name: 'Apply import' }).click();
    await page.getByRole('link', { name: 'Open pets' }).click();
    await page.getByRole('heading', { name: 'pets', level: 1 }).waitFor();
    expect(await page.getByRole('row', { name: /list-?pets/i }).count()).toBe(1);
    await page.close();
  }, 60_000);

  it('shows the admin API\'s problem when a screen cannot load, and loads again on "Try again"', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await signIn(page, admin.adminUrl, ADMIN_TOKEN);
    // GET /nodes fails as a database outage would, until the outage is over.
    let outage = true;
    await page.route('**/nodes?*', async (route) => {
      if (outage) await route.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ status: 503, code: 'DATABASE_UNAVAILABLE', title: 'Service Unavailable', detail: 'the database is unreachable' }) });
      else await route.continue();
    });
    await page.getByRole('link', { name: 'APIs' }).click();
    await page.getByRole('link', { name: 'Overview' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'The gateway nodes could not be loaded' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain('the database is unreachable');
    outage = false;
    await alert.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('row', { name: /in sync/ }).waitFor();
    await page.close();
  }, 60_000);

  it('shows a viewer no mutating control, and the server refuses a forged change with 403', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await signIn(page, admin.adminUrl, viewerToken);
    expect(await page.getByRole('link', { name: 'Import' }).count()).toBe(0);
    await page.getByRole('link', { name: 'APIs' }).click();
    await page.getByRole('link', { name: API }).click();
    await page.getByRole('heading', { name: API, level: 1 }).waitFor();
    await page.getByText('Your role can read this configuration but not change it.').waitFor();
    for (const name of ['Preview changes', 'Apply', 'Deprecate', 'Retire', 'Publish']) expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
    expect(await page.getByLabel(`YAML of Api/${API}`).getAttribute('readonly')).not.toBeNull();
    // A forged request with the session's own CSRF token: the server decides, and refuses.
    const statuses = await page.evaluate(async (api) => {
      const session = (await (await fetch('/console/session')).json()) as { csrfToken: string };
      const headers = { 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' };
      const apply = await fetch('/config?dryRun=false', { method: 'POST', headers, body: '[]' });
      const lifecycle = await fetch(`/apis/${api}/lifecycle`, { method: 'POST', headers, body: JSON.stringify({ state: 'published' }) });
      return [apply.status, lifecycle.status];
    }, API);
    expect(statuses).toEqual([403, 403]);
    await context.close();
  }, 60_000);
});
