import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, upstreamYaml } from '../admin/harness.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTollgateProcess, type TollgateProcess } from '../support/tollgate-process.js';

/**
 * The CLI as a new user gets it: installed into a prefix outside the checkout (no network: a
 * folder install from the workspace), run from an unrelated directory with nothing but PATH and
 * HOME, against a product on custom ports that is configured once (a context, or the server's
 * own ADMIN_PORT).
 */
const repo = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'tgadm_packaging_test_token_0001';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('the installed tollgate CLI', () => {
  let tmp: string;
  let bin: string;
  let work: string;
  let db: TestDatabase;
  let product: TollgateProcess;

  const tollgate = (args: string[], env: Record<string, string> = {}, home = join(tmp, 'home')): Promise<Run> =>
    new Promise((resolve, reject) => {
      // Only the prefix's bin and the directory of node: no workspace node_modules/.bin, no npx.
      const path = [join(tmp, 'prefix', 'bin'), join(process.execPath, '..'), '/usr/bin', '/bin'].join(delimiter);
      const child = spawn('tollgate', args, { cwd: work, env: { PATH: path, HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tollgate-install-'));
    work = join(tmp, 'work');
    mkdirSync(join(work, 'config', 'apis'), { recursive: true });
    mkdirSync(join(tmp, 'home'));
    const npm = spawnSync('npm', ['install', '--global', '--prefix', join(tmp, 'prefix'), '--offline', '--no-audit', '--no-fund', join(repo, 'apps', 'cli')], { cwd: tmp, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
    expect(npm.status, npm.stderr).toBe(0);
    bin = join(tmp, 'prefix', 'bin', 'tollgate');
    db = await createTestDatabase();
    product = await startTollgateProcess({ role: 'admin', env: { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, ADMIN_HOST: '127.0.0.1', TOLLGATE_DATA: join(tmp, 'data') } });
    writeFileSync(join(work, 'config', 'upstream.yaml'), upstreamYaml('orders-svc'));
    writeFileSync(join(work, 'config', 'apis', 'orders.yaml'), apiYaml('orders', 'orders-svc'));
    writeFileSync(join(work, 'config', 'README.txt'), 'not a resource file\n');
  });
  afterAll(async () => {
    await product?.stop();
    await db?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('is installed as a `tollgate` command in the prefix', async () => {
    expect(bin).toContain(tmp);
    const version = await tollgate(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });

  it('configured once with a context: apply a folder (-R), diff, export from any directory', async () => {
    const port = new URL(product.adminUrl).port;
    const set = await tollgate(['config', 'set-context', 'local', '--admin-url', `http://127.0.0.1:${port}`, '--token', TOKEN]);
    expect(set.code, set.stderr).toBe(0);
    expect((await tollgate(['config', 'current-context'])).stdout).toBe('local\n');
    expect((await tollgate(['config', 'view'])).stdout).not.toContain(TOKEN);

    // Without -R only the folder's own files: the Api in apis/ is not read.
    const flat = await tollgate(['apply', '-f', 'config', '--dry-run']);
    expect(flat).toMatchObject({ code: 0, stdout: 'Upstream/orders-svc created (dry run)\n' });
    const applied = await tollgate(['apply', '-R', '-f', 'config']);
    expect(applied.stderr).toBe('');
    expect(applied).toMatchObject({ code: 0, stdout: 'Upstream/orders-svc created\nApi/orders created\n' });

    expect(await tollgate(['diff', '-R', '-f', 'config'])).toMatchObject({ code: 0, stdout: '' });
    writeFileSync(join(work, 'changed.yaml'), upstreamYaml('orders-svc', 9009));
    const changed = await tollgate(['diff', '-f', 'changed.yaml']);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/^\+.*127\.0\.0\.1:9009/m);

    const exported = await tollgate(['export']);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain('kind: Api');
    expect(exported.stdout).toContain('name: orders-svc');
  });

  it('without a context, reads the same ADMIN_PORT / ADMIN_HOST / ADMIN_TOKEN as the server', async () => {
    const port = new URL(product.adminUrl).port;
    const home = join(tmp, 'empty-home');
    mkdirSync(home, { recursive: true });
    const viaServerEnv = await tollgate(['export'], { ADMIN_PORT: port, ADMIN_TOKEN: TOKEN }, home);
    expect(viaServerEnv.stderr).toBe('');
    expect(viaServerEnv.code).toBe(0);
    const viaWildcardHost = await tollgate(['export'], { ADMIN_PORT: port, ADMIN_HOST: '0.0.0.0', ADMIN_TOKEN: TOKEN }, home);
    expect(viaWildcardHost.code).toBe(0);
    // TOLLGATE_ADMIN_URL still wins over the server's variables.
    const wrong = await tollgate(['export'], { ADMIN_PORT: port, ADMIN_TOKEN: TOKEN, TOLLGATE_ADMIN_URL: 'http://127.0.0.1:1' }, home);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('cannot reach the admin API at http://127.0.0.1:1');
  });

  it('a context token is never sent to a URL that did not come from that context', async () => {
    // TOLLGATE_ADMIN_URL points at the same server, but the context's token must not follow it.
    const res = await tollgate(['export'], { TOLLGATE_ADMIN_URL: product.adminUrl });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no admin token given');
    const explicit = await tollgate(['export', '--context', 'local'], { TOLLGATE_ADMIN_URL: 'http://127.0.0.1:1' });
    expect(explicit.code).toBe(0);
    const unknown = await tollgate(['export', '--context', 'nope']);
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.stderr).toContain('no context named "nope"');
  });

  it('`tollgate export | true` (reader gone before the write) ends quietly: EPIPE is not a crash', async () => {
    const path = [join(tmp, 'prefix', 'bin'), join(process.execPath, '..'), '/usr/bin', '/bin'].join(delimiter);
    const res = spawnSync('sh', ['-c', 'tollgate export | true'], { cwd: work, env: { PATH: path, HOME: join(tmp, 'home') }, encoding: 'utf8' });
    expect(res.stderr).not.toContain('EPIPE');
    expect(res.stderr).toBe('');
  });
});
