import pg from 'pg';

/**
 * Bounds of every Postgres session Tollgate opens (pool, LISTEN, purge bus). Without them a
 * partitioned server hangs the admin API, config reloads and shutdown for as long as TCP takes
 * to give up (minutes to hours).
 */
export interface PostgresTimeouts {
  /** TCP connect + startup, and waiting for a free pooled client (`DATABASE_CONNECT_TIMEOUT_MS`). */
  readonly connectMs: number;
  /**
   * Server-side `statement_timeout` and `idle_in_transaction_session_timeout` (`DATABASE_STATEMENT_TIMEOUT_MS`):
   * the server cancels a long statement, and ends a session whose client vanished mid-transaction,
   * so its locks (a config apply's row lock, a usage batch's key) are released. 0 = none.
   */
  readonly statementMs: number;
  /**
   * Client-side deadline of one query (`DATABASE_QUERY_TIMEOUT_MS`): past it the connection is
   * destroyed (the server may never answer: a silent partition), the query fails and the pool opens
   * a new connection. Longer than `statementMs`, so a slow statement fails on the server first. 0 = none.
   */
  readonly queryMs: number;
  /** TCP keepalive idle time (`DATABASE_KEEPALIVE_MS`): a dead peer of an idle session is detected by the kernel. */
  readonly keepAliveMs: number;
}

/** Defaults: fail fast on connect, generous on statements. */
export const DEFAULT_POSTGRES_TIMEOUTS: PostgresTimeouts = Object.freeze({ connectMs: 5_000, statementMs: 30_000, queryMs: 35_000, keepAliveMs: 10_000 });

/** A query that got no answer within `queryMs`; its connection was destroyed. */
export class QueryTimeoutError extends Error {
  readonly code = 'TOLLGATE_QUERY_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`Postgres did not answer within ${timeoutMs} ms; the connection was closed`);
    this.name = 'QueryTimeoutError';
  }
}

/** The `pg` connection settings of a Tollgate session on `url`. */
export function sessionConfig(url: string, timeouts: PostgresTimeouts, applicationName?: string): pg.ClientConfig {
  return {
    connectionString: url,
    ...(applicationName !== undefined ? { application_name: applicationName } : {}),
    connectionTimeoutMillis: timeouts.connectMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: timeouts.keepAliveMs,
    ...(timeouts.statementMs > 0 ? { statement_timeout: timeouts.statementMs, idle_in_transaction_session_timeout: timeouts.statementMs } : {}),
  };
}

/** Ends a client's connection at once (no Terminate round trip, which a partitioned server never answers). */
export function destroyClient(client: pg.ClientBase, err?: Error): void {
  (client as pg.Client).connection?.stream?.destroy(err);
}

type QueryFn = (...args: unknown[]) => unknown;

/**
 * Makes `client` survive its server: an `'error'` listener (pg emits `'error'` on a client whose
 * session ends, e.g. `pg_terminate_backend` on failover; without a listener Node throws it and the
 * process exits), and a deadline on each query that destroys the connection when it passes, so
 * every query queued on it fails too and the pool discards it (pg's own `query_timeout` leaves the
 * connection busy with the unanswered query, and the pool hands it out again).
 */
export function guardClient<T extends pg.ClientBase>(client: T, queryMs: number): T {
  // The failure reaches the caller through its query; the client is discarded by its owner.
  client.on('error', () => undefined);
  if (queryMs <= 0) return client;
  const query = client.query.bind(client) as QueryFn;
  const guarded: QueryFn = (...args) => {
    const timer = setTimeout(() => destroyClient(client, new QueryTimeoutError(queryMs)), queryMs);
    timer.unref();
    const done = () => clearTimeout(timer);
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = (...result: unknown[]) => {
        done();
        (callback as (...r: unknown[]) => void)(...result);
      };
    }
    let result: unknown;
    try {
      result = query(...args);
    } catch (err) {
      done();
      throw err;
    }
    if (result instanceof Promise) result.then(done, done);
    else if (typeof callback !== 'function') {
      // A submittable (cursor, stream): it reports its end by events.
      const events = result as { once?: (event: string, fn: () => void) => unknown } | undefined;
      if (typeof events?.once === 'function') {
        events.once('end', done);
        events.once('error', done);
      } else done();
    }
    return result;
  };
  (client as unknown as { query: QueryFn }).query = guarded;
  return client;
}

/** A new (not yet connected) guarded client: the LISTEN sessions and one-off notifies use it. */
export function createClient(url: string, timeouts: PostgresTimeouts, applicationName?: string): pg.Client {
  return guardClient(new pg.Client(sessionConfig(url, timeouts, applicationName)), timeouts.queryMs);
}

/**
 * Ends a client, waiting at most `timeoutMs` for the server to acknowledge; past that the socket
 * is destroyed. A partitioned server never answers `end()`, and shutdown must not wait for it.
 */
export async function endClient(client: pg.Client, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = client.end().catch(() => undefined);
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    // Not unref()ed: while shutdown waits on it, it is what keeps the process alive to finish.
  });
  if ((await Promise.race([ended, timedOut])) === 'timeout') destroyClient(client);
  clearTimeout(timer);
}

/** Node socket errors that mean the server cannot be reached or the connection broke. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'TOLLGATE_QUERY_TIMEOUT']);

/**
 * SQLSTATEs of an unavailable server (Appendix A of the Postgres manual): class 08 connection
 * exceptions, 53 insufficient resources (too many connections), 57P01-57P03 shutdown / cannot
 * connect now, 57014 query canceled (the statement timeout), 55P03 lock not available.
 */
function unavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code.startsWith('53') || code === '57P01' || code === '57P02' || code === '57P03' || code === '57014' || code === '55P03';
}

/** Messages of `pg` / `pg-pool` for a lost or unobtainable connection (they carry no code). */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client was closed and is not queryable',
  'Client has encountered a connection error and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'Query read timeout',
];

/**
 * Whether `err` (or an error it wraps as `cause`, as drizzle does) says Postgres is unreachable,
 * restarting, overloaded or timed out, rather than that the request or the code is wrong: the
 * caller should answer "try again later", not "internal error".
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof QueryTimeoutError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && unavailableSqlState(code)))) return true;
    if (UNAVAILABLE_MESSAGES.some((m) => e instanceof Error && e.message.startsWith(m))) return true;
  }
  return false;
}
