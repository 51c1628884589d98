import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminHarness, upstreamJson, type AdminHarness } from './harness.js';
import { expectProblem } from './problem-assertions.js';

describe('admin tokens', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness('postgres');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('an admin creates a token shown once, which works with its role until revoked', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/admin-tokens', headers: h.auth(), payload: { name: 'ci-deploy', role: 'operator' } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const created = res.json<{ id: string; token: string; role: string; name: string }>();
    expect(created.token).toMatch(/^tgadm_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ name: 'ci-deploy', role: 'operator' });
    const bearer = { authorization: `Bearer ${created.token}` };
    expect((await h.app.inject({ method: 'PUT', url: '/upstreams/by-ci', headers: bearer, payload: upstreamJson('by-ci') })).statusCode).toBe(201);
    expectProblem(await h.app.inject({ method: 'GET', url: '/admin-tokens', headers: bearer }), 403, 'FORBIDDEN');

    const list = await h.app.inject({ method: 'GET', url: '/admin-tokens', headers: h.auth() });
    expect(list.body).not.toContain(created.token);
    expect(list.body).not.toMatch(/"hash"/);
    expect(list.json<{ items: Array<{ id: string }> }>().items.map((t) => t.id)).toContain(created.id);

    expect((await h.app.inject({ method: 'DELETE', url: `/admin-tokens/${created.id}`, headers: h.auth() })).statusCode).toBe(204);
    expectProblem(await h.app.inject({ method: 'GET', url: '/apis', headers: bearer }), 401, 'UNAUTHORIZED');
    expectProblem(await h.app.inject({ method: 'DELETE', url: `/admin-tokens/${created.id}`, headers: h.auth() }), 404, 'NOT_FOUND');
    const revoked = (await h.app.inject({ method: 'GET', url: '/admin-tokens', headers: h.auth() })).json<{ items: Array<{ id: string; revokedAt?: string }> }>();
    expect(revoked.items.find((t) => t.id === created.id)?.revokedAt).toMatch(/^\d{4}-/);

    const audit = await h.stores.audit.query({ limit: 50, resourceKind: 'AdminToken' });
    expect(audit.items.map((e) => [e.action, e.outcome])).toEqual([
      ['admin-token.revoke', 'rejected'],
      ['admin-token.revoke', 'success'],
      ['admin-token.create', 'success'],
    ]);
    expect(JSON.stringify(audit.items)).not.toContain(created.token);
  });

  it('refuses an unknown role, a missing name and non-admins', async () => {
    const bad = expectProblem(await h.app.inject({ method: 'POST', url: '/admin-tokens', headers: h.auth(), payload: { name: 'x', role: 'root' } }), 400, 'INVALID_REQUEST');
    expect(bad.errors?.[0]?.path).toBe('body.role');
    expectProblem(await h.app.inject({ method: 'POST', url: '/admin-tokens', headers: h.auth(), payload: { role: 'viewer' } }), 400, 'INVALID_REQUEST');
    for (const role of ['operator', 'viewer', 'billing'] as const) {
      expectProblem(await h.app.inject({ method: 'POST', url: '/admin-tokens', headers: h.auth(role), payload: { name: 'escalate', role: 'admin' } }), 403, 'FORBIDDEN');
    }
    expect((await h.stores.tokens.list()).some((t) => t.name === 'escalate' || t.name === 'x')).toBe(false);
  });
});
