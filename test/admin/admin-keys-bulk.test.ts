import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashApiKey } from '@tollgate/model';
import { BACKENDS, startAdminHarness, type AdminHarness } from './harness.js';
import { expectProblem } from './problem-assertions.js';

interface BulkItem {
  index: number;
  id: string;
  consumer: string;
  name?: string;
  key: string;
  prefix: string;
  last4: string;
  expiresAt?: string;
}

const consumer = (name: string) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name }, spec: {} });

describe.each(BACKENDS)('POST /keys/bulk (%s)', (backend) => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness(backend);
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    // Pruning the consumers revokes their keys: each test starts from acme and globex with none.
    await h.reset();
    const res = await h.app.inject({ method: 'POST', url: '/config', headers: h.auth(), payload: [consumer('acme'), consumer('globex')] });
    expect(res.statusCode, res.body).toBe(200);
  });

  const version = async () => Number((await h.app.inject({ method: 'GET', url: '/config', headers: h.auth() })).headers['tollgate-config-version']);
  const bulk = (payload: unknown, role: 'admin' | 'operator' | 'viewer' | 'billing' = 'operator') => h.app.inject({ method: 'POST', url: '/keys/bulk', headers: h.auth(role), payload: payload as object });
  const activeKeys = async () => (await h.stores.config.load()).apiKeys;

  it('creates keys of several consumers in one transaction and one feed position, without a config version bump; plaintexts once, digests stored', async () => {
    const before = await version();
    const seqBefore = (await h.stores.config.changesSince(0)).seq;
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const res = await bulk({ items: [{ consumer: 'acme' }, { consumer: 'globex', name: 'ci' }, { consumer: 'acme', name: 'prod', expiresAt }] });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json<{ version: number; seq: number; items: BulkItem[]; warning: string }>();
    expect(body.version).toBe(before);
    expect(body.seq).toBe(seqBefore + 1);
    expect(await version()).toBe(before);
    expect(body.items.map((i) => [i.index, i.consumer, i.name])).toEqual([
      [0, 'acme', undefined],
      [1, 'globex', 'ci'],
      [2, 'acme', 'prod'],
    ]);
    expect(body.items[2]?.expiresAt).toBe(expiresAt);
    for (const item of body.items) {
      expect(item.key).toMatch(/^tg_[A-Za-z0-9_-]{43}$/);
      expect(item.key.startsWith(item.prefix)).toBe(true);
      expect(item.key.endsWith(item.last4)).toBe(true);
    }
    expect(new Set(body.items.map((i) => i.key)).size).toBe(3);
    // The gateway's snapshot has exactly the digests of the returned keys.
    expect((await activeKeys()).map((k) => k.hash).sort()).toEqual(body.items.map((i) => hashApiKey(i.key)).sort());
  });

  it('never shows the plaintexts again: not in listings, exports, the audit log, or the stored rows', async () => {
    const res = await bulk({ items: [{ consumer: 'acme' }, { consumer: 'globex' }] });
    expect(res.statusCode).toBe(201);
    const keys = res.json<{ items: BulkItem[] }>().items.map((i) => i.key);
    const seen = [
      (await h.app.inject({ method: 'GET', url: '/consumers/acme/keys', headers: h.auth() })).body,
      (await h.app.inject({ method: 'GET', url: '/consumers/globex/keys', headers: h.auth() })).body,
      await h.exportYaml(),
      (await h.app.inject({ method: 'GET', url: '/audit-log?action=api-key.create-bulk', headers: h.auth() })).body,
      JSON.stringify(await h.stores.apiKeys.list('acme')),
      JSON.stringify(await h.stores.apiKeys.list('globex')),
    ].join('\n');
    for (const key of keys) {
      expect(seen).not.toContain(key);
      expect(seen).not.toContain(key.slice(8, 30));
    }
    const listed = (await h.app.inject({ method: 'GET', url: '/consumers/acme/keys', headers: h.auth() })).json<{ items: Array<Record<string, unknown>> }>();
    expect(listed.items.filter((k) => k.revokedAt === undefined)).toHaveLength(1);
    expect(listed.items[0]).not.toHaveProperty('key');
    expect(listed.items[0]).not.toHaveProperty('hash');
  });

  it('records one audit entry for the whole request, naming the actor, without digests', async () => {
    const res = await bulk({ items: [{ consumer: 'acme', name: 'audited' }, { consumer: 'globex' }] });
    expect(res.statusCode).toBe(201);
    const entries = (await h.app.inject({ method: 'GET', url: `/audit-log?action=api-key.create-bulk`, headers: h.auth() })).json<{ items: Array<{ requestId: string; outcome: string; actor: { role: string } }> }>();
    const mine = entries.items.filter((e) => e.requestId === res.headers['x-request-id']);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ outcome: 'success', actor: { role: 'operator' } });
    const hashes = (await activeKeys()).map((k) => k.hash);
    for (const hash of hashes) expect(JSON.stringify(entries)).not.toContain(hash);
  });

  it('one unknown consumer refuses the whole request (422 UNKNOWN_CONSUMER naming every such item), storing nothing', async () => {
    const before = await version();
    const res = await bulk({ items: [{ consumer: 'acme' }, { consumer: 'nobody' }, { consumer: 'globex' }, { consumer: 'ghost' }, { consumer: 'nobody' }] });
    const problem = expectProblem(res, 422, 'UNKNOWN_CONSUMER', '/keys/bulk');
    expect(problem.errors?.map((e) => [e.path, e.code])).toEqual([
      ['body.items.1.consumer', 'not_found'],
      ['body.items.3.consumer', 'not_found'],
      ['body.items.4.consumer', 'not_found'],
    ]);
    expect(res.body).not.toMatch(/tg_[A-Za-z0-9_-]{20}/);
    expect(await version()).toBe(before);
    expect(await activeKeys()).toEqual([]);
    expect((await h.stores.apiKeys.list('acme')).filter((k) => !k.revokedAt)).toEqual([]);
  });

  it('a bad item (past expiry, unknown field, bad consumer name) refuses the whole request with 400 and its path', async () => {
    const before = await version();
    const past = expectProblem(await bulk({ items: [{ consumer: 'acme' }, { consumer: 'globex', expiresAt: '2001-01-01T00:00:00Z' }] }), 400, 'INVALID_REQUEST');
    expect(past.errors?.[0]).toMatchObject({ path: 'body.items.1.expiresAt', code: 'in_past' });
    const unknown = expectProblem(await bulk({ items: [{ consumer: 'acme', key: 'tg_chosen-by-the-client-000000000' }] }), 400, 'INVALID_REQUEST');
    expect(unknown.errors?.[0]?.path).toMatch(/^body\.items\.0/);
    expectProblem(await bulk({ items: [{ consumer: '../acme' }] }), 400, 'INVALID_REQUEST');
    expectProblem(await bulk({ items: [] }), 400, 'INVALID_REQUEST');
    expectProblem(await bulk({}), 400, 'INVALID_REQUEST');
    expect(await version()).toBe(before);
    expect(await activeKeys()).toEqual([]);
  });

  it('accepts exactly 1,000 items in one feed position, and refuses 1,001', async () => {
    const before = await version();
    const seq = (await h.stores.config.changesSince(0)).seq;
    const over = expectProblem(await bulk({ items: Array.from({ length: 1_001 }, () => ({ consumer: 'acme' })) }), 400, 'INVALID_REQUEST');
    expect(over.errors?.[0]).toMatchObject({ path: 'body.items', code: 'too_big' });
    expect(await version()).toBe(before);
    const res = await bulk({ items: Array.from({ length: 1_000 }, (_, i) => ({ consumer: i % 2 ? 'acme' : 'globex', name: `k${i}` })) });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(201);
    expect(res.json<{ version: number; items: BulkItem[] }>().items).toHaveLength(1_000);
    expect(await version()).toBe(before);
    expect((await h.stores.config.changesSince(seq)).keys).toHaveLength(1_000);
    expect(await activeKeys()).toHaveLength(1_000);
  });

  it('needs keys:write: viewer and billing are 403, operator and admin may', async () => {
    const before = await version();
    expectProblem(await bulk({ items: [{ consumer: 'acme' }] }, 'viewer'), 403, 'FORBIDDEN');
    expectProblem(await bulk({ items: [{ consumer: 'acme' }] }, 'billing'), 403, 'FORBIDDEN');
    expectProblem(await h.app.inject({ method: 'POST', url: '/keys/bulk', payload: { items: [{ consumer: 'acme' }] } }), 401, 'UNAUTHORIZED');
    expect(await version()).toBe(before);
    expect((await bulk({ items: [{ consumer: 'acme' }] }, 'admin')).statusCode).toBe(201);
  });

  it('takes JSON only (a YAML body is 415)', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/keys/bulk', headers: { ...h.auth(), 'content-type': 'application/yaml' }, payload: 'items:\n  - consumer: acme\n' });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});
