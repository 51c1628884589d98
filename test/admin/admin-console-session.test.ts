import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminRole } from '@tollgate/stores';
import { startAdminHarness, type AdminHarness } from './harness.js';

/**
 * Console sessions on the admin API: the cookie that stands in for a bearer token, its flags,
 * idle expiry, CSRF and cross-site refusals, role checks, sign-out, and bearer clients untouched.
 */
describe('console sessions', () => {
  let h: AdminHarness;
  let clock = Date.now();
  let consoleDir: string;
  const IDLE_MS = 60_000;

  beforeAll(async () => {
    consoleDir = mkdtempSync(join(tmpdir(), 'tollgate-console-'));
    mkdirSync(join(consoleDir, 'assets'));
    writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><script type="module" src="/console/assets/index-AbCd1234.js"></script>');
    writeFileSync(join(consoleDir, 'assets', 'index-AbCd1234.js'), 'console.log(1)');
    h = await startAdminHarness('pglite', {
      consoleSessions: { idleMs: IDLE_MS, absoluteMs: 10 * IDLE_MS, now: () => clock },
      consoleDir,
      trustedProxies: ['127.0.0.1'],
      authThrottle: { maxFailures: 3 },
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    rmSync(consoleDir, { recursive: true, force: true });
  });

  const signIn = (token: string, headers: Record<string, string> = {}, remoteAddress?: string) =>
    h.app.inject({ method: 'POST', url: '/console/session', headers: { 'content-type': 'application/json', ...headers }, payload: { token }, ...(remoteAddress ? { remoteAddress } : {}) });

  /** Signs in as a role; returns the Cookie header and the CSRF token. */
  async function session(role: AdminRole = 'admin'): Promise<{ cookie: string; csrf: string }> {
    const res = await signIn(h.tokens[role]);
    expect(res.statusCode).toBe(201);
    const cookie = String(res.headers['set-cookie']).split(';')[0]!;
    return { cookie, csrf: res.json<{ csrfToken: string }>().csrfToken };
  }

  const apply = (headers: Record<string, string>) =>
    h.app.inject({ method: 'POST', url: '/config?dryRun=true', headers: { 'content-type': 'application/json', ...headers }, payload: [] });

  const expectProblem = (res: LightMyRequestResponse, status: number, detail: RegExp) => {
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json<{ detail: string }>().detail).toMatch(detail);
  };

  it('a sign-in body without a token is 400 INVALID_REQUEST at body.token (the body was read), bad JSON INVALID_BODY', async () => {
    for (const payload of [{}, { token: '' }, { token: 5 }]) {
      const res = await h.app.inject({ method: 'POST', url: '/console/session', headers: { 'content-type': 'application/json' }, payload });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'INVALID_REQUEST', errors: [{ path: 'body.token' }] });
    }
    const bad = await h.app.inject({ method: 'POST', url: '/console/session', headers: { 'content-type': 'application/json' }, payload: '{"token"' });
    expect(bad.json()).toMatchObject({ status: 400, code: 'INVALID_BODY' });
  });

  it('signs in with a token in the body, setting an HttpOnly SameSite=Strict cookie that carries neither token nor role', async () => {
    const res = await signIn(h.tokens.operator);
    expect(res.statusCode).toBe(201);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^tollgate_console=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/$/);
    expect(cookie).not.toContain(h.tokens.operator);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json<{ role: string; name: string; csrfToken: string; idleSecondsLeft: number }>();
    expect(body).toMatchObject({ role: 'operator', name: 'operator', idleSecondsLeft: IDLE_MS / 1000 });
    expect(res.body).not.toContain(h.tokens.operator);
    const { cookie: c } = await session('viewer');
    const read = await h.app.inject({ method: 'GET', url: '/console/session', headers: { cookie: c } });
    expect(read.json()).toMatchObject({ role: 'viewer' });
    // Signing in again replaces the browser's session: the old id stops working.
    const again = await signIn(h.tokens.admin, { cookie: c });
    expect(String(again.headers['set-cookie'])).not.toContain(c);
    expect((await h.app.inject({ method: 'GET', url: '/console/session', headers: { cookie: c } })).statusCode).toBe(401);
  });

  it('marks the cookie Secure only behind TLS: X-Forwarded-Proto from a trusted proxy, not from anyone', async () => {
    const viaProxy = await signIn(h.tokens.admin, { 'x-forwarded-proto': 'https' });
    expect(String(viaProxy.headers['set-cookie'])).toMatch(/; Secure$/);
    const forged = await signIn(h.tokens.admin, { 'x-forwarded-proto': 'https' }, '10.20.30.40');
    expect(String(forged.headers['set-cookie'])).not.toContain('Secure');
  });

  it('authenticates admin routes by cookie, and refuses a mutation without or with a wrong CSRF token', async () => {
    const { cookie, csrf } = await session('admin');
    expect((await h.app.inject({ method: 'GET', url: '/apis', headers: { cookie } })).statusCode).toBe(200);
    expectProblem(await apply({ cookie }), 403, /X-CSRF-Token/);
    expectProblem(await apply({ cookie, 'x-csrf-token': `${csrf.slice(0, -1)}x` }), 403, /X-CSRF-Token/);
    const other = await session('admin');
    expectProblem(await apply({ cookie, 'x-csrf-token': other.csrf }), 403, /X-CSRF-Token/);
    expect((await apply({ cookie, 'x-csrf-token': csrf })).statusCode).toBe(200);
  });

  it('gives a viewer session 403 on a mutation even with its valid CSRF token', async () => {
    const { cookie, csrf } = await session('viewer');
    expectProblem(await apply({ cookie, 'x-csrf-token': csrf }), 403, /requires role "admin" or "operator".*role "viewer"/);
    const billing = await session('billing');
    expect((await h.app.inject({ method: 'GET', url: '/apis', headers: { cookie: billing.cookie } })).statusCode).toBe(403);
  });

  it('refuses forged cross-site POSTs carrying the cookie, and cross-site sign-ins', async () => {
    const { cookie, csrf } = await session('admin');
    expectProblem(await apply({ cookie, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' }), 403, /cross-site request refused/);
    expectProblem(await apply({ cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' }), 403, /another site/);
    expect((await apply({ cookie, 'x-csrf-token': csrf, origin: 'http://localhost:80', host: 'localhost:80', 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
    expectProblem(await signIn(h.tokens.admin, { 'sec-fetch-site': 'same-site' }), 403, /cross-site/);
  });

  it('ends a session left idle (sliding on use), on sign-out, and when its token is revoked', async () => {
    const { cookie, csrf } = await session('admin');
    clock += IDLE_MS - 1_000;
    expect((await h.app.inject({ method: 'GET', url: '/config', headers: { cookie } })).statusCode).toBe(200);
    clock += IDLE_MS - 1_000; // past sign-in + idle, but within idle of the last use
    expect((await h.app.inject({ method: 'GET', url: '/config', headers: { cookie } })).statusCode).toBe(200);
    clock += IDLE_MS;
    expectProblem(await h.app.inject({ method: 'GET', url: '/config', headers: { cookie } }), 401, /session has ended/);
    expect((await h.app.inject({ method: 'GET', url: '/console/session', headers: { cookie } })).statusCode).toBe(401);
    void csrf;

    const s = await session('operator');
    expectProblem(await h.app.inject({ method: 'DELETE', url: '/console/session', headers: { cookie: s.cookie } }), 403, /CSRF/);
    const out = await h.app.inject({ method: 'DELETE', url: '/console/session', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await h.app.inject({ method: 'GET', url: '/apis', headers: { cookie: s.cookie } })).statusCode).toBe(401);

    const created = await h.app.inject({ method: 'POST', url: '/admin-tokens', headers: h.auth(), payload: { name: 'short-lived', role: 'operator' } });
    expect(created.statusCode).toBe(201);
    const { id, token } = created.json<{ id: string; token: string }>();
    const r = await signIn(token);
    const revokedCookie = String(r.headers['set-cookie']).split(';')[0]!;
    expect((await h.app.inject({ method: 'GET', url: '/apis', headers: { cookie: revokedCookie } })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'DELETE', url: `/admin-tokens/${id}`, headers: h.auth() })).statusCode).toBeLessThan(300);
    expect((await h.app.inject({ method: 'GET', url: '/apis', headers: { cookie: revokedCookie } })).statusCode).toBe(401);
  });

  it('leaves bearer-token clients unaffected: no CSRF needed, and a cookie alongside is ignored', async () => {
    expect((await apply(h.auth('admin'))).statusCode).toBe(200);
    const viewer = await session('viewer');
    expect((await apply({ ...h.auth('admin'), cookie: viewer.cookie })).statusCode).toBe(200);
    expect((await apply({ ...h.auth('viewer'), cookie: (await session('admin')).cookie })).statusCode).toBe(403);
  });

  it('audits sign-in and sign-out without the token or session id, and throttles failed sign-ins', async () => {
    const s = await session('operator');
    await h.app.inject({ method: 'DELETE', url: '/console/session', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    const ins = await h.stores.audit.query({ limit: 100, action: 'console.sign-in' });
    const outs = await h.stores.audit.query({ limit: 100, action: 'console.sign-out' });
    expect(ins.items.length).toBeGreaterThan(0);
    expect(outs.items[0]).toMatchObject({ outcome: 'success', actor: { name: 'operator', role: 'operator' } });
    const all = JSON.stringify((await h.stores.audit.query({ limit: 500 })).items);
    for (const secret of [...Object.values(h.tokens), s.cookie.split('=')[1]!, s.csrf]) expect(all).not.toContain(secret);

    const address = '10.9.9.9';
    for (let i = 0; i < 3; i++) expect((await signIn('tgadm_wrong_0123456789', {}, address)).statusCode).toBe(401);
    const blocked = await signIn(h.tokens.admin, {}, address);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
  });

  it('serves the built console with a strict CSP, nosniff, immutable hashed assets and a revalidated index.html', async () => {
    const index = await h.app.inject({ method: 'GET', url: '/console/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toContain('text/html');
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    expect(index.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(index.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect(index.headers['cache-control']).toBe('no-cache');
    const asset = await h.app.inject({ method: 'GET', url: '/console/assets/index-AbCd1234.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await h.app.inject({ method: 'GET', url: '/console' })).statusCode).toBe(301);
    expect((await h.app.inject({ method: 'GET', url: '/console/../package.json' })).statusCode).not.toBe(200);
  });
});
