import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createPgliteStores, type SqlStores } from '@tollgate/stores';
import { hashToken } from '../auth.js';
import { buildAdmin } from '../build-admin.js';
import { compilerValidator } from '../validator.js';

describe('per-kind endpoints: apiVersion and kind are optional in the body (JSON and YAML)', () => {
  let stores: SqlStores;
  let app: FastifyInstance;
  const token = 'tgadm_resource_routes_test_0001';
  const send = (method: 'POST' | 'PUT', url: string, payload: unknown) => app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload: payload as object });
  const sendYaml = (method: 'POST' | 'PUT', url: string, yaml: string) => app.inject({ method, url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml' }, payload: yaml });

  beforeAll(async () => {
    stores = await createPgliteStores();
    await stores.tokens.insert({ id: 'atk_t', name: 't', role: 'admin', hash: hashToken(token) });
    app = await buildAdmin({ config: stores.config, tokens: stores.tokens, apiKeys: stores.apiKeys, audit: stores.audit, validate: compilerValidator });
  });
  afterAll(async () => {
    await app?.close();
    await stores?.close();
  });

  it.each([
    ['POST', '/consumers', { metadata: { name: 'bare' }, spec: {} }, 'Consumer'],
    ['PUT', '/consumers/only-kind', { kind: 'Consumer', metadata: { name: 'only-kind' }, spec: {} }, 'Consumer'],
    ['PUT', '/upstreams/u1', { apiVersion: 'tollgate.dev/v1', metadata: { name: 'u1' }, spec: { targets: [{ url: 'http://127.0.0.1:9' }] } }, 'Upstream'],
  ] as const)('%s %s without the envelope creates the resource', async (method, url, body, kind) => {
    const res = await send(method, url, body);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ apiVersion: 'tollgate.dev/v1', kind });
  });

  it.each([
    ['POST', '/consumers', 'metadata:\n  name: yaml-bare\nspec: {}\n', 'Consumer'],
    ['POST', '/plans', 'metadata:\n  name: yaml-plan\nspec:\n  limits:\n    - limit: 5\n      window: 1s\n', 'Plan'],
    ['PUT', '/upstreams/yaml-u', 'kind: Upstream\nmetadata:\n  name: yaml-u\nspec:\n  targets:\n    - url: http://127.0.0.1:9\n', 'Upstream'],
    ['PUT', '/consumers/yaml-version-only', 'apiVersion: tollgate.dev/v1\nmetadata:\n  name: yaml-version-only\nspec: {}\n', 'Consumer'],
  ] as const)('%s %s with a YAML body without the envelope creates the resource', async (method, url, yaml, kind) => {
    const res = await sendYaml(method, url, yaml);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ apiVersion: 'tollgate.dev/v1', kind });
  });

  it('a kind that contradicts the endpoint is 422 wrong_kind, in JSON and in YAML (with the line)', async () => {
    const json = await send('POST', '/consumers', { kind: 'Plan', metadata: { name: 'x' }, spec: {} });
    expect(json.statusCode).toBe(422);
    expect(json.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(json.json()).toMatchObject({ code: 'INVALID_CONFIG', detail: 'this endpoint takes Consumer documents, not Plan', errors: [{ path: 'kind', code: 'wrong_kind' }] });
    const yaml = await sendYaml('PUT', '/plans/p', 'metadata:\n  name: p\nkind: Consumer\nspec: {}\n');
    expect(yaml.statusCode).toBe(422);
    expect(yaml.json()).toMatchObject({ code: 'INVALID_CONFIG', detail: 'this endpoint takes Plan documents, not Consumer', errors: [{ path: 'kind', code: 'wrong_kind', line: 3 }] });
    // Nothing was created by either.
    expect((await app.inject({ method: 'GET', url: '/consumers/x', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/plans/p', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(404);
  });

  it('a given apiVersion is still checked', async () => {
    const wrongVersion = await send('POST', '/consumers', { apiVersion: 'tollgate.dev/v9', metadata: { name: 'y' }, spec: {} });
    expect(wrongVersion.statusCode).toBe(422);
    const wrongYaml = await sendYaml('POST', '/consumers', 'apiVersion: tollgate.dev/v9\nmetadata:\n  name: y\nspec: {}\n');
    expect(wrongYaml.statusCode).toBe(422);
  });

  it('leaves arrays and non-objects to the usual errors', async () => {
    const array = await send('POST', '/consumers', [{ metadata: { name: 'a1' }, spec: {} }, { metadata: { name: 'a2' }, spec: {} }]);
    expect(array.statusCode).toBe(400);
    const scalar = await sendYaml('POST', '/consumers', 'just text\n');
    expect([400, 422]).toContain(scalar.statusCode);
  });
});
