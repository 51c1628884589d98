import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Server URL tests create their databases on (any database of that server works as the admin one). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Default Redis for tests that touch Redis; isolate with `randomPrefix()`. */
export const TEST_REDIS_URL_DEFAULT = 'redis://127.0.0.1:6379';

/** A fresh Postgres database for one test file or suite. */
export interface TestDatabase {
  /** Connection URL of the new database. */
  url: string;
  /** Name of the new database. */
  name: string;
  /** Drops the database, terminating any connection still open on it. */
  drop(): Promise<void>;
}

/** A short random lower-case token, for database names and Redis key prefixes. */
export function randomPrefix(label = 'tg'): string {
  return `${label}_${randomBytes(6).toString('hex')}`;
}

/** The Redis URL tests must use (`TEST_REDIS_URL`, else the local default). */
export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? TEST_REDIS_URL_DEFAULT;
}

async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a randomly named, empty database on the server of `TEST_DATABASE_URL`. Every test that
 * touches Postgres gets its own, so test files can run in parallel without seeing each other.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = randomPrefix('tollgate_test');
  // The name is generated here (hex only), so interpolating it as an identifier is safe.
  await withAdminClient((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      // WITH (FORCE) (Postgres 13+) terminates sessions a leaked pool may still hold.
      await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
