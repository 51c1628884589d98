import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminHarness, upstreamJson, upstreamYaml, type AdminHarness } from './harness.js';
import { expectProblem } from './problem-assertions.js';

describe('admin API authentication and roles', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness('pglite');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('401 with a Bearer challenge when no token is sent', async () => {
    for (const [method, url] of [['GET', '/config'], ['GET', '/apis'], ['POST', '/config'], ['DELETE', '/apis/x'], ['GET', '/no-such-route']] as const) {
      const res = await h.app.inject({ method, url });
      expectProblem(res, 401, 'UNAUTHORIZED', url);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
    }
  });

  it('401 with a wrong, malformed or non-Bearer token', async () => {
    for (const authorization of ['Bearer wrong-token', `Bearer ${h.tokens.admin}x`, `Basic ${Buffer.from(`admin:${h.tokens.admin}`).toString('base64')}`, h.tokens.admin, 'Bearer ']) {
      const res = await h.app.inject({ method: 'GET', url: '/config', headers: { authorization } });
      expectProblem(res, 401, 'UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
    }
  });

  it('the scheme name is case-insensitive (RFC 9110 §11.1)', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/apis', headers: { authorization: `bearer ${h.tokens.viewer}` } });
    expect(res.statusCode).toBe(200);
  });

  it('an unauthenticated client cannot make the server parse a body', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/config', headers: { 'content-type': 'application/json' }, payload: '{not json' });
    expectProblem(res, 401, 'UNAUTHORIZED');
  });

  it('viewer and billing tokens may not mutate (403); billing may not read configuration either', async () => {
    for (const role of ['viewer', 'billing'] as const) {
      const read = role === 'viewer' ? 200 : 403;
      expect((await h.app.inject({ method: 'GET', url: '/config', headers: h.auth(role) })).statusCode).toBe(read);
      expect((await h.app.inject({ method: 'GET', url: '/upstreams', headers: h.auth(role) })).statusCode).toBe(read);
      expectProblem(await h.app.inject({ method: 'POST', url: '/config', headers: { ...h.auth(role), 'content-type': 'application/yaml' }, payload: upstreamYaml('v') }), 403, 'FORBIDDEN');
      expectProblem(await h.app.inject({ method: 'POST', url: '/upstreams', headers: h.auth(role), payload: upstreamJson('v') }), 403, 'FORBIDDEN');
      expectProblem(await h.app.inject({ method: 'PUT', url: '/upstreams/v', headers: h.auth(role), payload: upstreamJson('v') }), 403, 'FORBIDDEN');
      expectProblem(await h.app.inject({ method: 'DELETE', url: '/upstreams/v', headers: h.auth(role) }), 403, 'FORBIDDEN');
    }
    const exported = await h.app.inject({ method: 'GET', url: '/config', headers: h.auth('viewer') });
    expect(exported.body).not.toContain('name: v\n');
  });

  it('operator and admin tokens may mutate', async () => {
    expect((await h.app.inject({ method: 'PUT', url: '/upstreams/op', headers: h.auth('operator'), payload: upstreamJson('op') })).statusCode).toBe(201);
    expect((await h.app.inject({ method: 'DELETE', url: '/upstreams/op', headers: h.auth('admin') })).statusCode).toBe(204);
  });

  it('the echoed request id is kept only when harmless', async () => {
    const ok = await h.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(ok.headers['x-request-id']).toBe('abc-123');
    const bad = await h.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'evil\u0000value with spaces' } });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('/openapi.json is public and describes every route with schemas', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown; security?: unknown[] }>> }>();
    expect(doc.openapi).toMatch(/^3\./);
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes.sort()).toEqual(
      [
        'GET /healthz',
        'GET /openapi.json',
        'GET /consumers',
        'POST /consumers',
        'GET /consumers/{name}',
        'PUT /consumers/{name}',
        'DELETE /consumers/{name}',
        'GET /consumers/{name}/keys',
        'POST /consumers/{name}/keys',
        'DELETE /consumers/{name}/keys/{id}',
        'GET /consumers/{name}/oauth-clients',
        'POST /consumers/{name}/oauth-clients',
        'DELETE /consumers/{name}/oauth-clients/{id}',
        'POST /keys/bulk',
        'GET /admin-tokens',
        'POST /admin-tokens',
        'DELETE /admin-tokens/{id}',
        'GET /audit-log',
        'GET /config',
        'POST /config',
        'GET /apis',
        'POST /apis',
        'GET /apis/{name}',
        'PUT /apis/{name}',
        'DELETE /apis/{name}',
        'POST /apis/{name}/lifecycle',
        'GET /upstreams',
        'POST /upstreams',
        'GET /upstreams/{name}',
        'PUT /upstreams/{name}',
        'DELETE /upstreams/{name}',
        'GET /certificates',
        'POST /certificates',
        'GET /certificates/{name}',
        'PUT /certificates/{name}',
        'DELETE /certificates/{name}',
        ...['plans', 'subscriptions', 'protodescriptors', 'webhooks', 'brokers'].flatMap((p) => [`GET /${p}`, `POST /${p}`, `GET /${p}/{name}`, `PUT /${p}/{name}`, `DELETE /${p}/{name}`]),
        'GET /consumers/{name}/usage',
        'GET /usage',
        'GET /analytics/requests',
        'GET /reports/billing',
        'POST /apis/import',
        'DELETE /cache',
        'DELETE /cache/apis/{api}',
        'DELETE /cache/apis/{api}/routes/{route}',
        'DELETE /cache/keys/{key}',
        'GET /webhooks/{name}/deliveries',
        'POST /webhooks/{name}/deliveries/{id}/redeliver',
        'POST /webhooks/{name}/test',
        'POST /console/session',
        'GET /console/session',
        'DELETE /console/session',
        'GET /portal/accounts',
        'POST /portal/accounts/{id}/approve',
        'POST /portal/accounts/{id}/reject',
        'POST /portal/accounts/{id}/disable',
        'POST /portal/invitations',
        'GET /portal/subscription-requests',
        'POST /portal/subscription-requests/{id}/approve',
        'POST /portal/subscription-requests/{id}/reject',
      ].sort(),
    );
    const post = doc.paths['/apis']?.post;
    expect(JSON.stringify(post?.requestBody)).toContain('destination');
    expect(Object.keys(post?.responses ?? {})).toEqual(expect.arrayContaining(['201', '409', '422', '401']));
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
    // Every route that reads or writes the database documents the 503 DATABASE_UNAVAILABLE answer.
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (path === '/healthz' || path === '/openapi.json') continue;
        expect(JSON.stringify(op.responses['503'] ?? null), `${method} ${path}`).toContain('DATABASE_UNAVAILABLE');
      }
    }
    const docs = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
  });
});
