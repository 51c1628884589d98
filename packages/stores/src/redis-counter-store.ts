import type { RedisOptions } from 'ioredis';
import { CountersUnseededError, GUARD_HOLD_SUFFIX, validateConsume, type ConsumeResult, type CounterStore, type WindowCheck, type WindowCount } from './counter-store.js';
import { withDeadline } from './deadline.js';
import { createRedisClient, type RedisClient } from './redis-client.js';

/**
 * One atomic step of a fixed window: add, then give the key its TTL if it has none (a new key, or
 * one that somehow lost it), so no counter can live forever. Returns the count and the remaining
 * window. One key per call: safe on Redis Cluster.
 */
const INCREMENT_LUA = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {count, ttl}
`;

/**
 * Check-and-increment of every window of one request, atomically, in one round trip. Reads all
 * counters first; only when each has room for the cost (limit < 0: count only) are they all
 * incremented, so a refused request consumes nothing in any window. Every key written gets its
 * TTL if it has none. KEYS: the windows, then optionally a guard key and its hold key. ARGV: cost,
 * then (limit, ttlMs) per window. Returns {-1} when the guard key is absent or the hold key
 * present (nothing counted); otherwise
 * allowed, then (count, ttl) per window, then the guard's value when there is one.
 */
const CONSUME_LUA = `
local cost = tonumber(ARGV[1])
local n = (#ARGV - 1) / 2
local epoch = nil
if #KEYS > n then
  epoch = redis.call('GET', KEYS[n + 1])
  if not epoch or redis.call('EXISTS', KEYS[n + 2]) == 1 then return {-1} end
end
local counts = {}
local allowed = 1
for i = 1, n do
  local c = tonumber(redis.call('GET', KEYS[i]) or '0')
  counts[i] = c
  local limit = tonumber(ARGV[2 * i])
  if limit >= 0 and c + cost > limit then allowed = 0 end
end
local out = {allowed}
for i = 1, n do
  local window = tonumber(ARGV[2 * i + 1])
  if allowed == 1 then counts[i] = redis.call('INCRBY', KEYS[i], cost) end
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then
    if allowed == 1 then redis.call('PEXPIRE', KEYS[i], window) end
    ttl = window
  end
  out[#out + 1] = counts[i]
  out[#out + 1] = ttl
end
if epoch then out[#out + 1] = epoch end
return out
`;

interface IncrementCommand {
  tollgateIncrement(key: string, by: number, windowMs: number): Promise<[number, number]>;
  tollgateConsume(numKeys: number, ...args: Array<string | number>): Promise<Array<number | string>>;
}

/** Options of the Redis counter store. */
export interface RedisCounterStoreOptions {
  /** `REDIS_URL`: one server, a Sentinel-monitored primary or a Redis Cluster (see `parseRedisUrl`). */
  url: string;
  /** Prefix of every key, e.g. `tollgate:rl:`. */
  keyPrefix: string;
  /**
   * Per-command deadline in ms (default 500): enforcement must not stall requests on a slow Redis.
   * Measured so that a stall of the gateway's own event loop does not trip it (see `withDeadline`).
   */
  commandTimeoutMs?: number;
  /** Wait for the first connection before resolving (default true). */
  waitForConnection?: boolean;
}

/** A Redis counter store: `CounterStore` plus the key it would use, for inspection. */
export interface RedisCounterStore extends CounterStore {
  /** The Redis key a counter name maps to (prefix + `{name}` hash tag). */
  redisKey(key: string): string;
  /** The Redis key of window `key` of a `consume` call with `tag`. */
  windowKey(tag: string, key: string): string;
  /** The underlying client (for metrics or tests); do not close it directly. */
  readonly client: RedisClient;
}

/**
 * Counters in Redis (or Redis Cluster via hash tags), for limits that must hold across nodes.
 * The client fails fast instead of queueing: no offline queue, one retry, a short command
 * timeout, and reconnects in the background, so a Redis outage turns into quick errors the
 * policy can handle (fail open or closed) rather than stalled requests.
 */
export async function createRedisCounterStore(options: RedisCounterStoreOptions): Promise<RedisCounterStore> {
  const timeoutMs = options.commandTimeoutMs ?? 500;
  const redisOptions: RedisOptions = {
    // The deadline that matters is `withDeadline` below. ioredis's own timeout fires from a timer
    // that runs before the reply is read after an event-loop stall, so it is only a backstop that
    // frees commands on a connection that hangs.
    commandTimeout: Math.max(5_000, timeoutMs * 10),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
  };
  const client = createRedisClient(options.url, { redis: redisOptions });
  // Connection errors are retried by ioredis; without a listener they would be logged as unhandled.
  client.on('error', () => {});
  client.defineCommand('tollgateIncrement', { numberOfKeys: 1, lua: INCREMENT_LUA });
  client.defineCommand('tollgateConsume', { lua: CONSUME_LUA });
  const commands = client as RedisClient & IncrementCommand;
  const connected = client.connect();
  if (options.waitForConnection ?? true) {
    try {
      await connected;
    } catch (err) {
      client.disconnect();
      throw err;
    }
  } else {
    connected.catch(() => {});
  }
  // The hash tag keeps every key of one counter in one slot, whatever the prefix.
  const redisKey = (key: string) => `${options.keyPrefix}{${key}}`;
  return {
    client,
    redisKey,
    windowKey: (tag, key) => `${options.keyPrefix}{${tag}}:${key}`,
    async increment(key: string, by: number, windowMs: number): Promise<WindowCount> {
      if (!Number.isSafeInteger(by) || !Number.isSafeInteger(windowMs) || windowMs < 1) {
        throw new RangeError('increment needs an integer amount and a positive integer window');
      }
      const [count, resetMs] = await withDeadline(commands.tollgateIncrement(redisKey(key), by, windowMs), timeoutMs);
      return { count: Number(count), resetMs: Number(resetMs) };
    },
    async consume(tag: string, windows: readonly WindowCheck[], cost: number, guard?: string): Promise<ConsumeResult> {
      validateConsume(windows, cost);
      // All keys of one call share the hash tag: one slot on Redis Cluster, one Lua call. The
      // caller gives a guard in the same slot (its own `{tag}`, see `usageShardOf` of
      // @tollgate/policies); a guard without a hash tag is refused, as it would CROSSSLOT.
      const keys = windows.map((w) => `${options.keyPrefix}{${tag}}:${w.key}`);
      if (guard !== undefined) {
        if (!guard.startsWith(`{${tag}}`)) throw new RangeError(`guard key "${guard}" must start with the call's hash tag {${tag}}`);
        keys.push(`${options.keyPrefix}${guard}`, `${options.keyPrefix}${guard}${GUARD_HOLD_SUFFIX}`);
      }
      const args: Array<string | number> = [cost];
      for (const w of windows) args.push(w.limit, Math.ceil(w.ttlMs));
      const out = await withDeadline(commands.tollgateConsume(keys.length, ...keys, ...args), timeoutMs);
      if (Number(out[0]) === -1) throw new CountersUnseededError(guard ?? '');
      const counts: number[] = [];
      const resetMs: number[] = [];
      for (let i = 0; i < windows.length; i++) {
        counts.push(Number(out[1 + 2 * i]));
        resetMs.push(Number(out[2 + 2 * i]));
      }
      const result: ConsumeResult = { allowed: Number(out[0]) === 1, counts, resetMs };
      return guard === undefined ? result : { ...result, epoch: String(out[1 + 2 * windows.length]) };
    },
    async peek(tag: string, keys: readonly string[]): Promise<number[]> {
      if (keys.length === 0) return [];
      const values = await withDeadline(client.mget(keys.map((k) => `${options.keyPrefix}{${tag}}:${k}`)), timeoutMs);
      return values.map((v) => (v === null ? 0 : Number(v)));
    },
    async get(key: string): Promise<number> {
      const value = await withDeadline(client.get(redisKey(key)), timeoutMs);
      return value === null ? 0 : Number(value);
    },
    async ping(): Promise<boolean> {
      try {
        return (await withDeadline(client.ping(), timeoutMs)) === 'PONG';
      } catch {
        return false;
      }
    },
    async close(): Promise<void> {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}
