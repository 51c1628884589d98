import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzleNodePg, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite, type PgliteDatabase } from 'drizzle-orm/pglite';
import pg from 'pg';
import * as schema from './schema/index.js';

/** The table definitions, for drizzle's relational queries. */
export type Schema = typeof schema;

/** A drizzle database over either driver: code written against it runs on `pg` and PGlite alike. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

/** A drizzle database over a `pg` pool. */
export interface PostgresHandle {
  db: NodePgDatabase<Schema>;
  pool: pg.Pool;
  /** Ends the pool (waits for checked-out clients to be released). */
  close(): Promise<void>;
}

/** A drizzle database over an embedded PGlite instance (one connection, in process). */
export interface PgliteHandle {
  db: PgliteDatabase<Schema>;
  client: PGlite;
  /** Closes PGlite (flushes the data dir, when there is one). */
  close(): Promise<void>;
}

/** Opens a `pg` pool on `url` with drizzle over it. Does not migrate. */
export function openPostgres(url: string, options: { max?: number } = {}): PostgresHandle {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  // An idle client losing its connection (server restart) emits on the pool; without a listener
  // that error would crash the process. The pool discards the client and opens a new one later.
  pool.on('error', () => {});
  const db = drizzleNodePg({ client: pool, schema });
  let closed = false;
  return {
    db,
    pool,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** Opens embedded PGlite; `dataDir` undefined keeps everything in memory. Does not migrate. */
export async function openPglite(dataDir?: string): Promise<PgliteHandle> {
  const client = dataDir === undefined ? await PGlite.create() : await PGlite.create(dataDir);
  const db = drizzlePglite({ client, schema });
  let closed = false;
  return {
    db,
    client,
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}
