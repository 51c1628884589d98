import { createHash } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { Command, type RedisOptions } from 'ioredis';
import { CountersUnseededError, GUARD_HOLD_SUFFIX, validateConsume, type ConsumeResult, type CounterStore, type WindowCheck, type WindowCount } from './counter-store.js';
import { ConsumeBatcher, type ConsumeBatch } from './consume-batcher.js';
import { withDeadline } from './deadline.js';
import { createRedisClient, isCluster, type RedisClient } from './redis-client.js';
import { checkRedisKeyPrefix } from './redis-key-prefix.js';

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
 * Check-and-increment of every window for a batch of requests (one or more consumes of the same
 * windows, see `consume-batcher.ts`), atomically, in one round trip. Reads all counters once, then
 * decides each request's cost in order: only when every window has room for it (limit < 0: count
 * only) is it added to all of them, so a refused request consumes nothing in any window, and each
 * request sees exactly the counts it would have seen had the requests run one by one. The sum
 * granted is written with one INCRBY per window; every key written gets its TTL if it has none.
 * KEYS: the windows, then optionally a guard key and its hold key. ARGV: the number of windows n,
 * (limit, ttlMs) per window, then the cost of each request. Returns {-1} when the guard key is
 * absent or the hold key present (nothing counted); otherwise per request allowed and its n
 * counts, then the n remaining TTLs, then the guard's value when there is one.
 */
const CONSUME_LUA = `
local n = tonumber(ARGV[1])
local epoch = nil
if #KEYS > n then
  epoch = redis.call('GET', KEYS[n + 1])
  if not epoch or redis.call('EXISTS', KEYS[n + 2]) == 1 then return {-1} end
end
local counts = {}
local limits = {}
for i = 1, n do
  counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  limits[i] = tonumber(ARGV[2 * i])
end
local out = {}
local granted = 0
local any = false
for j = 2 * n + 2, #ARGV do
  local cost = tonumber(ARGV[j])
  local allowed = 1
  for i = 1, n do
    if limits[i] >= 0 and counts[i] + cost > limits[i] then allowed = 0 end
  end
  if allowed == 1 then
    any = true
    granted = granted + cost
    for i = 1, n do counts[i] = counts[i] + cost end
  end
  out[#out + 1] = allowed
  for i = 1, n do out[#out + 1] = counts[i] end
end
for i = 1, n do
  local window = tonumber(ARGV[2 * i + 1])
  if any then redis.call('INCRBY', KEYS[i], granted) end
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then
    if any then redis.call('PEXPIRE', KEYS[i], window) end
    ttl = window
  end
  out[#out + 1] = ttl
end
if epoch then out[#out + 1] = epoch end
return out
`;

/** SHA-1 of {@link CONSUME_LUA}: the name EVALSHA runs it by once a connection has loaded it. */
const CONSUME_SHA = createHash('sha1').update(CONSUME_LUA).digest('hex');

/** Replies as strings (the guard's epoch), integers as numbers: what ioredis's script commands give. */
const CONSUME_OPTIONS = { replyEncoding: 'utf8' } as const;

/** Redis's answer to EVALSHA of a script its cache does not hold (a new server, a restart, SCRIPT FLUSH). */
const isNoScript = (err: unknown): boolean => err instanceof Error && err.message.includes('NOSCRIPT');

interface IncrementCommand {
  tollgateIncrement(key: string, by: number, windowMs: number): Promise<[number, number]>;
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
  // Before connecting: a brace in the prefix would displace every key's hash tag.
  checkRedisKeyPrefix(options.keyPrefix, 'keyPrefix');
  const timeoutMs = options.commandTimeoutMs ?? 500;
  const redisOptions: RedisOptions = {
    // The deadline that matters is `withDeadline` below. ioredis's own timeout fires from a timer
    // that runs before the reply is read after an event-loop stall, so it is only a backstop that
    // frees commands on a connection that hangs.
    commandTimeout: Math.max(5_000, timeoutMs * 10),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
    // Consumes are already merged and sent one flush at a time by the batcher below: written
    // directly, each is one command instead of a pipeline of one (issue #16, the Pipeline and its
    // callbacks were most of the client's cost per request).
    // (The consume script is not a defined command: see `sendConsume`.)
    autoPipeliningIgnoredCommands: ['evalsha', 'eval'],
    lazyConnect: true,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
  };
  const client = createRedisClient(options.url, { redis: redisOptions });
  // Connection errors are retried by ioredis; without a listener they would be logged as unhandled.
  client.on('error', () => {});
  client.defineCommand('tollgateIncrement', { numberOfKeys: 1, lua: INCREMENT_LUA });
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
  /**
   * Whether the consume script is (believed) in the server's script cache: then EVALSHA sends its
   * SHA-1, else EVAL its text (which loads it). Cleared by a NOSCRIPT answer (another Cluster node,
   * a restarted or flushed server).
   */
  let scriptLoaded = false;
  /**
   * One call of the consume script, `args` being `<script>, numkeys, keys..., argv...` (slot 0 is
   * set here: the SHA-1 or the text), as a Command sent
   * directly (issue #16: ioredis's defined-command path, with its argument handling, the Script's
   * per-socket bookkeeping and two more promise layers, was a visible part of every call).
   */
  const callConsume = (args: string[]): Promise<Array<number | string>> => {
    const loaded = scriptLoaded;
    args[0] = loaded ? CONSUME_SHA : CONSUME_LUA;
    // The Command copies `args` (so a resend may reuse them).
    const cmd = new Command(loaded ? 'evalsha' : 'eval', args, CONSUME_OPTIONS);
    client.sendCommand(cmd);
    return loaded ? (cmd.promise as Promise<Array<number | string>>) : (cmd.promise as Promise<Array<number | string>>).then(consumeLoaded);
  };
  const consumeLoaded = (out: Array<number | string>): Array<number | string> => {
    scriptLoaded = true;
    return out;
  };
  /** One Lua call for the consumes of one tag and window set that arrived in the same loop turn. */
  const runBatch = async (b: ConsumeBatch): Promise<ConsumeResult[]> => {
    // All keys of one batch share the hash tag: one slot on Redis Cluster, one Lua call.
    const n = b.windows.length;
    const guarded = b.guard !== undefined;
    const args: string[] = ['', String(guarded ? n + 2 : n)];
    for (const w of b.windows) args.push(`${options.keyPrefix}{${b.tag}}:${w.key}`);
    if (guarded) args.push(`${options.keyPrefix}${b.guard}`, `${options.keyPrefix}${b.guard}${GUARD_HOLD_SUFFIX}`);
    args.push(String(n));
    for (const w of b.windows) args.push(String(w.limit), String(Math.ceil(w.ttlMs)));
    for (const c of b.costs) args.push(String(c));
    let out: Array<number | string>;
    try {
      out = await withDeadline(callConsume(args), timeoutMs);
    } catch (err) {
      // NOSCRIPT: the script did not run, nothing was counted; sent again as EVAL (which loads
      // it). The answer came at once, so the second call's deadline is still about one deadline.
      if (!isNoScript(err)) throw err;
      scriptLoaded = false;
      out = await withDeadline(callConsume(args), timeoutMs);
    }
    if (Number(out[0]) === -1) throw new CountersUnseededError(b.guard ?? '');
    const k = b.costs.length;
    const ttlAt = k * (n + 1);
    const resetMs: number[] = [];
    for (let i = 0; i < n; i++) resetMs.push(Number(out[ttlAt + i]));
    const epoch = b.guard === undefined ? undefined : String(out[ttlAt + n]);
    const results: ConsumeResult[] = [];
    for (let j = 0; j < k; j++) {
      const at = j * (n + 1);
      const counts: number[] = [];
      for (let i = 1; i <= n; i++) counts.push(Number(out[at + i]));
      const r: ConsumeResult = { allowed: Number(out[at]) === 1, counts, resetMs };
      results.push(epoch === undefined ? r : { ...r, epoch });
    }
    return results;
  };
  // The batches of one flush (several tags) leave in one write on a single-server connection.
  const around = (startAll: () => void): void => {
    // A Cluster spreads the tags over nodes: nothing to cork there. `stream` is unset before the first connect.
    const stream = isCluster(client) ? undefined : (client.stream as typeof client.stream | undefined);
    if (stream === undefined) return startAll();
    stream.cork();
    try {
      startAll();
    } finally {
      stream.uncork();
    }
  };
  // Group commit per hash slot on a Cluster (a slot lives on one node: a slow or hung node holds
  // only the subjects it serves), of the whole connection on one server. The slot is that of the
  // keys the batch sends: all start with `redisKey(tag)`, whose first hash tag decides it.
  const groupOf = isCluster(client) ? (tag: string) => calculateSlot(redisKey(tag)) : undefined;
  // A consume held behind its group's call counts that wait against the deadline too.
  const batcher = new ConsumeBatcher(runBatch, { around, deadlineMs: timeoutMs, ...(groupOf !== undefined ? { groupOf } : {}) });
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
    consume(tag: string, windows: readonly WindowCheck[], cost: number, guard?: string): Promise<ConsumeResult> {
      try {
        validateConsume(windows, cost);
        // The caller gives a guard in the same slot (its own `{tag}`, see `usageShardOf` of
        // @tollgate/policies); a guard without the call's hash tag is refused, as it would CROSSSLOT.
        if (guard !== undefined && !guard.startsWith(`{${tag}}`)) throw new RangeError(`guard key "${guard}" must start with the call's hash tag {${tag}}`);
      } catch (err) {
        return Promise.reject(err);
      }
      return batcher.consume(tag, windows, cost, guard);
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
