import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzleNodePg, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite, type PgliteDatabase } from 'drizzle-orm/pglite';
import pg from 'pg';
import * as schema from './schema/index.js';
import { pacedPglite, type StatementTurn } from './paced-pglite.js';
import { DEFAULT_POSTGRES_TIMEOUTS, destroyClient, guardClient, sessionConfig, type PostgresTimeouts } from './session.js';

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

/** Options of {@link openPostgres}. */
export interface PostgresOptions {
  /** Pool size (default 10). */
  max?: number;
  /** Connect, statement and query deadlines and TCP keepalive (default {@link DEFAULT_POSTGRES_TIMEOUTS}). */
  timeouts?: PostgresTimeouts;
  /** How long `close()` waits for sessions to end before destroying their sockets (default 2000 ms). */
  closeTimeoutMs?: number;
}

/** Opens a `pg` pool on `url` with drizzle over it. Does not migrate. */
export function openPostgres(url: string, options: PostgresOptions = {}): PostgresHandle {
  const timeouts = options.timeouts ?? DEFAULT_POSTGRES_TIMEOUTS;
  const pool = new pg.Pool({ ...sessionConfig(url, timeouts, 'tollgate'), max: options.max ?? 10 });
  // An idle client losing its connection (server restart) emits on the pool; without a listener
  // that error would crash the process. The pool discards the client and opens a new one later.
  pool.on('error', () => {});
  // Every client, also while checked out for a transaction (when the pool's own idle listener is
  // detached), gets an 'error' listener and a per-query deadline: see guardClient.
  const live = new Set<pg.PoolClient>();
  pool.on('connect', (client) => {
    guardClient(client, timeouts.queryMs);
    live.add(client);
    client.once('end', () => live.delete(client));
  });
  const db = drizzleNodePg({ client: pool, schema });
  let closed = false;
  return {
    db,
    pool,
    async close() {
      if (closed) return;
      closed = true;
      // pool.end() waits for every session's Terminate to be acknowledged, which a partitioned
      // server never does: past the deadline the sockets are destroyed.
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, options.closeTimeoutMs ?? 2_000);
        // Not unref()ed: while shutdown waits on it, it is what keeps the process alive to finish.
      });
      await Promise.race([pool.end().catch(() => undefined), timedOut]);
      clearTimeout(timer);
      for (const client of live) destroyClient(client);
    },
  };
}

/**
 * Postgres settings of the embedded database, on top of PGlite's own start parameters.
 * shared_buffers: Postgres' default of 128 MB is allocated and zeroed at start inside the
 * WebAssembly memory, so it is all resident (about 120 MB of the process's RSS, measured in
 * docs/benchmarks.md). The embedded store serves one process's configuration and usage rollups;
 * 16 MB holds its working set, and reads past it come from the OS page cache through the
 * data-directory files.
 */
export const PGLITE_START_PARAMS: readonly string[] = ['-c', 'shared_buffers=16MB'];

/** The initdb program, beside this file once built (absent when run from the TypeScript sources). */
const INITDB_SCRIPT = fileURLToPath(new URL('./pglite-initdb.js', import.meta.url));

/**
 * Creates the data directory in a child process when it does not exist yet: initdb runs a second
 * WebAssembly program whose memory would otherwise stay resident in this process for its whole
 * life (a first start measured 900 MB RSS against 430 MB on every later start). A SIGTERM or
 * SIGINT meanwhile stops the child too, then this process as it would have without the wait.
 */
async function initializeDataDir(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  if (!existsSync(INITDB_SCRIPT)) return; // from sources (unit tests): PGlite.create initializes in process
  const child = spawn(process.execPath, [INITDB_SCRIPT, dataDir], { stdio: ['ignore', 'inherit', 'inherit'] });
  const stop = (signal: NodeJS.Signals) => {
    child.kill(signal);
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.kill(process.pid, signal);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`initializing the embedded database in ${dataDir} failed (initdb ${signal ?? `exit code ${code}`})`))));
    });
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}

/**
 * Opens embedded PGlite; `dataDir` undefined keeps everything in memory. Does not migrate.
 * `paceStatements` is awaited before each statement of `db` (a serving process passes a fair turn
 * of its event loop: see paced-pglite.ts).
 */
export async function openPglite(dataDir?: string, paceStatements?: StatementTurn): Promise<PgliteHandle> {
  if (dataDir !== undefined) await initializeDataDir(dataDir);
  const options = { startParams: [...PGlite.defaultStartParams, ...PGLITE_START_PARAMS] };
  const client = dataDir === undefined ? await PGlite.create(options) : await PGlite.create(dataDir, options);
  // With `paceStatements`, each statement of `db` starts in its own turn of the event loop (paced-pglite.ts).
  const db = drizzlePglite({ client: paceStatements === undefined ? client : pacedPglite(client, paceStatements), schema });
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
