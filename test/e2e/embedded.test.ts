import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { CLI, startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { apiYaml, proxyGet, writeFixture } from './fixtures.js';

const run = promisify(execFile);

/** A non-loopback IPv4 address of this machine, if it has one. */
function externalAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

// The README's first run: `npm start` on embedded defaults (PGlite under TOLLGATE_DATA, in-process
// counters, no ADMIN_TOKEN), then `tollgate apply -f`, then a request through the proxy.
describe('first run on embedded defaults', () => {
  let dir: string;
  let upstream: RecordingUpstream;
  let tg: TollgateProcess;
  let token: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-'));
    upstream = await startRecordingUpstream('orders');
    tg = await startTollgateProcess({ env: { TOLLGATE_DATA: join(dir, 'data') } });
    const m = /tgadm_[A-Za-z0-9_-]{43}/.exec(tg.output());
    if (!m) throw new Error(`no admin token printed:\n${tg.output()}`);
    token = m[0];
  });

  afterAll(async () => {
    await tg?.stop();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a generated admin token once, never in a log line, and binds admin to loopback', async () => {
    const logLines = tg.output().split('\n').filter((l) => l.startsWith('{'));
    expect(logLines.some((l) => l.includes(token))).toBe(false);
    expect((await fetch(`${tg.adminUrl}/config`)).status).toBe(401);
    expect((await fetch(`${tg.adminUrl}/config`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const ext = externalAddress();
    if (ext) await expect(fetch(`http://${ext}:${new URL(tg.adminUrl).port}/healthz`)).rejects.toThrow();
  });

  it('answers 404 with a problem body before any config, then routes an applied API within one second', async () => {
    const before = await proxyGet(tg.proxyUrl, '/orders/1', 'api.example.com');
    expect(before.status).toBe(404);
    expect(before.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(before.body)).toMatchObject({ code: 'ROUTE_NOT_FOUND', status: 404 });

    const file = writeFixture(dir, 'api.yaml', apiYaml(upstream.url));
    const env = { ...process.env, TOLLGATE_ADMIN_URL: tg.adminUrl, TOLLGATE_ADMIN_TOKEN: token };
    const applied = await run(process.execPath, [CLI, 'apply', '-f', file], { env });
    const appliedAt = Date.now();
    expect(applied.stdout).toMatch(/Upstream\/orders-backend/);
    expect(applied.stdout).toMatch(/Api\/orders/);
    const waited = await waitUntil(async () => (await proxyGet(tg.proxyUrl, '/orders/1', 'api.example.com')).status === 200, 1000);
    expect(Date.now() - appliedAt).toBeLessThan(1000);
    expect(waited).toBeLessThan(1000);
    const res = await proxyGet(tg.proxyUrl, '/orders/1?x=1', 'API.example.com:8000');
    expect(JSON.parse(res.body)).toMatchObject({ upstream: 'orders', url: '/orders/1?x=1' });
    // Another host is not served by this API.
    expect((await proxyGet(tg.proxyUrl, '/orders/1', 'other.example.com')).status).toBe(404);
  });

  it('keeps config and token across a restart, and prints no new token', async () => {
    expect(await tg.stop()).toBe(0);
    tg = await startTollgateProcess({ env: { TOLLGATE_DATA: join(dir, 'data') } });
    expect(tg.output()).not.toMatch(/tgadm_/);
    const res = await proxyGet(tg.proxyUrl, '/orders/2', 'api.example.com');
    expect(res.status).toBe(200);
    expect((await fetch(`${tg.adminUrl}/config`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});
