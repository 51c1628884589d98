import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { createPostgresClient, DEFAULT_POSTGRES_TIMEOUTS, duplicateClient, endPostgresClient, type PostgresTimeouts, type RedisClient } from '@tollgate/stores';
import type { PurgeTarget } from '@tollgate/policies';

/** Postgres channel of cache purges (next to `tollgate_config`, which carries config versions). */
export const PURGE_CHANNEL = 'tollgate_cache_purge';

/**
 * Carries purges of in-memory caches from the admin process to every gateway process. One
 * transport per deployment: Redis pub/sub when `REDIS_URL` is set, else Postgres
 * `LISTEN/NOTIFY` when `DATABASE_URL` is set, else in-process (the embedded single-process mode,
 * where the admin API and the gateway share one process). Delivery is at most once, like NOTIFY:
 * a gateway that is disconnected at that moment misses the purge (its entries still expire by
 * TTL); docs/caching.md says so.
 */
export interface PurgeBus {
  readonly transport: 'redis' | 'postgres' | 'process';
  publish(target: PurgeTarget): Promise<void>;
  /** Calls `onPurge` for every purge published anywhere (this process included). Never fails: an unreachable transport is retried in the background. */
  subscribe(onPurge: (target: PurgeTarget) => void): Promise<void>;
  close(): Promise<void>;
}

/** Parses a purge message; null for anything malformed. */
export function parsePurge(text: string): PurgeTarget | null {
  try {
    const m = JSON.parse(text) as Record<string, unknown>;
    if (m.all === true) return { all: true };
    if (typeof m.id === 'string') return { id: m.id };
    if (typeof m.api === 'string') return typeof m.route === 'string' ? { api: m.api, route: m.route } : { api: m.api };
  } catch {
    // fall through
  }
  return null;
}

const processBus = new EventEmitter();
processBus.setMaxListeners(0);

/** In-process delivery (embedded mode). */
export function processPurgeBus(): PurgeBus {
  const mine: Array<(t: PurgeTarget) => void> = [];
  return {
    transport: 'process',
    async publish(target) {
      processBus.emit('purge', target);
    },
    async subscribe(onPurge) {
      mine.push(onPurge);
      processBus.on('purge', onPurge);
    },
    async close() {
      for (const f of mine) processBus.off('purge', f);
    },
  };
}

/** Redis pub/sub: `publisher` is a normal connection, the subscriber a duplicate (a subscribed connection can do nothing else). */
export function redisPurgeBus(publisher: RedisClient, channel: string): PurgeBus {
  let sub: RedisClient | null = null;
  return {
    transport: 'redis',
    async publish(target) {
      await publisher.publish(channel, JSON.stringify(target));
    },
    async subscribe(onPurge) {
      // The subscriber queues SUBSCRIBE until it is connected (the publisher fails fast instead).
      // On a cluster PUBLISH reaches every node's subscribers, so one subscribed node is enough.
      sub ??= duplicateClient(publisher, { enableOfflineQueue: true, commandTimeout: undefined });
      sub.on('error', () => undefined);
      sub.on('message', (ch: string, msg: string) => {
        if (ch !== channel) return;
        const t = parsePurge(msg);
        if (t !== null) onPurge(t);
      });
      // ioredis re-subscribes by itself after a reconnect. Not awaited: a Redis that is down at
      // boot must not keep the gateway from starting (it subscribes once Redis is reachable).
      sub.subscribe(channel).catch(() => undefined);
    },
    async close() {
      if (sub !== null) sub.disconnect();
    },
  };
}

/**
 * Postgres LISTEN/NOTIFY on {@link PURGE_CHANNEL}, over one dedicated client that reconnects every
 * second when dropped. Its sessions are guarded (an 'error' listener, query deadlines), so a
 * server ending them never crashes the process, and closing never waits on a partitioned server.
 */
export function postgresPurgeBus(url: string, timeouts: PostgresTimeouts = DEFAULT_POSTGRES_TIMEOUTS): PurgeBus {
  let client: pg.Client | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let handler: ((t: PurgeTarget) => void) | null = null;
  const connect = async (): Promise<void> => {
    const c = createPostgresClient(url, timeouts, 'tollgate-cache-purge');
    c.on('notification', (msg) => {
      if (msg.channel !== PURGE_CHANNEL || msg.payload === undefined || handler === null) return;
      const t = parsePurge(msg.payload);
      if (t !== null) handler(t);
    });
    c.on('end', () => {
      if (client === c) client = null;
      if (!closed) retry();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${PURGE_CHANNEL}`);
    } catch (err) {
      c.removeAllListeners('end');
      await endPostgresClient(c, timeouts.connectMs);
      throw err;
    }
    if (closed) {
      c.removeAllListeners('end');
      await endPostgresClient(c, timeouts.connectMs);
      return;
    }
    client = c;
  };
  const retry = () => {
    if (closed || timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      connect().catch(retry);
    }, 1_000);
    timer.unref();
  };
  return {
    transport: 'postgres',
    async publish(target) {
      const c = createPostgresClient(url, timeouts, 'tollgate-cache-purge');
      try {
        await c.connect();
        await c.query('SELECT pg_notify($1, $2)', [PURGE_CHANNEL, JSON.stringify(target)]);
      } finally {
        await endPostgresClient(c, timeouts.connectMs);
      }
    },
    async subscribe(onPurge) {
      handler = onPurge;
      // A failed first connection is retried in the background, like a dropped one.
      await connect().catch(() => retry());
    },
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      const c = client;
      client = null;
      c?.removeAllListeners('end');
      if (c) await endPostgresClient(c, timeouts.connectMs);
    },
  };
}
