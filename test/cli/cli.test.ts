import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiYaml, stream, upstreamYaml } from '../admin/harness.js';
import { createTestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { runCli, startListeningAdmin, type ListeningAdmin } from './cli-harness.js';

describe('tollgate CLI against a running admin API', () => {
  let admin: ListeningAdmin;
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const exported = async () => (await admin.app.inject({ method: 'GET', url: '/config', headers: { authorization: `Bearer ${admin.token}` } })).body;

  beforeAll(async () => {
    admin = await startListeningAdmin();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
  });
  afterAll(async () => {
    await admin?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    const res = await admin.app.inject({ method: 'POST', url: '/config?prune=true&pruneBilling=true', headers: { authorization: `Bearer ${admin.token}` }, payload: [] });
    expect(res.statusCode).toBe(200);
  });

  it('apply prints each change like kubectl and is idempotent', async () => {
    const f = file('a.yaml', stream(upstreamYaml('orders-svc'), apiYaml('orders', 'orders-svc')));
    const first = await runCli(['apply', '-f', f], admin.env);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe('Upstream/orders-svc created\nApi/orders created\n');
    const again = await runCli(['apply', '-f', f], admin.env);
    expect(again.stdout).toBe('Upstream/orders-svc unchanged\nApi/orders unchanged\n');
    const changed = file('b.yaml', upstreamYaml('orders-svc', 9002));
    expect((await runCli(['apply', '-f', changed], admin.env)).stdout).toBe('Upstream/orders-svc configured\n');
  });

  it('apply --dry-run changes nothing; --prune deletes what the files lack', async () => {
    await runCli(['apply', '-f', file('base.yaml', stream(upstreamYaml('a'), upstreamYaml('b', 9003)))], admin.env);
    const before = await exported();
    const dry = await runCli(['apply', '-f', file('only-a.yaml', upstreamYaml('a')), '--prune', '--dry-run'], admin.env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe('Upstream/a unchanged (dry run)\nUpstream/b deleted (dry run)\n');
    expect(await exported()).toBe(before);
    const pruned = await runCli(['apply', '-f', join(dir, 'only-a.yaml'), '--prune', '--yes'], admin.env);
    expect(pruned.stdout).toBe('Upstream/a unchanged\nUpstream/b deleted\n');
  });

  it('apply takes several -f files and stdin in one transaction', async () => {
    const res = await runCli(['apply', '-f', file('u.yaml', upstreamYaml('svc')), '-f', '-'], admin.env, apiYaml('shop', 'svc'));
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('Upstream/svc created\nApi/shop created\n');
  });

  it('apply of an invalid file prints the problem with document, resource, line and path, exits 1 and changes nothing', async () => {
    const before = await exported();
    const f = file('bad.yaml', stream(upstreamYaml('fine'), apiYaml('broken', 'nope')));
    const res = await runCli(['apply', '-f', f], admin.env);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe('error: The configuration is invalid\n  document 1 (Api/broken) line 19: spec.routes[0].destination.upstream: Upstream/nope does not exist\n');
    expect(await exported()).toBe(before);
  });

  it('with several files, errors name the file and the line within it', async () => {
    const ok = file('ok.yaml', upstreamYaml('fine'));
    const bad = file('typo.yaml', upstreamYaml('typo').replace('  targets:', '  targetz:'));
    const res = await runCli(['apply', '-f', ok, '-f', bad], admin.env);
    expect(res.code).toBe(1);
    // Lines are local to the file (the model points an unknown field at its value, line 7).
    expect(res.stderr).toContain(`${bad}: document 0 (Upstream/typo) line 7: spec.targetz: unknown field "targetz"`);
    expect(res.stderr).not.toContain(`${ok}:`);
  });

  it('invalid YAML is reported with its line', async () => {
    const res = await runCli(['apply', '-f', file('broken.yaml', 'kind: Upstream\nmetadata: [\n')], admin.env);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: The request body could not be parsed\n {2}document 0 line \d+: /);
  });

  it('diff exits 0 without changes and 1 with a unified diff of each change', async () => {
    const f = file('d.yaml', stream(upstreamYaml('svc'), apiYaml('shop', 'svc')));
    await runCli(['apply', '-f', f], admin.env);
    const same = await runCli(['diff', '-f', f], admin.env);
    expect(same).toEqual({ code: 0, stdout: '', stderr: '' });

    const g = file('d2.yaml', stream(upstreamYaml('svc', 9009), upstreamYaml('extra', 9010)));
    const before = await exported();
    const diff = await runCli(['diff', '-f', g, '--prune'], admin.env);
    expect(diff.code).toBe(1);
    expect(await exported()).toBe(before);
    expect(diff.stdout).toContain('--- live/Upstream/svc\n+++ merged/Upstream/svc\n');
    expect(diff.stdout).toContain('-    - url: http://127.0.0.1:9001\n+    - url: http://127.0.0.1:9009\n');
    expect(diff.stdout).toContain('+++ merged/Upstream/extra');
    expect(diff.stdout).toContain('+kind: Upstream');
    expect(diff.stdout).toContain('--- live/Api/shop');
    expect(diff.stdout).toContain('-kind: Api');
    // Defaults filled on both sides: an unchanged resource never shows up.
    const unchanged = await runCli(['diff', '-f', f], admin.env);
    expect(unchanged.code).toBe(0);
  });

  it('diff of an invalid file exits 2', async () => {
    const res = await runCli(['diff', '-f', file('bad-diff.yaml', apiYaml('x', 'missing'))], admin.env);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('spec.routes[0].destination.upstream');
  });

  it('export writes YAML that applies back unchanged, to stdout or a file, or JSON', async () => {
    await runCli(['apply', '-f', file('e.yaml', stream(upstreamYaml('u1'), apiYaml('a1', 'u1')))], admin.env);
    const out = await runCli(['export'], admin.env);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(await exported());
    const target = join(dir, 'out.yaml');
    expect((await runCli(['export', '-o', target], admin.env)).code).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe(out.stdout);
    const back = await runCli(['apply', '-f', target, '--prune'], admin.env);
    expect(back.stdout).toBe('Upstream/u1 unchanged\nApi/a1 unchanged\n');
    const json = await runCli(['export', '--format', 'json'], admin.env);
    expect(JSON.parse(json.stdout)).toMatchObject({ kind: 'List', items: [{ kind: 'Upstream' }, { kind: 'Api' }] });
  });

  it('global options override the environment; ADMIN_TOKEN is a fallback', async () => {
    const viaFlags = await runCli(['--admin-url', admin.url, '--token', admin.token, 'export'], {});
    expect(viaFlags.code).toBe(0);
    const viaAdminToken = await runCli(['export'], { TOLLGATE_ADMIN_URL: admin.url, ADMIN_TOKEN: admin.token });
    expect(viaAdminToken.code).toBe(0);
  });

  it('explains a refused or missing token, and a read-only token, in one line', async () => {
    const wrong = await runCli(['export'], { TOLLGATE_ADMIN_URL: admin.url, TOLLGATE_ADMIN_TOKEN: 'nope' });
    expect(wrong).toMatchObject({ code: 1, stdout: '' });
    expect(wrong.stderr).toBe('error: Authentication required: the token was refused; check --token, TOLLGATE_ADMIN_TOKEN or the context (tollgate config view)\n');
    const missing = await runCli(['export'], { TOLLGATE_ADMIN_URL: admin.url });
    expect(missing.stderr).toBe('error: Authentication required: no admin token given; set TOLLGATE_ADMIN_TOKEN, pass --token, or add one to the context (tollgate config set-context)\n');
    const viewer = await runCli(['apply', '-f', file('v.yaml', upstreamYaml('v'))], { TOLLGATE_ADMIN_URL: admin.url, TOLLGATE_ADMIN_TOKEN: admin.viewerToken });
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toMatch(/^error: Not allowed for this token\n {2}POST \/config requires role "admin" or "operator" \(permission config:write\); this token has role "viewer"/);
  });

  it('says the admin API is unreachable, without a stack', async () => {
    const port = await freePort();
    const res = await runCli(['export'], { TOLLGATE_ADMIN_URL: `http://127.0.0.1:${port}`, TOLLGATE_ADMIN_TOKEN: 'x' });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`error: cannot reach the admin API at http://127.0.0.1:${port}: is Tollgate running? (ECONNREFUSED)\n`);
    const diff = await runCli(['diff', '-f', file('u2.yaml', upstreamYaml('x'))], { TOLLGATE_ADMIN_URL: `http://127.0.0.1:${port}` });
    expect(diff.code).toBe(2);
  });

  it('a missing file is a one-line error', async () => {
    const res = await runCli(['apply', '-f', join(dir, 'absent.yaml')], admin.env);
    expect(res).toMatchObject({ code: 1, stdout: '' });
    expect(res.stderr).toBe(`error: ${join(dir, 'absent.yaml')}: no such file\n`);
  });
});

describe('tollgate start', () => {
  it('refuses a bad environment with a clear message and no stack', async () => {
    const res = await runCli(['start', 'admin'], { ADMIN_TOKEN: 'short' });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('error: tollgate start failed: invalid environment:\n  ADMIN_TOKEN: must be at least 16 characters\n');
  });

  it('rejects an unknown role', async () => {
    const res = await runCli(['start', 'everything'], {});
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("value 'everything' is invalid for argument 'role'");
  });
});

describe('tollgate migrate', () => {
  it('migrates the embedded database under TOLLGATE_DATA, idempotently', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-migrate-'));
    try {
      const first = await runCli(['migrate'], { TOLLGATE_DATA: dir });
      expect(first.stderr).toBe('');
      expect(first).toMatchObject({ code: 0, stdout: `migrations applied to the embedded database at ${join(dir, 'pgdata')}\n` });
      expect((await runCli(['migrate'], { TOLLGATE_DATA: dir })).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('migrates Postgres at DATABASE_URL', async () => {
    const db = await createTestDatabase();
    try {
      const res = await runCli(['migrate'], { DATABASE_URL: db.url });
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const { rows } = await client.query<{ version: string }>('SELECT version FROM config_state');
      await client.end();
      expect(rows).toHaveLength(1);
    } finally {
      await db.drop();
    }
  });

  it('reports an unreachable database in one line', async () => {
    const port = await freePort();
    const res = await runCli(['migrate'], { DATABASE_URL: `postgres://user:secret@127.0.0.1:${port}/x` });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: migrating postgres:\/\/user:\*\*\*@127\.0\.0\.1:\d+\/x failed: .+\n$/);
    expect(res.stderr).not.toContain('secret');
  });
});
