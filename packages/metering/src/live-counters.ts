import type { RedisOptions } from 'ioredis';
import { reseededCounters, usageShardOf, usageShardTag, USAGE_SHARDS } from '@tollgate/policies';
import { createRedisClient, type RedisClient } from '@tollgate/stores';
import type { UsageRow } from './accumulator.js';

/**
 * The keys of one usage shard's bookkeeping (see usage-shards.ts of @tollgate/policies): all carry
 * the shard's hash tag, so the seed and apply scripts touch one slot on Redis Cluster.
 * - `epoch`: marker written by the seed that fills the shard's counters from Postgres. Its absence
 *   tells the nodes that Redis lost the shard's data (restarted without persistence, FLUSHDB, a
 *   failover that lost writes, a new server) or never seeded it: no live increment is applied to
 *   the shard until one node has re-seeded it (see {@link SEED_LUA}).
 * - `hold`: set by a seed for a few flush intervals: quota counters are not used meanwhile.
 * - `seeded`: hash of node id → last batch sequence of that node included in the shard's counters.
 */
export function shardKeys(prefix: string, shard: number): { readonly epoch: string; readonly hold: string; readonly seeded: string } {
  const t = usageShardTag(shard);
  return { epoch: `${prefix}{${t}}:epoch`, hold: `${prefix}{${t}}:epoch:hold`, seeded: `${prefix}{${t}}:seeded` };
}

/** The usage shard of a consumer's live usage hashes. */
export function liveShard(consumer: string): number {
  return usageShardOf(`consumer:${consumer}`);
}

/** Live usage hashes live a quarter: the current month and two before it for dashboards. */
export const LIVE_TTL_MS = 93 * 86_400_000;

/**
 * Applies one node's batches lo..hi to Redis, atomically, with two checks: the counters were
 * seeded (else -1: the node seeds first), and the batches are newer than what Redis already holds
 * of this node, by the seed's snapshot or an earlier apply (else 0, nothing applied: a retried
 * pipeline or a batch in the seed's sums is never counted twice). Adds the live usage, and to each
 * plan quota counter the units of the batches' requests that the CURRENT seed epoch did not count
 * when they passed the limiter (decided per node, or counted in a Redis that has since lost its
 * data); then records hi as this node's last batch in Redis.
 * All keys are of one usage shard (one hash slot).
 * KEYS: epoch, seeded, the live hashes, then the quota counters. ARGV: node, lo, hi, ttlMs, number
 * of live hashes; per hash: the number of fields, then field, amount pairs; per quota counter: its
 * ttlMs, the number of pairs, then epoch, units pairs (epoch '' = counted per node only).
 */
export const APPLY_LUA = `
local current = redis.call('GET', KEYS[1])
if not current then return -1 end
local seeded = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(ARGV[3]) <= seeded then return 0 end
local hashes = tonumber(ARGV[5])
local i = 6
for k = 3, 2 + hashes do
  local n = tonumber(ARGV[i])
  i = i + 1
  for j = 1, n do
    redis.call('HINCRBY', KEYS[k], ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  redis.call('PEXPIRE', KEYS[k], ARGV[4])
end
for k = 3 + hashes, #KEYS do
  local ttl = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  local add = 0
  for j = 1, n do
    if ARGV[i] ~= current then add = add + tonumber(ARGV[i + 1]) end
    i = i + 2
  end
  if add > 0 then
    redis.call('INCRBY', KEYS[k], add)
    if redis.call('PTTL', KEYS[k]) < 0 then redis.call('PEXPIRE', KEYS[k], ttl) end
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
`;

/**
 * Seeds the live and quota counters from one consistent Postgres snapshot, only if no other node
 * did since the data was lost (the epoch marker is absent): sets every live hash and every plan
 * quota counter of the current periods to the rolled-up sums, records per node the last batch
 * the snapshot holds, then writes the marker and the hold key, all atomically. No quota was
 * counted in this Redis before (the limiter's calls are guarded by the marker), so the counters
 * hold exactly the snapshot; each batch is counted either by the seed or by its node's later
 * apply, never both, never neither. The limiters keep treating the quotas as unavailable while
 * the hold key lives (a few flush intervals), so that every node has applied the usage it
 * counted before the seed (in its accumulator, not yet in Postgres) before a quota decides again.
 * All keys are of one usage shard (one hash slot), seeded on its own.
 * KEYS: epoch, seeded, hold, the live hashes, then the quota counters. ARGV: epoch value, ttlMs,
 * holdMs, number of nodes, node, seq pairs, number of live hashes; per hash: the number of fields,
 * then field, value pairs; per quota counter: value, ttlMs. Returns 1, or 0 when another node
 * seeded first.
 */
export const SEED_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
local i = 5
for j = 1, tonumber(ARGV[4]) do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
local hashes = tonumber(ARGV[i])
i = i + 1
for k = 4, 3 + hashes do
  redis.call('DEL', KEYS[k])
  local n = tonumber(ARGV[i])
  i = i + 1
  for j = 1, n do
    redis.call('HSET', KEYS[k], ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  redis.call('PEXPIRE', KEYS[k], ARGV[2])
end
for k = 4 + hashes, #KEYS do
  redis.call('DEL', KEYS[k])
  if tonumber(ARGV[i]) > 0 then redis.call('SET', KEYS[k], ARGV[i], 'PX', ARGV[i + 1]) end
  i = i + 2
end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[3], '1', 'PX', ARGV[3]) end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

/** Units charged to one plan quota counter, by the seed epoch that counted them ('' = none). */
export interface QuotaTally {
  /** The usage shard the counter lives in. */
  readonly shard: number;
  /** When the counter expires (the end of its quota period), ms since the epoch. */
  expiresAt: number;
  readonly byEpoch: Map<string, number>;
}

/** Plan quota charges of a batch: Redis key of the counter → tally. */
export type QuotaCharges = Map<string, QuotaTally>;

/** Adds `units` charged under `epoch` to counter `key` (in usage shard `shard`) of `charges`. */
export function addCharge(charges: QuotaCharges, key: string, shard: number, epoch: string, units: number, expiresAt: number): void {
  let t = charges.get(key);
  if (t === undefined) charges.set(key, (t = { shard, expiresAt, byEpoch: new Map() }));
  if (expiresAt > t.expiresAt) t.expiresAt = expiresAt;
  t.byEpoch.set(epoch, (t.byEpoch.get(epoch) ?? 0) + units);
}

/** Live increments of a run of one node's committed batches (lo..hi), in one usage shard. */
export interface LiveEntry {
  lo: number;
  hi: number;
  /** Hash key → field → amount. */
  readonly byKey: Map<string, Map<string, number>>;
  /** The plan quota charges of the run's requests. */
  readonly quota: QuotaCharges;
}

/**
 * Live increments of one usage shard waiting for Redis, per committed batch (so each can be
 * matched against a seed). While the shard is unreachable they pile up one entry per flush; past
 * `maxEntries` the newest are merged into the last entry (bounded memory; a seed taken in the
 * middle of a merged run then counts that run's older part twice, see docs/metering.md). A queue
 * per shard, because shards are applied (and fail) independently on a cluster: an entry is only
 * ever merged into one that its own shard has not applied yet.
 */
export class LiveIncrements {
  #entries: LiveEntry[] = [];

  constructor(readonly maxEntries = 64) {}

  /** Entries waiting. */
  get size(): number {
    return this.#entries.length;
  }

  /** Adds the live increments and quota charges of committed batch `seq` (nothing when both are empty). */
  add(seq: number, byKey: Map<string, Map<string, number>>, quota: QuotaCharges): void {
    if (byKey.size === 0 && quota.size === 0) return;
    const last = this.#entries[this.#entries.length - 1];
    if (last === undefined || this.#entries.length < this.maxEntries) {
      this.#entries.push({ lo: seq, hi: seq, byKey, quota });
      return;
    }
    last.hi = seq;
    for (const [key, t] of quota) for (const [epoch, units] of t.byEpoch) addCharge(last.quota, key, t.shard, epoch, units, t.expiresAt);
    for (const [key, fields] of byKey) {
      let f = last.byKey.get(key);
      if (f === undefined) last.byKey.set(key, (f = new Map()));
      for (const [field, n] of fields) f.set(field, (f.get(field) ?? 0) + n);
    }
  }

  entries(): readonly LiveEntry[] {
    return this.#entries;
  }

  /** Drops the first `n` entries (applied, or already in a seed). */
  dropFirst(n: number): void {
    this.#entries = this.#entries.slice(n);
  }
}

/** The live increments of every usage shard. */
export class ShardedLiveIncrements {
  readonly shards: readonly LiveIncrements[];

  constructor(
    readonly keyPrefix: string,
    maxEntries = 64,
  ) {
    this.shards = Array.from({ length: USAGE_SHARDS }, () => new LiveIncrements(maxEntries));
  }

  /** Entries waiting, over all shards. */
  get size(): number {
    let n = 0;
    for (const s of this.shards) n += s.size;
    return n;
  }

  /** Splits the rows and quota charges of committed batch `seq` by shard (anonymous usage has no live counters). */
  addBatch(seq: number, rows: readonly UsageRow[], quota: QuotaCharges = new Map()): void {
    const live = Array.from({ length: USAGE_SHARDS }, () => new Map<string, Map<string, number>>());
    const charges = Array.from({ length: USAGE_SHARDS }, (): QuotaCharges => new Map());
    const add = (shard: number, key: string, field: string, n: number) => {
      if (n === 0) return;
      const byKey = live[shard] as Map<string, Map<string, number>>;
      let f = byKey.get(key);
      if (f === undefined) byKey.set(key, (f = new Map()));
      f.set(field, (f.get(field) ?? 0) + n);
    };
    for (const r of rows) {
      if (r.consumer === '') continue;
      const shard = liveShard(r.consumer);
      const key = liveKey(this.keyPrefix, r.consumer, r.period);
      add(shard, key, 'requests', r.requests);
      add(shard, key, `units:${r.metric}`, r.units);
      if (r.billable) {
        add(shard, key, 'billable_requests', r.requests);
        add(shard, key, `billable_units:${r.metric}`, r.units);
      }
    }
    for (const [key, t] of quota) (charges[t.shard] as QuotaCharges).set(key, t);
    this.shards.forEach((s, i) => s.add(seq, live[i] as Map<string, Map<string, number>>, charges[i] as QuotaCharges));
  }
}

/**
 * Key of the live usage hash of a consumer in a billing month:
 * `<prefix>{<usage shard tag>}:live:<consumer>:<period>`, in the consumer's usage shard so the
 * apply and seed scripts keep to one Redis Cluster slot. Fields: `requests`,
 * `billable_requests`, `units:<metric>`, `billable_units:<metric>`.
 */
export function liveKey(prefix: string, consumer: string, period: string): string {
  return `${prefix}{${usageShardTag(liveShard(consumer))}}:live:${consumer}:${period}`;
}

/** Key of the subscription limiter's monthly quota counter (in its usage shard, as the limiter places it). */
export function quotaKey(prefix: string, subscription: string, period: string): string {
  const place = reseededCounters(`sub:${subscription}`);
  return counterKey(prefix, place.tag, `${place.keyPrefix}q:${period}`);
}

/** Redis key of window `key` of a limiter `consume` call with `tag` (as RedisCounterStore.windowKey). */
export function counterKey(prefix: string, tag: string, key: string): string {
  return `${prefix}{${tag}}:${key}`;
}

/** Commands the meter defines on its client. */
export interface MeterRedisCommands {
  tollgateApplyUsage(numKeys: number, ...args: Array<string | number>): Promise<number>;
  tollgateSeedUsage(numKeys: number, ...args: Array<string | number>): Promise<number>;
}

/** A Redis client for the meter (one server, Sentinel or Cluster). */
export type MeterRedis = RedisClient & MeterRedisCommands;

/**
 * The meter's own Redis connection: failing fast rather than queueing (no offline queue, a short
 * command timeout), reconnecting in the background, so a flush to a Redis that is down fails at
 * once and is retried at the next tick with the increments kept in memory.
 */
export function createMeterRedis(url: string, options: RedisOptions = {}): MeterRedis {
  const client = createRedisClient(url, {
    redis: {
      commandTimeout: 2_000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
      retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
      ...options,
    },
  });
  client.on('error', () => {});
  defineMeterCommands(client);
  client.connect().catch(() => {});
  return client as MeterRedis;
}

/** Adds the meter's Lua commands to a client (idempotent per client). */
export function defineMeterCommands(client: RedisClient): void {
  const c = client as Partial<MeterRedisCommands> & RedisClient;
  if (typeof c.tollgateApplyUsage === 'function') return;
  client.defineCommand('tollgateApplyUsage', { lua: APPLY_LUA });
  client.defineCommand('tollgateSeedUsage', { lua: SEED_LUA });
}
