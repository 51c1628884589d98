import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/cli-harness.js';
import { freePort } from '../support/ports.js';
import { linkToken, startSmtpInbox, type SmtpInbox } from '../support/smtp-inbox.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

const ADMIN_TOKEN = 'tgadm_portal_cli_0123456789abcdef';

/** `tollgate portal …` against a real admin process serving the portal (embedded PGlite). */
describe('tollgate portal (CLI)', () => {
  let inbox: SmtpInbox;
  let tg: TollgateProcess;
  let portalUrl: string;
  let dir: string;
  const env = () => ({ TOLLGATE_ADMIN_URL: tg.adminUrl, TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN });

  beforeAll(async () => {
    inbox = await startSmtpInbox();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-portal-cli-'));
    const port = await freePort();
    portalUrl = `http://127.0.0.1:${port}`;
    tg = await startTollgateProcess({ role: 'admin', env: { TOLLGATE_DATA: dir, ADMIN_TOKEN, PORTAL: 'true', PORTAL_PORT: String(port), PORTAL_HOST: '127.0.0.1', PORTAL_SIGNUP: 'approval', SMTP_URL: inbox.url }, readyTimeoutMs: 60_000 });
    await waitUntil(async () => (await fetch(`${portalUrl}/healthz`)).ok, 10_000);
  }, 90_000);
  afterAll(async () => {
    await tg?.stop();
    await inbox?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the approval queue, approves and rejects, and mails invitations', async () => {
    for (const email of ['ada@example.com', 'eve@example.com']) {
      const up = await fetch(`${portalUrl}/api/sign-up`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'a long enough password' }) });
      expect(up.status).toBe(202);
      const verified = await fetch(`${portalUrl}/api/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: linkToken(await inbox.waitFor(email, 'confirm')) }) });
      expect(await verified.json()).toEqual({ status: 'pending' });
    }
    const listed = await runCli(['portal', 'accounts'], env());
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+EMAIL\s+NAME\s+STATUS/);
    expect(listed.stdout).toContain('ada@example.com');
    const accounts = JSON.parse((await runCli(['portal', 'accounts', '-o', 'json'], env())).stdout) as Array<{ id: string; email: string }>;
    const ada = accounts.find((a) => a.email === 'ada@example.com')!;
    const eve = accounts.find((a) => a.email === 'eve@example.com')!;
    const approved = await runCli(['portal', 'approve', ada.id], env());
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/^approved ada@example.com: consumer dev-[0-9a-f]{12}\n$/);
    expect((await runCli(['portal', 'reject', eve.id], env())).stdout).toBe('rejected eve@example.com\n');
    const again = await runCli(['portal', 'approve', eve.id], env());
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('INVALID_TRANSITION');
    expect((await runCli(['portal', 'accounts'], env())).stdout).not.toContain('@');
    expect((await runCli(['portal', 'accounts', '--status', 'active'], env())).stdout).toContain('ada@example.com');
    expect((await runCli(['portal', 'invite', 'grace@example.com'], env())).stdout).toBe('invitation mailed to grace@example.com\n');
    expect((await inbox.waitFor('grace@example.com', 'invited')).text).toContain(`${portalUrl}/#/sign-up?token=`);
    // A subscription request on a plan offered with approval, decided from the CLI.
    const plan = { apiVersion: 'tollgate.dev/v1', kind: 'Plan', metadata: { name: 'gold', annotations: { 'tollgate.dev/portal-offer': 'approval' } }, spec: { limits: [{ limit: 10, window: '1m' }] } };
    expect((await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify([plan]) })).status).toBe(200);
    const signIn = await fetch(`${portalUrl}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', password: 'a long enough password' }) });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const { csrfToken } = (await signIn.json()) as { csrfToken: string };
    const asked = await fetch(`${portalUrl}/api/subscriptions`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' }, body: JSON.stringify({ plan: 'gold' }) });
    expect(asked.status).toBe(202);
    const queue = await runCli(['portal', 'requests'], env());
    expect(queue.stdout).toMatch(/^ID\s+CONSUMER\s+PLAN\s+STATUS/);
    const requestId = /sreq_[0-9a-f]{16}/.exec(queue.stdout)?.[0] ?? '';
    const decided = await runCli(['portal', 'approve-request', requestId], env());
    expect(decided.code, decided.stderr).toBe(0);
    expect(decided.stdout).toMatch(/^approved dev-[0-9a-f]{12} on gold: subscription dev-[0-9a-f]{12}-gold-[0-9a-f]{6}\n$/);
    expect((await runCli(['portal', 'reject-request', requestId], env())).stderr).toContain('INVALID_TRANSITION');

    const disabled = await runCli(['portal', 'disable', ada.id], env());
    expect(disabled.stdout).toBe('disabled ada@example.com: 0 API key(s) revoked, 0 OAuth client(s) revoked, 0 signature key(s) removed\n');
    expect((await runCli(['portal', 'accounts', '--status', 'disabled'], env())).stdout).toContain('ada@example.com');

    // Eve, rejected, cannot sign in.
    const eveIn = await fetch(`${portalUrl}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'eve@example.com', password: 'a long enough password' }) });
    expect(eveIn.status).toBe(401);
  }, 60_000);
});
