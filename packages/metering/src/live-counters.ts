import { Redis, type RedisOptions } from 'ioredis';
import type { UsageRow } from './accumulator.js';

/**
 * Marker key whose absence tells a node that Redis lost its data (restarted without persistence,
 * FLUSHDB, a new server): its value is an epoch id; a node that sees another epoch than the one it
 * last wrote under re-seeds the counters from Postgres.
 */
export const EPOCH_KEY = 'usage:epoch';

/** Live usage hashes live a quarter: the current month and two before it for dashboards. */
export const LIVE_TTL_MS = 93 * 86_400_000;

/**
 * Set-to-at-least for plain counters (quota windows of the limiter): never lowers a count, keeps
 * the key's TTL (INCRBY does), gives one only to a key without one. ARGV: value, ttlMs.
 */
export const RAISE_COUNTER_LUA = `
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local v = tonumber(ARGV[1])
if v > c then redis.call('INCRBY', KEYS[1], v - c) end
if v > 0 and redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return math.max(c, v)
`;

/** The same for the fields of a live usage hash. ARGV: ttlMs, then field, value pairs. */
export const RAISE_HASH_LUA = `
for i = 2, #ARGV, 2 do
  local c = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  local v = tonumber(ARGV[i + 1])
  if v > c then redis.call('HINCRBY', KEYS[1], ARGV[i], v - c) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/** Increments waiting for Redis: hash key → field → amount. Merges across flushes while Redis is down. */
export class LiveIncrements {
  readonly #byKey = new Map<string, Map<string, number>>();

  constructor(readonly keyPrefix: string) {}

  get size(): number {
    return this.#byKey.size;
  }

  #add(key: string, field: string, n: number): void {
    if (n === 0) return;
    let f = this.#byKey.get(key);
    if (f === undefined) this.#byKey.set(key, (f = new Map()));
    f.set(field, (f.get(field) ?? 0) + n);
  }

  /** Adds committed rollup rows (anonymous usage has no live counters). */
  addRows(rows: readonly UsageRow[]): void {
    for (const r of rows) {
      if (r.consumer === '') continue;
      const key = liveKey(this.keyPrefix, r.consumer, r.period);
      this.#add(key, 'requests', r.requests);
      this.#add(key, `units:${r.metric}`, r.units);
      if (r.billable) {
        this.#add(key, 'billable_requests', r.requests);
        this.#add(key, `billable_units:${r.metric}`, r.units);
      }
    }
  }

  entries(): IterableIterator<[string, Map<string, number>]> {
    return this.#byKey.entries();
  }

  clear(): void {
    this.#byKey.clear();
  }
}

/**
 * Key of the live usage hash of a consumer in a billing month: `<prefix>{usage:<consumer>}:<period>`,
 * with a hash tag so one consumer's hashes share a Redis Cluster slot. Fields: `requests`,
 * `billable_requests`, `units:<metric>`, `billable_units:<metric>`.
 */
export function liveKey(prefix: string, consumer: string, period: string): string {
  return `${prefix}{usage:${consumer}}:${period}`;
}

/** Key of the subscription limiter's monthly quota counter (see @tollgate/stores RedisCounterStore.windowKey). */
export function quotaKey(prefix: string, subscription: string, period: string): string {
  return `${prefix}{sub:${subscription}}:q:${period}`;
}

/** Commands the meter defines on its client. */
export interface MeterRedisCommands {
  tollgateRaiseCounter(key: string, value: number, ttlMs: number): Promise<number>;
  tollgateRaiseHash(key: string, ...args: Array<string | number>): Promise<number>;
}

/** A Redis client for the meter. */
export type MeterRedis = Redis & MeterRedisCommands;

/**
 * The meter's own Redis connection: failing fast rather than queueing (no offline queue, a short
 * command timeout), reconnecting in the background, so a flush to a Redis that is down fails at
 * once and is retried at the next tick with the increments kept in memory.
 */
export function createMeterRedis(url: string, options: RedisOptions = {}): MeterRedis {
  const client = new Redis(url, {
    commandTimeout: 2_000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
    ...options,
  });
  client.on('error', () => {});
  defineMeterCommands(client);
  client.connect().catch(() => {});
  return client as MeterRedis;
}

/** Adds the meter's Lua commands to a client (idempotent per client). */
export function defineMeterCommands(client: Redis): void {
  const c = client as Partial<MeterRedisCommands> & Redis;
  if (typeof c.tollgateRaiseCounter === 'function') return;
  client.defineCommand('tollgateRaiseCounter', { numberOfKeys: 1, lua: RAISE_COUNTER_LUA });
  client.defineCommand('tollgateRaiseHash', { numberOfKeys: 1, lua: RAISE_HASH_LUA });
}
