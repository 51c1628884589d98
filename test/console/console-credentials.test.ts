import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsConfig, ed25519Pair, requestToken, signedGet } from '../support/auth-credentials.js';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, type TollgateProcess } from '../support/tollgate-process.js';
import { buildConsole } from './console-build.js';
import { CHROMIUM, expectAccessible, launchChromium, signIn, waitUntil, watchProblems } from './console-support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = `${ROOT}docs/console/`;
const ADMIN_TOKEN = 'tgadm_console_credentials_0123456789abcdef';
const HMAC_SECRET = 'acme-shared-hmac-secret-of-more-than-32-chars';

/**
 * An operator manages a consumer's OAuth clients and signature keys on its console page, in
 * Chromium against one real Tollgate process; every change is proved at the real gateway (a token
 * from its token endpoint, a signed request), and a viewer sees the lists without the controls.
 */
describe.skipIf(!existsSync(CHROMIUM))('console: OAuth clients and signature keys', () => {
  let database: TestDatabase;
  let tollgate: TollgateProcess;
  let upstream: RecordingUpstream;
  const bearer = (path: string, init: RequestInit = {}) => fetch(`${tollgate.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers as Record<string, string>) } });

  beforeAll(async () => {
    await buildConsole();
    database = await createTestDatabase();
    upstream = await startRecordingUpstream('orders');
    tollgate = await startTollgateProcess({ role: 'all', env: { DATABASE_URL: database.url, REDIS_URL: testRedisUrl(), ADMIN_TOKEN, MAX_EVENT_LOOP_DELAY_MS: '0', LOG_LEVEL: 'warn' } });
    const applied = await bearer('/config', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: credentialsConfig(upstream.url, [{ name: 'acme', scopes: ['orders:read', 'orders:write'], spec: 'basicAuth: [{ username: acme-ops, password: "correct horse battery" }], keys: [{ name: declared, key: "tg_declared_console_credentials_key" }]' }]) });
    expect(applied.status, await applied.text()).toBe(200);
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 180_000);
  afterAll(async () => {
    await tollgate?.stop();
    await Promise.all([database?.drop(), upstream?.close()]);
  });

  it('creates an OAuth client that gets tokens at the gateway, revokes it, adds and removes signature keys; a viewer only reads', async () => {
    const browser = await launchChromium();
    const shot = (page: Page, name: string) => page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const problems = watchProblems(page);
      await signIn(page, tollgate.adminUrl, ADMIN_TOKEN);
      await page.goto(`${tollgate.adminUrl}/console/#consumers/acme`);
      const clients = page.getByRole('region', { name: 'OAuth clients' });
      await clients.getByText('No OAuth clients yet.').waitFor();

      // Create: a name and one of the consumer's two scopes; the secret is shown once.
      await clients.getByLabel('Name').fill('nightly');
      await clients.getByRole('checkbox', { name: 'orders:write' }).uncheck();
      await clients.getByRole('button', { name: 'Create client' }).click();
      const clientId = (await clients.getByTestId('oauth-client-id').textContent()) ?? '';
      const secret = (await clients.getByTestId('secret-value').textContent()) ?? '';
      expect(clientId).toMatch(/^ocl_/);
      expect(secret).toMatch(/^tgcs_/);
      await clients.getByRole('cell', { name: clientId, exact: true }).waitFor();
      await expectAccessible(page, 'consumer OAuth clients');
      await shot(page, 'consumer-oauth-client');

      // The gateway issues a token for the granted scope (not the other) and the API accepts it.
      const token = await waitUntil(async () => (await requestToken(tollgate.proxyUrl, clientId, secret, 'orders:read')).token, 10_000, 'a token for the new client');
      expect((await requestToken(tollgate.proxyUrl, clientId, secret, 'orders:write')).status).toBe(400);
      expect((await fetch(`${tollgate.proxyUrl}/orders/42`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      await clients.getByRole('button', { name: 'I have stored it' }).click();
      expect(await clients.getByTestId('secret-value').count()).toBe(0);

      // Revoke, with a confirmation: the gateway refuses new tokens and the one it issued.
      await clients.getByRole('button', { name: `Revoke OAuth client ${clientId}` }).click();
      await clients.getByRole('button', { name: 'Revoke client' }).click();
      await clients.getByText('revoked', { exact: true }).waitFor();
      await waitUntil(async () => (await requestToken(tollgate.proxyUrl, clientId, secret)).status === 401, 10_000, 'the token endpoint to refuse the revoked client');
      await waitUntil(async () => (await fetch(`${tollgate.proxyUrl}/orders/42`, { headers: { authorization: `Bearer ${token}` } })).status === 401, 10_000, 'the API to refuse its token');

      // Signature keys: an Ed25519 public key, then an HMAC secret (sent once, never shown).
      type Spec = { basicAuth: unknown[]; keys: unknown[]; scopes: string[] };
      const before = ((await (await bearer('/consumers/acme')).json()) as { spec: Spec }).spec;
      expect(before.basicAuth).toHaveLength(1);
      const keys = page.getByRole('region', { name: 'Signature keys' });
      const ed = ed25519Pair();
      await keys.getByLabel('Key ID').fill('acme-ed');
      await keys.getByLabel('Public key').fill(ed.publicKey);
      await keys.getByRole('button', { name: 'Add key' }).click();
      await keys.getByRole('cell', { name: 'acme-ed', exact: true }).waitFor();
      await waitUntil(async () => (await signedGet(`${tollgate.proxyUrl}/signed/ping`, 'acme-ed', { ed25519: ed.privateKey })) === 200, 10_000, 'a request signed with the new Ed25519 key to pass');
      await keys.getByLabel('Key ID').fill('acme-hmac');
      await keys.getByLabel('Algorithm').selectOption('hmac-sha256');
      await keys.getByLabel('Secret').fill(HMAC_SECRET);
      await keys.getByLabel('Expires').fill('2031-01-01');
      await keys.getByRole('button', { name: 'Add key' }).click();
      await keys.getByRole('cell', { name: 'acme-hmac', exact: true }).waitFor();
      expect(await page.content()).not.toContain(HMAC_SECRET);
      const stored = (await (await bearer('/consumers/acme')).json()) as { spec: { signatureKeys: Array<{ keyId: string; secret?: string; expiresAt?: string }> } };
      expect(stored.spec.signatureKeys).toMatchObject([{ keyId: 'acme-ed' }, { keyId: 'acme-hmac', secret: '<redacted>', expiresAt: '2031-01-01T00:00:00.000Z' }]);
      await expectAccessible(page, 'consumer signature keys');

      // Removing the Ed25519 key sends the HMAC key back `<redacted>`: its stored secret must survive.
      await keys.getByRole('button', { name: 'Remove signature key acme-ed' }).click();
      await keys.getByRole('button', { name: 'Remove key' }).click();
      await waitUntil(async () => (await keys.getByRole('cell', { name: 'acme-ed', exact: true }).count()) === 0, 10_000, 'the removed key to leave the list');
      await waitUntil(async () => (await signedGet(`${tollgate.proxyUrl}/signed/ping`, 'acme-ed', { ed25519: ed.privateKey })) === 401, 10_000, 'the removed key to be refused');
      await waitUntil(async () => (await signedGet(`${tollgate.proxyUrl}/signed/ping`, 'acme-hmac', { hmac: HMAC_SECRET })) === 200, 10_000, 'the HMAC key to still verify');
      await shot(page, 'consumer-signature-keys');
      // The rest of the Consumer went back as it came: basic-auth user, declared key, scopes.
      const after = ((await (await bearer('/consumers/acme')).json()) as { spec: Spec }).spec;
      expect({ basicAuth: after.basicAuth, keys: after.keys, scopes: after.scopes }).toEqual({ basicAuth: before.basicAuth, keys: before.keys, scopes: before.scopes });
      expect(problems).toEqual([]);

      // A viewer sees both lists, and no control that changes them.
      const made = await bearer('/admin-tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'viewer-user', role: 'viewer' }) });
      expect(made.status).toBe(201);
      const viewerToken = ((await made.json()) as { token: string }).token;
      const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const viewer = await viewerContext.newPage();
      await signIn(viewer, tollgate.adminUrl, viewerToken);
      await viewer.goto(`${tollgate.adminUrl}/console/#consumers/acme`);
      // On failure, say what the viewer's page shows instead (a loading or error state).
      await viewer
        .getByRole('region', { name: 'OAuth clients' })
        .getByRole('cell', { name: clientId, exact: true })
        .waitFor({ timeout: 20_000 })
        .catch(async (err: unknown) => {
          throw new Error(`${String(err)}\nthe viewer's page shows:\n${await viewer.locator('body').innerText()}`);
        });
      await viewer.getByRole('region', { name: 'Signature keys' }).getByRole('cell', { name: 'acme-hmac', exact: true }).waitFor();
      expect(await viewer.getByRole('button', { name: 'Create client' }).count()).toBe(0);
      expect(await viewer.getByRole('button', { name: 'Add key' }).count()).toBe(0);
      expect(await viewer.getByRole('button', { name: /^(Revoke|Remove)/ }).count()).toBe(0);
      await expectAccessible(viewer, 'consumer credentials (viewer)');
      await viewerContext.close();
    } finally {
      await browser.close();
    }
  }, 180_000);
});
