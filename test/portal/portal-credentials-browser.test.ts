import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsConfig, ed25519Pair, requestToken, signedGet } from '../support/auth-credentials.js';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { linkToken, startSmtpInbox, type SmtpInbox } from '../support/smtp-inbox.js';
import { startTollgateProcess, type TollgateProcess } from '../support/tollgate-process.js';
import { CHROMIUM, expectAccessible, launchChromium, waitUntil, watchProblems } from '../console/console-support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHOTS = `${ROOT}docs/portal/`;
const ADMIN_TOKEN = 'tgadm_portal_credentials_browser_0123456789';
const PASSWORD = 'analytical engine 1843';

/**
 * A developer manages their own OAuth client and Ed25519 signing key in the portal (Chromium, one
 * real Tollgate process with PORTAL=true), and each is proved at the real gateway. Forged requests
 * naming another consumer's client or key fail.
 */
describe.skipIf(!existsSync(CHROMIUM))('portal: OAuth clients and signing keys', () => {
  let database: TestDatabase;
  let inbox: SmtpInbox;
  let upstream: RecordingUpstream;
  let tg: TollgateProcess;
  let portalUrl: string;
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${tg.adminUrl}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

  beforeAll(async () => {
    execFileSync('npm', ['run', 'build', '--silent', '-w', '@tollgate/portal'], { cwd: ROOT, stdio: 'ignore' });
    [database, inbox, upstream] = await Promise.all([createTestDatabase(), startSmtpInbox(), startRecordingUpstream('orders')]);
    const port = await freePort();
    portalUrl = `http://127.0.0.1:${port}`;
    tg = await startTollgateProcess({
      env: { DATABASE_URL: database.url, REDIS_URL: testRedisUrl(), ADMIN_TOKEN, PORTAL: 'true', PORTAL_PORT: String(port), PORTAL_HOST: '127.0.0.1', PORTAL_SIGNUP: 'open', PORTAL_TITLE: 'Acme Developers', SMTP_URL: inbox.url, PORTAL_MAIL_FROM: 'Acme <dev@acme.test>', LOG_LEVEL: 'warn' },
    });
    // `acme` is an operator-managed consumer with a client of its own: the forged requests aim at it.
    const applied = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' }, body: credentialsConfig(upstream.url, [{ name: 'acme', scopes: ['orders:read'] }]) });
    expect(applied.status, await applied.text()).toBe(200);
    await waitUntil(async () => (await fetch(`${portalUrl}/healthz`)).ok, 10_000, 'the portal listener');
    mkdirSync(SHOTS, { recursive: true });
  }, 180_000);
  afterAll(async () => {
    await tg?.stop();
    await Promise.all([database?.drop(), inbox?.close(), upstream?.close()]);
  });

  it('creates and revokes its own OAuth client, registers an Ed25519 key, and cannot touch another consumer\'s', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const problems = watchProblems(page, /\b(401|403|404|409)\b/);
      page.on('dialog', (d) => void d.accept());

      // Sign up (open portal: confirming the address makes the account active with its own consumer).
      await page.goto(`${portalUrl}/#/sign-up`);
      await page.getByLabel('Name').fill('Ada Lovelace');
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.goto(`${portalUrl}/#/verify?token=${linkToken(await inbox.waitFor('ada@example.com', 'confirm your email'))}`);
      await page.getByRole('heading', { name: 'Email confirmed' }).waitFor();
      await page.goto(`${portalUrl}/#/sign-in`);
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('link', { name: 'OAuth & signing' }).click();
      await page.getByRole('heading', { name: 'OAuth clients and signing keys' }).waitFor();
      const consumer = ((await page.evaluate(async () => (await fetch('/api/session')).json())) as { account: { consumer: string } }).account.consumer;

      // An operator grants the developer's consumer a scope; the developer's clients get a subset.
      const doc = (await (await admin('GET', `/consumers/${consumer}`)).json()) as { spec: Record<string, unknown> };
      expect((await admin('PUT', `/consumers/${consumer}`, { ...doc, spec: { ...doc.spec, scopes: ['orders:read'] } })).status).toBe(200);
      await page.reload();
      const clients = page.getByRole('region', { name: 'OAuth clients' });
      await clients.getByRole('checkbox', { name: 'orders:read' }).waitFor();
      await clients.getByLabel('Client name').fill('nightly sync');
      await clients.getByRole('button', { name: 'Create client' }).click();
      const clientId = (await clients.getByTestId('new-client-id').textContent()) ?? '';
      const secret = (await clients.getByTestId('new-client-secret').textContent()) ?? '';
      expect(secret).toMatch(/^tgcs_/);
      const token = await waitUntil(async () => (await requestToken(tg.proxyUrl, clientId, secret)).token, 10_000, 'a token for the developer\'s client');
      expect((await fetch(`${tg.proxyUrl}/orders/7`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

      // An Ed25519 key, registered here, signs a request the gateway accepts.
      const keys = page.getByRole('region', { name: 'Request signing keys' });
      const ed = ed25519Pair();
      await keys.getByLabel('Key ID').fill('ada-ed');
      await keys.getByLabel('Public key').fill(ed.publicKey);
      await keys.getByRole('button', { name: 'Add key' }).click();
      await keys.getByRole('cell', { name: 'ada-ed', exact: true }).waitFor();
      await waitUntil(async () => (await signedGet(`${tg.proxyUrl}/signed/ping`, 'ada-ed', { ed25519: ed.privateKey })) === 200, 10_000, 'the signed request to pass');
      await expectAccessible(page, 'portal credentials');
      await page.screenshot({ path: `${SHOTS}oauth-and-signing.png`, fullPage: true });

      // Forged: the developer aims at acme's client and tries to take over a key id acme uses.
      const acme = (await (await admin('POST', '/consumers/acme/oauth-clients', { name: 'acme-ci' })).json()) as { clientId: string; clientSecret: string };
      expect((await admin('PUT', '/consumers/acme', { apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: 'acme' }, spec: { scopes: ['orders:read'], signatureKeys: [{ keyId: 'acme-ed', algorithm: 'ed25519', publicKey: ed25519Pair().publicKey }] } })).status).toBe(200);
      const forged = await page.evaluate(
        async ({ victimClient }) => {
          const { csrfToken } = (await (await fetch('/api/session')).json()) as { csrfToken: string };
          const headers = { 'x-csrf-token': csrfToken };
          return {
            revokeOther: (await fetch(`/api/oauth-clients/${victimClient}`, { method: 'DELETE', headers })).status,
            removeOther: (await fetch('/api/signature-keys/acme-ed', { method: 'DELETE', headers })).status,
            claimOther: (await fetch('/api/signature-keys', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ keyId: 'acme-ed', algorithm: 'hmac-sha256', secret: 'x'.repeat(40) }) })).status,
            adminApi: (await fetch('/consumers/acme/oauth-clients')).status,
          };
        },
        { victimClient: acme.clientId },
      );
      expect(forged).toEqual({ revokeOther: 404, removeOther: 404, claimOther: 409, adminApi: 404 });
      expect((await requestToken(tg.proxyUrl, acme.clientId, acme.clientSecret)).status).toBe(200);

      // Revoke the developer's own client: the gateway refuses it and the token it held.
      await clients.getByRole('button', { name: 'Revoke nightly sync' }).click();
      await clients.getByText('No OAuth clients yet.').waitFor();
      await waitUntil(async () => (await requestToken(tg.proxyUrl, clientId, secret)).status === 401, 10_000, 'the revoked client to be refused');
      await waitUntil(async () => (await fetch(`${tg.proxyUrl}/orders/7`, { headers: { authorization: `Bearer ${token}` } })).status === 401, 10_000, 'its token to be refused');
      // And remove the key: signed requests stop passing.
      await keys.getByRole('button', { name: 'Remove ada-ed' }).click();
      await keys.getByText('No signing keys yet.').waitFor();
      await waitUntil(async () => (await signedGet(`${tg.proxyUrl}/signed/ping`, 'ada-ed', { ed25519: ed.privateKey })) === 401, 10_000, 'the removed key to be refused');
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 180_000);
});
