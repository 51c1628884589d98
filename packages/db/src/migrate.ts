import { fileURLToPath } from 'node:url';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePgliteDb } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { DEFAULT_POSTGRES_TIMEOUTS, guardClient, sessionConfig, type PostgresTimeouts } from './session.js';
import type { Schema } from './client.js';

/**
 * Key of the session-level advisory lock that serializes migrations across processes. Drizzle's
 * migrator does `CREATE SCHEMA/TABLE IF NOT EXISTS` and then reads the last applied migration
 * outside its transaction; two processes starting at once would both apply the same migration.
 */
export const MIGRATION_LOCK_KEY = 7_301_542_998_110_001n;

/**
 * The folder of drizzle-kit SQL migrations: `TOLLGATE_MIGRATIONS_DIR`, else the repository's
 * `migrations/`, found relative to this file so it works from `src/` (tests) and `dist/` (built).
 */
export function migrationsDir(): string {
  const override = process.env.TOLLGATE_MIGRATIONS_DIR;
  if (override !== undefined && override !== '') return override;
  return fileURLToPath(new URL('../../../migrations', import.meta.url));
}

/**
 * Applies pending migrations to the Postgres database at `url`. Safe when several processes
 * start at once: one dedicated connection holds `pg_advisory_lock` while drizzle's migrator runs
 * on that same connection, so the others wait and then find nothing to do.
 */
export async function migratePostgres(url: string, timeouts: PostgresTimeouts = DEFAULT_POSTGRES_TIMEOUTS): Promise<void> {
  // No statement or query deadline: waiting for another starter's migration lock is expected.
  const client = guardClient(new pg.Client(sessionConfig(url, { ...timeouts, statementMs: 0 })), 0);
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    try {
      await migrateNodePg(drizzleNodePg({ client }), { migrationsFolder: migrationsDir() });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
    }
  } finally {
    // Ending the session would release the lock anyway; unlocking first keeps it explicit.
    await client.end();
  }
}

/** Applies pending migrations to an embedded PGlite database (one connection: no race to guard). */
export async function migratePglite(db: PgliteDatabase<Schema>): Promise<void> {
  await migratePgliteDb(db, { migrationsFolder: migrationsDir() });
}
