import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createPgliteStores, type SqlStores } from '@tollgate/stores';
import { hashToken } from '../auth.js';
import { buildAdmin } from '../build-admin.js';
import { compilerValidator } from '../validator.js';
import { withEnvelope } from './resource-routes.js';

describe('per-kind endpoints: apiVersion and kind are optional in the body', () => {
  let stores: SqlStores;
  let app: FastifyInstance;
  const token = 'tgadm_resource_routes_test_0001';
  const send = (method: 'POST' | 'PUT', url: string, payload: unknown) => app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload: payload as object });

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

  it('a given kind or apiVersion is still checked', async () => {
    const wrongKind = await send('POST', '/consumers', { kind: 'Plan', metadata: { name: 'x' }, spec: {} });
    expect(wrongKind.statusCode).toBe(422);
    expect(wrongKind.json()).toMatchObject({ code: 'INVALID_CONFIG' });
    const wrongVersion = await send('POST', '/consumers', { apiVersion: 'tollgate.dev/v9', metadata: { name: 'y' }, spec: {} });
    expect(wrongVersion.statusCode).toBe(422);
  });

  it('leaves arrays and non-objects to the usual errors', () => {
    expect(withEnvelope([{ a: 1 }], 'Consumer')).toEqual([{ a: 1 }]);
    expect(withEnvelope('text', 'Consumer')).toBe('text');
  });
});
