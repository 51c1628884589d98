import type pg from 'pg';
import { createClient, DEFAULT_POSTGRES_TIMEOUTS, endClient, type PostgresTimeouts } from '@tollgate/db';
import { CONFIG_CHANNEL, parseNotification, type ChangeNotifier, type ConfigNotification } from './sql-config-store.js';

/** One listener: config versions, and optionally change-feed positions. */
interface Watcher {
  version(version: number): void;
  seq?: ((seq: number) => void) | undefined;
}

/** Reconnect delays of the listener connection: doubling from `minMs` up to `maxMs`. */
export interface BackoffOptions {
  minMs: number;
  maxMs: number;
}

/** Longest wait of each step of closing the session (ms). */
const END_WAIT_MS = 1_000;

/** The `application_name` of the listening session, so operators (and tests) can spot it. */
export const LISTENER_APPLICATION_NAME = 'tollgate-config-listener';

/** Options of {@link PgChangeNotifier} besides the backoff. */
export interface NotifierOptions {
  /** Connect / query deadlines and keepalive of the listening session. */
  timeouts?: PostgresTimeouts;
  /**
   * How often the idle listening session is probed with `SELECT 1` (ms; default 10 s, 0 = never).
   * A LISTEN session sends nothing by itself, so a silently dropped connection would otherwise
   * leave the node deaf to changes until the next poll, forever re-reading the version.
   */
  pingMs?: number;
}

/**
 * Listens on `tollgate_config` over ONE dedicated `pg.Client` (a pooled connection would lose the
 * LISTEN when returned). If the connection drops (or a probe gets no answer within the query
 * deadline) it reconnects with exponential backoff, and after reconnecting reports the current
 * version once: notifications sent while it was away are lost (Postgres does not queue them for
 * absent sessions), so watchers must be told to catch up.
 */
export class PgChangeNotifier implements ChangeNotifier {
  private readonly watchers = new Set<Watcher>();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;
  private readonly timeouts: PostgresTimeouts;
  private readonly pingMs: number;

  constructor(
    private readonly url: string,
    private readonly backoff: BackoffOptions = { minMs: 100, maxMs: 5_000 },
    options: NotifierOptions = {},
  ) {
    this.timeouts = options.timeouts ?? DEFAULT_POSTGRES_TIMEOUTS;
    this.pingMs = options.pingMs ?? 10_000;
  }

  async listen(onVersion: (version: number) => void, onChangeSeq?: (seq: number) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('notifier is closed');
    const watcher: Watcher = { version: onVersion, seq: onChangeSeq };
    this.watchers.add(watcher);
    try {
      await this.ensureConnected(false);
    } catch (err) {
      this.watchers.delete(watcher);
      throw err;
    }
    return async () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) await this.disconnect();
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watchers.clear();
    await this.disconnect();
  }

  private ensureConnected(reconnect: boolean): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= this.connect(reconnect).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(reconnect: boolean): Promise<void> {
    // Guarded: an 'error' listener, and a query deadline that destroys a connection that stopped answering.
    const client = createClient(this.url, this.timeouts, LISTENER_APPLICATION_NAME);
    client.on('notification', (msg) => {
      if (msg.channel !== CONFIG_CHANNEL || msg.payload === undefined) return;
      const n = parseNotification(msg.payload);
      if (n !== undefined) this.emit(n);
    });
    // 'error' then 'end' follow a dropped connection (the guard listens for 'error').
    client.on('end', () => this.onLost(client));
    try {
      await client.connect();
      // Owned from here on, so a drop during LISTEN already triggers the reconnect loop.
      this.client = client;
      await client.query(`LISTEN ${CONFIG_CHANNEL}`);
    } catch (err) {
      if (this.client === client) this.client = undefined;
      client.removeAllListeners('end');
      await endClient(client, this.timeouts.connectMs);
      throw err;
    }
    if (this.closed || this.watchers.size === 0) {
      this.client = undefined;
      client.removeAllListeners('end');
      await endClient(client, this.timeouts.connectMs);
      return;
    }
    this.attempt = 0;
    this.schedulePing(client);
    if (reconnect) {
      // Both positions: a missed config change reloads, a missed credential change catches up.
      const { rows } = await client.query<{ version: string; seq: string }>('SELECT version::text AS version, change_seq::text AS seq FROM config_state WHERE id = 1');
      if (rows[0]) {
        this.emit({ version: Number(rows[0].version) });
        this.emit({ seq: Number(rows[0].seq) });
      }
    }
  }

  private emit(n: ConfigNotification): void {
    for (const watcher of this.watchers) {
      try {
        if ('version' in n) watcher.version(n.version);
        else watcher.seq?.(n.seq);
      } catch {
        // One faulty watcher must not stop the others from hearing of the change.
      }
    }
  }

  /** Probes the session every `pingMs`; an unanswered probe destroys it (the guard's deadline), and 'end' reconnects. */
  private schedulePing(client: pg.Client): void {
    if (this.pingMs <= 0) return;
    if (this.pingTimer) clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      this.pingTimer = undefined;
      if (this.client !== client) return;
      client.query('SELECT 1').then(
        () => this.schedulePing(client),
        () => undefined,
      );
    }, this.pingMs);
    this.pingTimer.unref();
  }

  private onLost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.watchers.size === 0 || this.retryTimer) return;
    const delay = Math.min(this.backoff.maxMs, this.backoff.minMs * 2 ** this.attempt);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.ensureConnected(true).catch(() => this.scheduleReconnect());
    }, delay);
    this.retryTimer.unref();
  }

  /**
   * Bounded by twice {@link END_WAIT_MS}: a connection attempt under way is waited for that long
   * (it ends its own client when it completes after a close), then the session's end, past which
   * its socket is destroyed (a partitioned server never acknowledges it).
   */
  private async disconnect(): Promise<void> {
    const waitMs = Math.min(this.timeouts.connectMs, END_WAIT_MS);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.pingTimer) clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
    if (this.connecting) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.connecting.catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
    }
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      await endClient(client, waitMs);
    }
  }
}
