import { createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/databases.js';
import { openPostgres } from './client.js';
import { createClient, endClient, isDatabaseUnavailable, QueryTimeoutError, type PostgresTimeouts } from './session.js';

const SHORT: PostgresTimeouts = { connectMs: 300, statementMs: 0, queryMs: 400, keepAliveMs: 1_000 };

describe('isDatabaseUnavailable', () => {
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
  it.each([
    ['refused', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['reset', withCode('read ECONNRESET', 'ECONNRESET')],
    ['terminated by the server (57P01)', withCode('terminating connection due to administrator command', '57P01')],
    ['cannot connect now (57P03)', withCode('the database system is starting up', '57P03')],
    ['connection exception class 08', withCode('connection failure', '08006')],
    ['too many connections (53300)', withCode('sorry, too many clients already', '53300')],
    ['statement timeout (57014)', withCode('canceling statement due to statement timeout', '57014')],
    ['lost connection (pg)', new Error('Connection terminated unexpectedly')],
    ['connect timeout (pg-pool)', new Error('timeout exceeded when trying to connect')],
    ['query deadline', new QueryTimeoutError(100)],
    ['wrapped as cause (drizzle)', new Error('Failed query: select 1', { cause: new Error('Connection terminated unexpectedly') })],
  ])('%s: yes', (_name, err) => expect(isDatabaseUnavailable(err)).toBe(true));
  it.each([
    ['unique violation', withCode('duplicate key value violates unique constraint', '23505')],
    ['syntax error', withCode('syntax error at or near "selec"', '42601')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['not an error', 'Connection terminated'],
  ])('%s: no', (_name, err) => expect(isDatabaseUnavailable(err)).toBe(false));
});

/** A TCP server that accepts and never answers: a silently partitioned Postgres. */
async function silentServer(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr !== null ? addr.port : 0, sockets };
}

describe('guarded sessions', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('a query past its deadline fails with QueryTimeoutError and destroys the connection; the process lives', async () => {
    const client = createClient(db.url, SHORT);
    await client.connect();
    const t0 = Date.now();
    const err = await client.query('SELECT pg_sleep(5)').then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(QueryTimeoutError);
    expect(Date.now() - t0).toBeLessThan(2_000);
    // Queries queued behind it fail too instead of waiting for the dead connection.
    await expect(client.query('SELECT 1')).rejects.toThrow();
    await endClient(client, 200);
  });

  it('a session terminated by the server while checked out of the pool (no query running) does not crash the process', async () => {
    const handle = openPostgres(db.url, { timeouts: { ...SHORT, queryMs: 5_000 }, max: 2 });
    try {
      const client = await handle.pool.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const killer = new pg.Client({ connectionString: db.url });
      await killer.connect();
      await killer.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
      await killer.end();
      // Without a listener the 'error' pg emits on the idle checked-out client is thrown.
      await new Promise((r) => setTimeout(r, 200));
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release();
      // The pool opens a new session for the next query.
      expect((await handle.db.execute('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await handle.close();
    }
  });

  it('connecting to a server that never answers fails at the connect deadline', async () => {
    const silent = await silentServer();
    try {
      const client = createClient(`postgres://postgres@127.0.0.1:${silent.port}/x`, SHORT);
      const t0 = Date.now();
      await expect(client.connect()).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(2_000);
    } finally {
      for (const s of silent.sockets) s.destroy();
      await new Promise((r) => silent.server.close(r));
    }
  });
});
