import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/databases.js';
import { openPglite } from './client.js';
import { migratePglite, migratePostgres, migrationsDir } from './migrate.js';

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('migratePostgres', () => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.drop();
    database = undefined;
  });

  it('succeeds when two processes migrate one fresh database at once, applying each migration once', async () => {
    database = await createTestDatabase();
    const url = database.url;
    await Promise.all([migratePostgres(url), migratePostgres(url), migratePostgres(url)]);
    const applied = await query<{ n: string }>(url, 'SELECT count(*)::text AS n FROM drizzle.__drizzle_migrations');
    const journal = (await import('node:fs')).readdirSync(migrationsDir()).filter((f) => f.endsWith('.sql'));
    expect(Number(applied[0]?.n)).toBe(journal.length);
    const state = await query<{ id: number; version: string }>(url, 'SELECT id, version::text FROM config_state');
    expect(state).toEqual([{ id: 1, version: '0' }]);
    const tables = await query<{ t: string }>(url, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    expect(tables.map((r) => r.t)).toEqual(['admin_tokens', 'api_keys', 'audit_log', 'billing_runs', 'browser_sessions', 'config_state', 'event_dedupe_keys', 'event_states', 'events', 'gateway_nodes', 'oauth_clients', 'oauth_signing_keys', 'portal_accounts', 'portal_subscription_requests', 'portal_tokens', 'resource_changes', 'resources', 'usage_batches', 'usage_rollups', 'webhook_deliveries']);
    // Running again is a no-op.
    await migratePostgres(url);
    const again = await query<{ n: string }>(url, 'SELECT count(*)::text AS n FROM drizzle.__drizzle_migrations');
    expect(again[0]?.n).toBe(applied[0]?.n);
  });

  it('keeps config_state to a single row', async () => {
    database = await createTestDatabase();
    await migratePostgres(database.url);
    await expect(query(database.url, 'INSERT INTO config_state (id, version) VALUES (2, 0)')).rejects.toThrow(/config_state_single_row/);
  });
});

describe('migratePglite', () => {
  it('creates the schema and seeds the config_state row in memory', async () => {
    const handle = await openPglite();
    try {
      await migratePglite(handle.db);
      await migratePglite(handle.db);
      const { rows } = await handle.client.query<{ id: number; version: number }>('SELECT id, version::int AS version FROM config_state');
      expect(rows).toEqual([{ id: 1, version: 0 }]);
    } finally {
      await handle.close();
    }
  });
});

describe('migrationsDir', () => {
  it('finds the repository migrations folder, or the TOLLGATE_MIGRATIONS_DIR override', () => {
    const saved = process.env.TOLLGATE_MIGRATIONS_DIR;
    try {
      delete process.env.TOLLGATE_MIGRATIONS_DIR;
      expect(migrationsDir()).toMatch(/\/migrations$/);
      process.env.TOLLGATE_MIGRATIONS_DIR = '/elsewhere/migrations';
      expect(migrationsDir()).toBe('/elsewhere/migrations');
    } finally {
      if (saved === undefined) delete process.env.TOLLGATE_MIGRATIONS_DIR;
      else process.env.TOLLGATE_MIGRATIONS_DIR = saved;
    }
  });
});
