import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminHarness, type AdminHarness } from './harness.js';

// `/consumers/{name}/oauth-clients`: the secret once, scopes within the consumer's, roles, problems, audit.
let h: AdminHarness;
beforeAll(async () => {
  h = await startAdminHarness('pglite');
  const res = await h.applyYaml('apiVersion: tollgate.dev/v1\nkind: Consumer\nmetadata: { name: acme }\nspec: { scopes: [orders:read, orders:write] }\n');
  expect(res.statusCode).toBe(200);
});
afterAll(async () => {
  await h.close();
});

const create = (body: unknown, role: 'admin' | 'operator' | 'viewer' = 'admin', consumer = 'acme') =>
  h.app.inject({ method: 'POST', url: `/consumers/${consumer}/oauth-clients`, headers: { ...h.auth(role), 'content-type': 'application/json' }, payload: JSON.stringify(body) });

describe('OAuth clients in the admin API', () => {
  it('creates a client with the consumer’s scopes by default; the secret is in that response only, no-store', async () => {
    const res = await create({ name: 'ci' }, 'operator');
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json<{ clientId: string; clientSecret: string; scopes: string[] }>();
    expect(body.scopes).toEqual(['orders:read', 'orders:write']);
    const list = await h.app.inject({ method: 'GET', url: '/consumers/acme/oauth-clients', headers: h.auth('viewer') });
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain(body.clientId);
    expect(list.body).not.toContain(body.clientSecret);
    const audit = await h.app.inject({ method: 'GET', url: '/audit-log?action=oauth-client.create', headers: h.auth() });
    expect(audit.json<{ items: unknown[] }>().items).toHaveLength(1);
    expect(audit.body).toContain(body.clientId);
    expect(audit.body).not.toContain(body.clientSecret);
    expect(audit.body).not.toMatch(/[0-9a-f]{64}/);
  });

  it('refuses scopes the consumer may not have (problem+json naming the field), an unknown consumer, and viewers', async () => {
    const bad = await create({ scopes: ['orders:read', 'admin:all'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(bad.json()).toMatchObject({ errors: [expect.objectContaining({ path: 'body.scopes', code: 'scope_not_allowed' })] });
    expect((await create({}, 'admin', 'ghost')).statusCode).toBe(404);
    expect((await create({}, 'viewer')).statusCode).toBe(403);
    expect((await create({ scopes: ['bad"scope'] })).statusCode).toBe(400);
  });

  it('revokes once; a second revocation is 404', async () => {
    const { clientId } = (await create({})).json<{ clientId: string }>();
    const del = () => h.app.inject({ method: 'DELETE', url: `/consumers/acme/oauth-clients/${clientId}`, headers: h.auth('operator') });
    expect((await del()).statusCode).toBe(204);
    expect((await del()).statusCode).toBe(404);
    const list = (await h.app.inject({ method: 'GET', url: '/consumers/acme/oauth-clients', headers: h.auth() })).json<{ items: Array<{ clientId: string; revokedAt?: string }> }>();
    expect(list.items.find((c) => c.clientId === clientId)?.revokedAt).toBeDefined();
  });
});
