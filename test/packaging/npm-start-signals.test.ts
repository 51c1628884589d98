import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { waitUntil } from '../support/tollgate-process.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** `npm start` and a SIGTERM to npm (what a process manager sends): the whole tree stops. */
describe('npm start under SIGTERM', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s to npm stops the Tollgate process too', async (signal) => {
    const db = await createTestDatabase();
    const [proxy, tls, admin, status] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATABASE_URL: db.url, ADMIN_TOKEN: 'tgadm_npm_start_signal_test_01', PROXY_PORT: String(proxy), PROXY_TLS_PORT: String(tls), ADMIN_PORT: String(admin), STATUS_PORT: String(status), PROXY_HOST: '127.0.0.1', STATUS_HOST: '127.0.0.1', ADMIN_HOST: '127.0.0.1' };
    const npm = spawn('npm', ['start', '--silent'], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const npmExited = new Promise((r) => npm.once('exit', r));
    try {
      await waitUntil(async () => (await fetch(`http://127.0.0.1:${status}/readyz`)).ok, 120_000, 200).catch((e: Error) => {
        throw new Error(`${e.message}\n${out}`);
      });
      // `npm start` launches with the V8 flags of every Tollgate process (apps/cli/src/node-flags.ts).
      await waitUntil(async () => out.includes('"semiSpaceMiB":4'), 10_000, 100).catch(() => expect(out).toContain('"semiSpaceMiB":4'));
      npm.kill(signal);
      await npmExited;
      // Nothing may keep answering once npm has exited: the gateway went down with it.
      await waitUntil(async () => fetch(`http://127.0.0.1:${status}/healthz`).then(() => false, () => true), 20_000, 100);
      expect(await fetch(`http://127.0.0.1:${proxy}/`).then(() => 'up', () => 'down')).toBe('down');
    } finally {
      // The signal under test goes to npm alone; cleanup takes the whole group this test started
      // (its own process group, from detached: true), so a failed run leaves nothing behind.
      try {
        if (npm.pid !== undefined) process.kill(-npm.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
      await db.drop().catch(() => undefined);
    }
  }, 180_000);
});
