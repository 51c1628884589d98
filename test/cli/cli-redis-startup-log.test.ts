import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { startTollgateProcess, waitUntil } from '../support/tollgate-process.js';

/** The start-up log tells a connecting Redis from an unreachable one. */
describe('Redis at start-up', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('a reachable Redis is logged as the counter store, never as not reachable', async () => {
    const tg = await startTollgateProcess({ role: 'gateway', env: { DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), LOG_FORMAT: 'json' } });
    try {
      const line = tg.output().split('\n').find((l) => l.includes('"store":"redis"')) ?? '';
      expect(JSON.parse(line)).toMatchObject({ msg: 'counter store: Redis', mode: 'single', reachable: true });
      expect(tg.output()).not.toMatch(/not reachable|not connected/);
    } finally {
      await tg.stop();
    }
  });

  it('an unreachable Redis is reported once as not connected, and start-up goes on', async () => {
    const closed = await freePort();
    const tg = await startTollgateProcess({ role: 'gateway', env: { DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${closed}`, LOG_FORMAT: 'json' } });
    try {
      await waitUntil(async () => tg.output().includes('"store":"redis"'), 10_000);
      const line = tg.output().split('\n').find((l) => l.includes('"store":"redis"')) ?? '';
      expect(JSON.parse(line)).toMatchObject({ level: 40, reachable: false, msg: 'counter store: Redis not connected after 2 s; retrying in the background' });
    } finally {
      await tg.stop();
    }
  });
});
