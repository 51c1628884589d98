import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTollgateProcess, type TollgateProcess } from '../support/tollgate-process.js';

/**
 * Black box: console sessions live in the database, not in one admin process. A session survives
 * a restart of the admin, and a second admin process on the same database (replicas behind one
 * address, without sticky routing) accepts it and can end it for both.
 */
const TOKEN = `tgadm_${randomBytes(24).toString('hex')}`;

async function signIn(admin: TollgateProcess): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${admin.adminUrl}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKEN }) });
  expect(res.status).toBe(201);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  expect(cookie).toMatch(/^tollgate_console=[A-Za-z0-9_-]{43}$/);
  return { cookie, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
}

const readSession = (admin: TollgateProcess, cookie: string) => fetch(`${admin.adminUrl}/console/session`, { headers: { cookie } });
const listApis = (admin: TollgateProcess, cookie: string) => fetch(`${admin.adminUrl}/apis`, { headers: { cookie } });

describe('console sessions across admin processes on Postgres', () => {
  let database: TestDatabase;
  const running: TollgateProcess[] = [];
  const start = async () => {
    const p = await startTollgateProcess({ role: 'admin', env: { DATABASE_URL: database.url, ADMIN_TOKEN: TOKEN } });
    running.push(p);
    return p;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await database?.drop();
  });

  it('keeps a session across a restart, and a second admin process accepts it and ends it for both', async () => {
    const first = await start();
    const { cookie, csrf } = await signIn(first);
    expect((await listApis(first, cookie)).status).toBe(200);
    await first.stop();

    const [restarted, second] = await Promise.all([start(), start()]);
    const read = await readSession(restarted, cookie);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { csrfToken: string }).csrfToken).toBe(csrf);
    expect((await listApis(second, cookie)).status).toBe(200);
    // A change through the other process needs the same session's CSRF token, and works with it.
    const apply = (headers: Record<string, string>) => fetch(`${second.adminUrl}/config?dryRun=true`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, ...headers }, body: '[]' });
    expect((await apply({})).status).toBe(403);
    expect((await apply({ 'x-csrf-token': csrf })).status).toBe(200);

    const out = await fetch(`${second.adminUrl}/console/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.status).toBe(204);
    expect((await listApis(restarted, cookie)).status).toBe(401);
    expect((await readSession(second, cookie)).status).toBe(401);
  }, 180_000);
});

describe('console sessions across a restart of the embedded store', () => {
  let dir: string;
  let running: TollgateProcess | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-sessions-'));
  });
  afterAll(async () => {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a session when the admin restarts on the same data directory', async () => {
    const env = { TOLLGATE_DATA: dir, ADMIN_TOKEN: TOKEN };
    running = await startTollgateProcess({ role: 'admin', env });
    const { cookie } = await signIn(running);
    await running.stop();
    running = await startTollgateProcess({ role: 'admin', env });
    expect((await listApis(running, cookie)).status).toBe(200);
  }, 240_000);
});
