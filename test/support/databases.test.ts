import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, randomPrefix, testRedisUrl } from './databases.js';

describe('test support: databases', () => {
  it('creates a usable fresh database and drops it even with a connection still open', async () => {
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    client.on('error', () => {}); // the forced drop terminates this session on purpose
    const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
    expect(rows[0]?.name).toBe(db.name);
    await db.drop();
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    const left = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name]);
    await admin.end();
    await client.end().catch(() => {});
    expect(left.rowCount).toBe(0);
  });

  it('gives distinct prefixes and a Redis URL', () => {
    expect(randomPrefix()).not.toBe(randomPrefix());
    expect(testRedisUrl()).toMatch(/^rediss?:\/\//);
  });
});
