import { Redis, type RedisOptions } from 'ioredis';
import type { UsageRow } from './accumulator.js';

/**
 * Marker key written by the seed that fills the live counters from Postgres. Its absence tells the
 * nodes that Redis lost its data (restarted without persistence, FLUSHDB, a new server) or was never
 * seeded: no live increment is applied until one node has re-seeded (see {@link SEED_LUA}).
 */
export const EPOCH_KEY = 'usage:epoch';

/** Hash of node id → last batch sequence of that node included in the current seed. */
export const SEEDED_KEY = 'usage:seeded';

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

/**
 * Applies the live increments of one node's batches lo..hi, atomically with two checks: the
 * counters were seeded (else -1: the node seeds first), and the batches are newer than what the
 * seed already holds of this node (else 0, nothing applied: they are in the seed's sums).
 * KEYS: epoch, seeded, then the live hashes. ARGV: node, lo, hi, ttlMs, then per hash: the number
 * of fields, then field, amount pairs.
 */
export const APPLY_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local seeded = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(ARGV[3]) <= seeded then return 0 end
local i = 5
for k = 3, #KEYS do
  local n = tonumber(ARGV[i])
  i = i + 1
  for j = 1, n do
    redis.call('HINCRBY', KEYS[k], ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  redis.call('PEXPIRE', KEYS[k], ARGV[4])
end
return 1
`;

/**
 * Seeds the live counters from one consistent Postgres snapshot, only if no other node did since
 * the data was lost (the epoch marker is absent): sets every live hash to the rolled-up sums,
 * records per node the last batch the snapshot held, then writes the marker, all atomically; so a
 * batch is counted either by the seed or by its node's later increment, never both, never neither.
 * KEYS: epoch, seeded, then the live hashes. ARGV: epoch value, ttlMs, number of nodes, node, seq
 * pairs, then per hash: the number of fields, then field, value pairs. Returns 1, or 0 when another
 * node seeded first.
 */
export const SEED_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
local i = 4
for j = 1, tonumber(ARGV[3]) do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
for k = 3, #KEYS do
  redis.call('DEL', KEYS[k])
  local n = tonumber(ARGV[i])
  i = i + 1
  for j = 1, n do
    redis.call('HSET', KEYS[k], ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  redis.call('PEXPIRE', KEYS[k], ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

/** Live increments of a run of one node's committed batches (lo..hi). */
export interface LiveEntry {
  lo: number;
  hi: number;
  /** Hash key → field → amount. */
  readonly byKey: Map<string, Map<string, number>>;
}

/**
 * Live increments waiting for Redis, per committed batch (so each can be matched against a seed).
 * While Redis is down they pile up one entry per flush; past `maxEntries` the newest are merged into
 * the last entry (bounded memory; a seed taken in the middle of a merged run then counts that run's
 * older part twice, see docs/metering.md).
 */
export class LiveIncrements {
  #entries: LiveEntry[] = [];

  constructor(
    readonly keyPrefix: string,
    readonly maxEntries = 64,
  ) {}

  /** Entries waiting. */
  get size(): number {
    return this.#entries.length;
  }

  /** Adds the rows of committed batch `seq` (anonymous usage has no live counters). */
  addBatch(seq: number, rows: readonly UsageRow[]): void {
    let entry: LiveEntry;
    const last = this.#entries[this.#entries.length - 1];
    if (last !== undefined && this.#entries.length >= this.maxEntries) {
      entry = last;
      entry.hi = seq;
    } else {
      entry = { lo: seq, hi: seq, byKey: new Map() };
    }
    const add = (key: string, field: string, n: number) => {
      if (n === 0) return;
      let f = entry.byKey.get(key);
      if (f === undefined) entry.byKey.set(key, (f = new Map()));
      f.set(field, (f.get(field) ?? 0) + n);
    };
    for (const r of rows) {
      if (r.consumer === '') continue;
      const key = liveKey(this.keyPrefix, r.consumer, r.period);
      add(key, 'requests', r.requests);
      add(key, `units:${r.metric}`, r.units);
      if (r.billable) {
        add(key, 'billable_requests', r.requests);
        add(key, `billable_units:${r.metric}`, r.units);
      }
    }
    if (entry !== last && entry.byKey.size > 0) this.#entries.push(entry);
  }

  entries(): readonly LiveEntry[] {
    return this.#entries;
  }

  /** Drops the first `n` entries (applied, or already in a seed). */
  dropFirst(n: number): void {
    this.#entries = this.#entries.slice(n);
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
  tollgateApplyUsage(numKeys: number, ...args: Array<string | number>): Promise<number>;
  tollgateSeedUsage(numKeys: number, ...args: Array<string | number>): Promise<number>;
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
  client.defineCommand('tollgateApplyUsage', { lua: APPLY_LUA });
  client.defineCommand('tollgateSeedUsage', { lua: SEED_LUA });
}
