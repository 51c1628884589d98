import { MemoryCacheStorage, type CacheStorages, type MemoryCacheLimits, type PurgeTarget } from '@tollgate/policies';
import { postgresPurgeBus, processPurgeBus, redisPurgeBus, type PurgeBus } from './purge-bus.js';
import { checkRedisKeyPrefix, createRedisClient, type PostgresTimeouts, type RedisClient } from '@tollgate/stores';
import { RedisCacheStorage } from './redis-storage.js';

export { parsePurge, PURGE_CHANNEL, type PurgeBus } from './purge-bus.js';
export { RedisCacheStorage } from './redis-storage.js';

/** Default prefix of Redis cache keys (and of the purge channel). */
export const DEFAULT_CACHE_KEY_PREFIX = 'tollgate:cache:';

interface Logger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

/** Where the response cache lives in one process. */
export interface ResponseCacheOptions {
  /** `REDIS_URL`: enables `storage: redis` and carries purges over pub/sub. */
  readonly redisUrl?: string;
  /** `DATABASE_URL`: without Redis, purges travel by Postgres NOTIFY. */
  readonly databaseUrl?: string;
  /** Deadlines of the Postgres purge sessions (`DATABASE_*_TIMEOUT_MS`). */
  readonly databaseTimeouts?: PostgresTimeouts;
  /** Prefix of Redis keys and of the pub/sub channel (`CACHE_KEY_PREFIX`). */
  readonly keyPrefix?: string;
  /** Bounds of the in-memory LRU (`CACHE_MEMORY_MAX_ENTRIES`, `CACHE_MEMORY_MAX_BYTES`). */
  readonly memory?: MemoryCacheLimits;
  readonly logger: Logger;
}

/** Resolves once `redis` is connected (at once if it is), rejects after `ms`. */
function ready(redis: RedisClient, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis is not reachable (${redis.status})`));
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/** What a purge did. */
export interface PurgeOutcome {
  readonly target: PurgeTarget;
  /** Keys deleted from Redis storage, or null without Redis. */
  readonly redisKeysDeleted: number | null;
  /** How in-memory caches of every gateway were told. */
  readonly broadcast: PurgeBus['transport'];
}

/**
 * The response cache of one process: the storages the `response-cache` policy uses (the memory
 * LRU, shared by every route and snapshot, and Redis when configured), and the purge path. A
 * gateway calls {@link listen} so purges published by the admin process reach its memory LRU;
 * the admin calls {@link purge}, which deletes Redis entries itself and publishes the purge.
 */
export class ResponseCache {
  readonly storages: CacheStorages;
  readonly memory: MemoryCacheStorage;
  readonly #redis: RedisClient | null;
  readonly #redisStorage: RedisCacheStorage | null;
  readonly #bus: PurgeBus;
  readonly #logger: Logger;

  constructor(options: ResponseCacheOptions) {
    const prefix = checkRedisKeyPrefix(options.keyPrefix ?? DEFAULT_CACHE_KEY_PREFIX, 'keyPrefix');
    this.#logger = options.logger;
    this.memory = new MemoryCacheStorage(options.memory);
    // Lookups must not wait for a Redis that is away: without an offline queue a command fails at
    // once while disconnected, and a short timeout bounds a slow one; either is served uncached.
    this.#redis = options.redisUrl !== undefined ? createRedisClient(options.redisUrl, { redis: { maxRetriesPerRequest: 1, commandTimeout: 500, enableOfflineQueue: false } }) : null;
    this.#redis?.on('error', () => undefined);
    this.#redisStorage = this.#redis !== null ? new RedisCacheStorage(this.#redis, prefix, options.logger) : null;
    this.storages = { memory: this.memory, redis: this.#redisStorage };
    this.#bus = this.#redis !== null ? redisPurgeBus(this.#redis, `${prefix}purge`) : options.databaseUrl !== undefined ? postgresPurgeBus(options.databaseUrl, options.databaseTimeouts) : processPurgeBus();
  }

  /** Resolves once Redis (when configured) is connected; lookups before that are served uncached. */
  async whenReady(ms = 5_000): Promise<void> {
    if (this.#redis !== null) await ready(this.#redis, ms);
  }

  /** Gateway side: applies purges published by any process to this process's memory LRU. */
  async listen(): Promise<void> {
    await this.#bus.subscribe((target) => {
      const n = this.memory.purgeSync(target);
      this.#logger.info({ target, entries: n }, 'response cache purged');
    });
  }

  /** Admin side: deletes matching Redis entries and tells every gateway to purge its memory LRU. */
  async purge(target: PurgeTarget): Promise<PurgeOutcome> {
    if (this.#redis !== null) await ready(this.#redis, 3_000);
    const redisKeysDeleted = this.#redisStorage !== null ? await this.#redisStorage.purge(target) : null;
    await this.#bus.publish(target);
    return { target, redisKeysDeleted, broadcast: this.#bus.transport };
  }

  async close(): Promise<void> {
    await this.#bus.close();
    this.#redis?.disconnect();
  }
}
