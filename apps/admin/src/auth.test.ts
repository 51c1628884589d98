import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import type { AdminToken, AdminTokenStore } from '@tollgate/stores';
import { hashToken, registerAuth } from './auth.js';
import { registerErrorHandlers } from './error-handlers.js';

/** A token store answering from a fixed list, to drive the edge cases a SQL store never returns. */
function storeOf(answer: (hash: string) => AdminToken | undefined): AdminTokenStore {
  return {
    insert: async () => {
      throw new Error('not used');
    },
    findByHash: async (hash) => answer(hash),
    countActive: async () => 1,
    list: async () => [],
    revoke: async () => {
      throw new Error('not used');
    },
  };
}

async function appWith(tokens: AdminTokenStore) {
  const app = Fastify();
  registerErrorHandlers(app);
  registerAuth(app, tokens);
  // Real patterns of the permission table: /config is read with config:read, written with config:write.
  app.get('/config', async (request) => ({ role: request.adminRole }));
  app.post('/config', async () => ({ ok: true }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.ready();
  return app;
}

const token = (hash: string, extra: Partial<AdminToken> = {}): AdminToken => ({ id: 'atk_1', name: 't', role: 'admin', hash, createdAt: new Date(), ...extra });

describe('admin auth', () => {
  it('hashes tokens with SHA-256 hex', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('looks tokens up by digest only and attaches the role', async () => {
    const seen: string[] = [];
    const app = await appWith(storeOf((h) => (seen.push(h), h === hashToken('good-token') ? token(h, { role: 'viewer' }) : undefined)));
    const res = await app.inject({ method: 'GET', url: '/config', headers: { authorization: 'Bearer good-token' } });
    expect(res.json()).toEqual({ role: 'viewer' });
    expect(seen).toEqual([hashToken('good-token')]);
  });

  it('refuses a revoked token even if the store returns it', async () => {
    const app = await appWith(storeOf((h) => token(h, { revokedAt: new Date() })));
    const res = await app.inject({ method: 'GET', url: '/config', headers: { authorization: 'Bearer any' } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('invalid_token');
  });

  it('refuses a token whose stored digest differs from the presented one', async () => {
    const app = await appWith(storeOf(() => token(hashToken('other'))));
    const res = await app.inject({ method: 'GET', url: '/config', headers: { authorization: 'Bearer mine' } });
    expect(res.statusCode).toBe(401);
  });

  it('lets public routes through without a token, and nothing else', async () => {
    const app = await appWith(storeOf(() => undefined));
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/healthz/../config' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/docsx' })).statusCode).toBe(401);
  });

  it('refuses what the role lacks, naming the roles that may', async () => {
    const viewer = await appWith(storeOf((h) => token(h, { role: 'viewer' })));
    const refused = await viewer.inject({ method: 'POST', url: '/config', headers: { authorization: 'Bearer x' } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'FORBIDDEN', detail: expect.stringContaining('requires role "admin" or "operator"') });
    expect((await viewer.inject({ method: 'GET', url: '/config', headers: { authorization: 'Bearer x' } })).statusCode).toBe(200);
    const billing = await appWith(storeOf((h) => token(h, { role: 'billing' })));
    expect((await billing.inject({ method: 'GET', url: '/config', headers: { authorization: 'Bearer x' } })).statusCode).toBe(403);
  });
});
