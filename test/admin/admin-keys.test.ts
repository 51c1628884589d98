import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '@tollgate/model';
import { createPostgresStores, type SqlStores } from '@tollgate/stores';
import { startAdminHarness, type AdminHarness } from './harness.js';
import { expectProblem } from './problem-assertions.js';

const DECLARED = 'declared-plaintext-key-0123456789';

function consumerYaml(name: string, key = DECLARED): string {
  return `apiVersion: tollgate.dev/v1
kind: Consumer
metadata:
  name: ${name}
spec:
  customId: cust-${name}
  groups: [gold]
  keys:
    - name: ci
      key: ${key}
`;
}

/** Every column of every row of a table, as text: what a plaintext leak would show up in. */
async function dump(url: string, table: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const res = await client.query(`SELECT t::text AS row FROM ${table} t`);
    return res.rows.map((r: { row: string }) => r.row).join('\n');
  } finally {
    await client.end();
  }
}

describe('consumers and API keys (Postgres)', () => {
  let h: AdminHarness;
  let url: string;
  let peer: SqlStores;
  beforeAll(async () => {
    h = await startAdminHarness('postgres');
    url = h.databaseUrl ?? '';
    // A second store on the same database: another gateway node's view.
    peer = await createPostgresStores({ url, poolMax: 2 });
  });
  afterAll(async () => {
    await peer?.close();
    await h?.close();
  });

  it('declared keys are stored and exported only as digests; re-applying the plaintext is unchanged', async () => {
    const first = await h.applyYaml(consumerYaml('acme'));
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ changes: [{ kind: 'Consumer', name: 'acme', action: 'create' }] });
    const again = await h.applyYaml(consumerYaml('acme'));
    expect(again.json()).toMatchObject({ version: first.json<{ version: number }>().version, changes: [{ action: 'unchanged' }] });
    const exported = await h.exportYaml();
    expect(exported).not.toContain(DECLARED);
    expect(exported).toContain(hashApiKey(DECLARED));
    const put = await h.app.inject({ method: 'PUT', url: '/consumers/beta', headers: { ...h.auth(), 'content-type': 'application/yaml' }, payload: consumerYaml('beta', 'beta-plaintext-key-abcdefghijkl') });
    expect(put.statusCode, put.body).toBe(201);
    expect(put.body).not.toContain('beta-plaintext-key-abcdefghijkl');
    expect(put.json()).toMatchObject({ spec: { keys: [{ name: 'ci', hash: hashApiKey('beta-plaintext-key-abcdefghijkl') }] } });
  });

  it('issues a key once, lists it without secrets, and keeps no plaintext in any table', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/consumers/acme/keys', headers: h.auth('operator'), payload: { name: 'prod' } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const created = res.json<{ id: string; key: string; prefix: string; last4: string; name: string; warning: string }>();
    expect(created.key).toMatch(/^tg_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ name: 'prod', prefix: created.key.slice(0, 8), last4: created.key.slice(-4) });
    expect(created.id).toMatch(/^key_[0-9a-f]+$/);
    expect(created.warning).toMatch(/only once/);

    const list = await h.app.inject({ method: 'GET', url: '/consumers/acme/keys', headers: h.auth('viewer') });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(created.key);
    expect(list.body).not.toContain(hashApiKey(created.key));
    const items = list.json<{ items: Array<{ source: string }> }>().items;
    expect(items.filter((i) => i.source === 'api')).toEqual([expect.objectContaining({ id: created.id, prefix: created.prefix, last4: created.last4, consumer: 'acme' })]);
    // Keys declared in the Consumer document are listed too, by name, never with a secret or digest.
    for (const d of items.filter((i) => i.source === 'config')) expect(Object.keys(d).sort()).toEqual(expect.arrayContaining(['consumer', 'id', 'name', 'source']));

    const snapshot = await h.stores.config.load();
    expect(snapshot.apiKeys).toEqual([{ id: created.id, consumer: 'acme', hash: hashApiKey(created.key), prefix: created.prefix, last4: created.last4 }]);

    for (const table of ['api_keys', 'resources', 'audit_log', 'admin_tokens']) {
      const text = await dump(url, table);
      expect(text.length, table).toBeGreaterThan(0);
      for (const secret of [created.key, DECLARED, 'beta-plaintext-key-abcdefghijkl']) expect(text, `${table} holds a plaintext key`).not.toContain(secret);
    }
    expect(await h.exportYaml()).not.toContain(created.key);
  });

  it('revocation advances the change feed (not the version), notifies, and another node loses the key within one second', async () => {
    const created = (await h.app.inject({ method: 'POST', url: '/consumers/acme/keys', headers: h.auth(), payload: { expiresAt: new Date(Date.now() + 3_600_000).toISOString() } })).json<{ id: string; key: string }>();
    expect((await peer.config.load()).apiKeys.map((k) => k.id)).toContain(created.id);
    const expiring = (await peer.config.load()).apiKeys.find((k) => k.id === created.id);
    expect(expiring?.expiresAt).toBeInstanceOf(Date);
    const heard: number[] = [];
    const stop = await peer.config.watchChanges((seq) => heard.push(seq));
    const before = await peer.config.version();
    const seqBefore = (await peer.config.changesSince(0)).seq;
    const started = Date.now();
    const del = await h.app.inject({ method: 'DELETE', url: `/consumers/acme/keys/${created.id}`, headers: h.auth('operator') });
    expect(del.statusCode, del.body).toBe(204);
    await expect.poll(() => heard, { timeout: 1_000, interval: 20 }).toContain(seqBefore + 1);
    const delta = await peer.config.changesSince(seqBefore);
    expect(delta.keys.map((k) => [k.id, k.revoked])).toEqual([[created.id, true]]);
    const after = await peer.config.load();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(after.version).toBe(before);
    expect(after.apiKeys.map((k) => k.id)).not.toContain(created.id);
    await stop();
    const listed = (await h.app.inject({ method: 'GET', url: '/consumers/acme/keys', headers: h.auth() })).json<{ items: Array<{ id: string; revokedAt?: string }> }>();
    expect(listed.items.find((k) => k.id === created.id)?.revokedAt).toMatch(/^\d{4}-/);
    // Revoking again, or a key of another consumer, is 404 and changes nothing.
    expectProblem(await h.app.inject({ method: 'DELETE', url: `/consumers/acme/keys/${created.id}`, headers: h.auth() }), 404, 'NOT_FOUND');
    expectProblem(await h.app.inject({ method: 'DELETE', url: `/consumers/beta/keys/${created.id}`, headers: h.auth() }), 404, 'NOT_FOUND');
    expect(await peer.config.version()).toBe(before);
    expect((await peer.config.changesSince(0)).seq).toBe(seqBefore + 1);
  });

  it('refuses keys for an unknown consumer, a past expiry and unknown fields', async () => {
    expectProblem(await h.app.inject({ method: 'POST', url: '/consumers/nobody/keys', headers: h.auth(), payload: {} }), 404, 'NOT_FOUND');
    expectProblem(await h.app.inject({ method: 'GET', url: '/consumers/nobody/keys', headers: h.auth() }), 404, 'NOT_FOUND');
    const past = expectProblem(await h.app.inject({ method: 'POST', url: '/consumers/acme/keys', headers: h.auth(), payload: { expiresAt: '2001-01-01T00:00:00Z' } }), 400, 'INVALID_REQUEST');
    expect(past.errors?.[0]?.path).toBe('body.expiresAt');
    const unknown = expectProblem(await h.app.inject({ method: 'POST', url: '/consumers/acme/keys', headers: h.auth(), payload: { key: 'choose-my-own-key-please' } }), 400, 'INVALID_REQUEST');
    expect(unknown.detail).not.toContain('choose-my-own-key-please');
  });

  it('deleting a consumer revokes its keys', async () => {
    const created = (await h.app.inject({ method: 'POST', url: '/consumers/beta/keys', headers: h.auth(), payload: {} })).json<{ id: string }>();
    expect((await h.stores.config.load()).apiKeys.some((k) => k.id === created.id)).toBe(true);
    expect((await h.app.inject({ method: 'DELETE', url: '/consumers/beta', headers: h.auth() })).statusCode).toBe(204);
    expect((await h.stores.config.load()).apiKeys.some((k) => k.consumer === 'beta')).toBe(false);
    expect((await h.stores.apiKeys.list('beta')).every((k) => k.revokedAt instanceof Date)).toBe(true);
    // A consumer re-created under the same name does not inherit the old keys.
    await h.app.inject({ method: 'PUT', url: '/consumers/beta', headers: { ...h.auth(), 'content-type': 'application/yaml' }, payload: consumerYaml('beta') });
    expect((await h.stores.config.load()).apiKeys.some((k) => k.consumer === 'beta')).toBe(false);
  });
});
