import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '@tollgate/model';
import { runCli, startListeningAdmin, type ListeningAdmin } from './cli-harness.js';

describe('tollgate keys and tokens', () => {
  let admin: ListeningAdmin;
  beforeAll(async () => {
    admin = await startListeningAdmin();
    const res = await admin.app.inject({
      method: 'PUT',
      url: '/consumers/acme',
      headers: { authorization: `Bearer ${admin.token}` },
      payload: { apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: 'acme' }, spec: {} },
    });
    expect(res.statusCode).toBe(201);
  });
  afterAll(async () => {
    await admin?.close();
  });

  it('keys list shows keys declared in the Consumer YAML next to issued ones, without their secret', async () => {
    const declared = 'apiVersion: tollgate.dev/v1\nkind: Consumer\nmetadata: { name: yaml-keys }\nspec:\n  keys:\n    - { name: ci, key: tg_declared_in_yaml_0123456789 }\n    - { name: old, key: tg_declared_in_yaml_9876543210, expiresAt: "2030-01-01T00:00:00Z" }\n';
    expect((await runCli(['apply', '-f', '-'], admin.env, declared)).code).toBe(0);
    expect((await runCli(['keys', 'create', 'yaml-keys', '--name', 'issued'], admin.env)).code).toBe(0);
    const list = await runCli(['keys', 'list', 'yaml-keys'], admin.env);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^config:ci\s+ci\s+\(in YAML\)\s+active$/);
    expect(lines[2]).toMatch(/^config:old\s+old\s+\(in YAML\)\s+2030-01-01T00:00:00Z\s+active$/);
    expect(lines[3]).toMatch(/^key_[0-9a-f]+\s+issued\s+tg_/);
    expect(list.stdout).not.toContain('declared_in_yaml');
    const issued = /^(key_[0-9a-f]+)/.exec(lines[3] ?? '')?.[1] ?? '';
    expect((await runCli(['keys', 'revoke', 'yaml-keys', issued], admin.env)).code).toBe(0);
  });

  it.each([
    ['2020-01-01T00:00:00Z', 'error: --expires-at: 2020-01-01T00:00:00Z is in the past; give a future time or a duration like 90d\n'],
    ['2001-09-09', 'error: --expires-at: 2001-09-09 is in the past; give a future time or a duration like 90d\n'],
    ['0d', 'error: --expires-at: 0d would expire the key at once; give a duration like 90d or 12h\n'],
    ['soon', 'error: --expires-at: "soon" is neither an RFC 3339 time nor a duration like 30d or 12h\n'],
  ])('keys create --expires-at %s is refused in one plain sentence', async (value, message) => {
    const res = await runCli(['keys', 'create', 'acme', '--expires-at', value], admin.env);
    expect(res).toMatchObject({ code: 1, stdout: '', stderr: message });
  });

  it('keys create prints the key once on stdout with a warning on stderr; list never shows it; revoke removes it', async () => {
    const created = await runCli(['keys', 'create', 'acme', '--name', 'prod', '--expires-at', '30d'], admin.env);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^tg_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/Created API key key_[0-9a-f]+ for Consumer\/acme \(expires \d{4}-/);
    expect(created.stderr).toMatch(/WARNING: this API key is shown only once/);
    const snapshot = await admin.stores.config.load();
    const stored = snapshot.apiKeys.find((k) => k.hash === hashApiKey(key));
    expect(stored?.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    const list = await runCli(['keys', 'list', 'acme'], admin.env);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain(key);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+KEY\s+CREATED\s+EXPIRES\s+STATUS\n/);
    expect(list.stdout).toContain(`${key.slice(0, 8)}…${key.slice(-4)}`);
    expect(list.stdout).toMatch(/active/);

    const revoked = await runCli(['keys', 'revoke', 'acme', stored?.id ?? ''], admin.env);
    expect(revoked).toMatchObject({ code: 0, stdout: `API key ${stored?.id} of Consumer/acme revoked\n` });
    expect((await admin.stores.config.load()).apiKeys).toEqual([]);
    const again = await runCli(['keys', 'revoke', 'acme', stored?.id ?? ''], admin.env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: NOT_FOUND: Consumer\/acme has no active API key key_/);
    expect(again.stderr).not.toMatch(/\n\s+at /);
  });

  it('a viewer cannot create keys: a one-line FORBIDDEN error', async () => {
    const res = await runCli(['keys', 'create', 'acme'], { ...admin.env, TOLLGATE_ADMIN_TOKEN: admin.viewerToken });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^error: FORBIDDEN: POST \/consumers\/:name\/keys requires role "admin" or "operator"/);
  });

  it('tokens create/list/revoke', async () => {
    const created = await runCli(['tokens', 'create', '--name', 'deployer', '--role', 'operator'], admin.env);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^tgadm_/);
    expect(created.stderr).toMatch(/WARNING: this admin token is shown only once/);
    const list = await runCli(['tokens', 'list'], admin.env);
    expect(list.stdout).toMatch(/deployer\s+operator/);
    expect(list.stdout).not.toContain(token);
    const id = /Created admin token (atk_[0-9a-f]+)/.exec(created.stderr)?.[1] ?? '';
    // The new token works, then stops working once revoked.
    expect((await runCli(['keys', 'list', 'acme'], { ...admin.env, TOLLGATE_ADMIN_TOKEN: token })).code).toBe(0);
    expect((await runCli(['tokens', 'revoke', id], admin.env)).stdout).toBe(`admin token ${id} revoked\n`);
    const refused = await runCli(['keys', 'list', 'acme'], { ...admin.env, TOLLGATE_ADMIN_TOKEN: token });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/the token was refused/);
    const badRole = await runCli(['tokens', 'create', '--name', 'x', '--role', 'root'], admin.env);
    expect(badRole.code).not.toBe(0);
  });
});

describe('tollgate keys create-bulk', () => {
  let admin: ListeningAdmin;
  let dir: string;
  beforeAll(async () => {
    admin = await startListeningAdmin();
    dir = await mkdtemp(join(tmpdir(), 'tollgate-bulk-'));
    for (const name of ['acme', 'globex']) {
      const res = await admin.app.inject({ method: 'PUT', url: `/consumers/${name}`, headers: { authorization: `Bearer ${admin.token}` }, payload: { apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name }, spec: {} } });
      expect(res.statusCode).toBe(201);
    }
  });
  afterAll(async () => {
    await admin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the keys of a CSV or JSON file in one feed position and prints them once as CSV', async () => {
    const csv = join(dir, 'keys.csv');
    await writeFile(csv, 'consumer,name\nacme,prod\nglobex,ci\n');
    const before = await admin.stores.config.version();
    const res = await runCli(['keys', 'create-bulk', '--file', csv], admin.env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/Created 2 API keys \(change feed position \d+\)\.\nWARNING: these API keys are shown only once/);
    const [header, ...rows] = res.stdout.trim().split('\n');
    expect(header).toBe('consumer,name,id,key');
    expect(rows.map((r) => r.split(',').slice(0, 2))).toEqual([
      ['acme', 'prod'],
      ['globex', 'ci'],
    ]);
    const keys = rows.map((r) => r.split(',')[3] ?? '');
    // Keys are not config changes: the version stays, gateways add the keys in place.
    expect(await admin.stores.config.version()).toBe(before);
    const hashes = (await admin.stores.config.load()).apiKeys.map((k) => k.hash);
    for (const key of keys) expect(hashes).toContain(hashApiKey(key));

    const json = join(dir, 'keys.json');
    await writeFile(json, JSON.stringify([{ consumer: 'acme', name: 'a, b' }]));
    const fromJson = await runCli(['keys', 'create-bulk', '--file', json], admin.env);
    expect(fromJson.code, fromJson.stderr).toBe(0);
    expect(fromJson.stdout).toMatch(/^consumer,name,id,key\nacme,"a, b",key_[0-9a-f]+,tg_[A-Za-z0-9_-]{43}\n$/);
  });

  it('an unknown consumer refuses the whole file with a one-line error naming the item; nothing is created', async () => {
    const file = join(dir, 'bad.csv');
    await writeFile(file, 'consumer\nacme\nnobody\n');
    const before = await admin.stores.config.version();
    const res = await runCli(['keys', 'create-bulk', '--file', file], admin.env);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^error: UNKNOWN_CONSUMER: .*body\.items\.1\.consumer/);
    expect(await admin.stores.config.version()).toBe(before);
  });
});
