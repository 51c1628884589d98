import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { CLI, waitUntil } from '../support/tollgate-process.js';

/** `tollgate start` logs readable lines on a terminal and JSON lines otherwise. */
describe('log format of tollgate start', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** Starts `tollgate start admin` (under a pseudo-terminal with `script` when tty) until the admin API logs that it listens. */
  async function startupOutput(tty: boolean, extra: Record<string, string> = {}): Promise<string> {
    const env = { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, ADMIN_TOKEN: 'tgadm_log_format_test_token_01', ADMIN_PORT: String(await freePort()), ADMIN_HOST: '127.0.0.1', ...extra };
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} start admin`;
    const child = tty ? spawn('script', ['-qec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true }) : spawn(process.execPath, [CLI, 'start', 'admin'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitUntil(async () => out.includes('admin API listening'), 60_000, 100).catch((e: Error) => {
        throw new Error(`${e.message}\n${out}`);
      });
      return out;
    } finally {
      // Only the process group this test started.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  it('pretty on a terminal: local time, level, message, fields; no JSON, no epoch', async () => {
    const out = await startupOutput(true);
    expect(out).toMatch(/\d\d:\d\d:\d\d\.\d{3} .*INFO .*admin API listening .*address=http:\/\/127\.0\.0\.1:\d+/);
    expect(out).not.toContain('{"level"');
  }, 90_000);

  it('JSON when piped, and with LOG_FORMAT=json on a terminal', async () => {
    const piped = await startupOutput(false);
    const line = piped.split('\n').find((l) => l.includes('admin API listening')) ?? '';
    expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'admin API listening' });
    const forced = await startupOutput(true, { LOG_FORMAT: 'json' });
    expect(forced).toContain('"msg":"admin API listening"');
  }, 120_000);
});
