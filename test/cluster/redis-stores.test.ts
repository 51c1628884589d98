import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inArray, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { migratePostgres, openPostgres, usageRollups, type Database } from '@tollgate/db';
import { planSpecSchema } from '@tollgate/model';
import { createLimiter, reseededCounters, usageEpochKey, usageShardOf, USAGE_SHARD_TAGS, USAGE_SHARDS, type PolicyContext } from '@tollgate/policies';
import { createRedisCounterStore, isCluster, primaries, type RedisCounterStore } from '@tollgate/stores';
import { createMeterRedis, liveKey, liveShard, Meter, PeriodCache, quotaKey, shardKeys, type MeterRedis } from '@tollgate/metering';
import { ResponseCache } from '@tollgate/gateway';
import { counterStoreContract } from '../../packages/stores/src/counter-store.contract.js';
import { usage } from '../../packages/metering/src/rollups.contract.js';
import { createTestDatabase, randomPrefix, type TestDatabase } from '../support/databases.js';
import { hashSlot } from '../support/hash-slot.js';
import { startRedisCluster, startRedisSentinel, type RedisClusterHandle, type RedisSentinelHandle } from '../support/redis-cluster.js';
import { waitUntil } from '../support/tollgate-process.js';

/**
 * Every Redis use of Tollgate against a real Redis Cluster (3 primaries + 3 replicas) and a real
 * Sentinel setup: the counter store contract, every Lua script (increment, consume with and
 * without a guard in each usage shard, the meter's apply and seed), the response cache storage
 * and its purge pub/sub; then a primary killed under load. Before the cluster work these failed
 * with MOVED (no Cluster client) and CROSSSLOT (a guard outside the tag, the meter's scripts over
 * many consumers' keys, MGET / UNLINK over several slots).
 */

const silent = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent } as never;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const period = new PeriodCache('UTC').keyAt(Date.now());
const quotaPlan = planSpecSchema.parse({ quota: { limit: 1_000_000 } });

let cluster: RedisClusterHandle;
let database: TestDatabase;
let db: Database;
let closeDb: () => Promise<void>;

beforeAll(async () => {
  [cluster, database] = await Promise.all([startRedisCluster(), createTestDatabase()]);
  await migratePostgres(database.url);
  const h = openPostgres(database.url);
  db = h.db as unknown as Database;
  closeDb = h.close;
}, 60_000);

afterAll(async () => {
  await closeDb?.();
  await database?.drop();
  await cluster?.stop();
});

counterStoreContract('Redis Cluster', async () => {
  const store = await createRedisCounterStore({ url: cluster.url, keyPrefix: `${randomPrefix('ct')}:` });
  return { store, ttlOf: (key) => store.client.pttl(store.redisKey(key)), windowTtlOf: (tag, key) => store.client.pttl(store.windowKey(tag, key)), destroy: () => store.close() };
});

/** A meter on its own prefix, with `subs` as the serving config's subscriptions. */
function meterOn(redis: MeterRedis, prefix: string, subs: string[], nodeName = 'n'): Meter {
  const subscriptions = () => new Map(subs.map((s) => [s, { plan: 'q', spec: quotaPlan }]));
  return new Meter({ db, redis, keyPrefix: prefix, logger: silent, subscriptions, quotaHoldMs: 300, nodeName });
}

/** What the subscription limiter charges for a request of `sub` (decided in Redis epoch `epoch`). */
function charge(sub: string, units: number, epoch: string | null = null) {
  const place = reseededCounters(`sub:${sub}`);
  return { tag: place.tag, key: `${place.keyPrefix}q:${period}`, units, expiresAt: Date.now() + 3_600_000, epoch };
}

describe('on a Redis Cluster', () => {
  it('the usage shard tags fall on all three primaries', async () => {
    const client = createMeterRedis(cluster.url);
    try {
      await waitUntil(async () => client.status === 'ready', 10_000);
      expect(isCluster(client)).toBe(true);
      const owners = new Set<number>();
      for (const tag of USAGE_SHARD_TAGS) owners.add(Number((await (client as unknown as { call(...a: string[]): Promise<unknown> }).call('CLUSTER', 'KEYSLOT', `{${tag}}`))));
      const nodes = new Set(await Promise.all([...owners].map((slot) => cluster.primaryOf(slot))));
      expect(nodes.size).toBe(3);
    } finally {
      client.disconnect();
    }
  });

  it('guarded consume in every usage shard, and the limiter over subscriptions of every shard: no CROSSSLOT', async () => {
    const prefix = `${randomPrefix('guard')}:`;
    const store = await createRedisCounterStore({ url: cluster.url, keyPrefix: prefix });
    try {
      for (const tag of USAGE_SHARD_TAGS) {
        const w = [{ key: 'sub:x:q:p', limit: 10, ttlMs: 60_000 }];
        await expect(store.consume(tag, w, 1, usageEpochKey(tag))).rejects.toMatchObject({ code: 'COUNTERS_UNSEEDED' });
        await store.client.set(`${prefix}${usageEpochKey(tag)}`, 'e1');
        expect(await store.consume(tag, w, 1, usageEpochKey(tag))).toMatchObject({ allowed: true, counts: [1], epoch: 'e1' });
        expect(await store.peek(tag, ['sub:x:q:p'])).toEqual([1]);
      }
      // The limiter of a plan with rate limits and a quota, for subscriptions spread over every shard.
      const limiter = createLimiter({ name: 'p', limits: [{ limit: 3, window: '1m' }], quota: { limit: 5, timeZone: 'UTC', overage: 'hard' }, cost: 1, failMode: 'closed', reseeded: true }, { logger: silent, counters: store, quotaGuard: { unseeded() {} } });
      const subs = Array.from({ length: 64 }, (_, i) => `s${i}`);
      expect(new Set(subs.map((s) => usageShardOf(`sub:${s}`))).size).toBe(USAGE_SHARDS);
      for (const s of subs) {
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) statuses.push((await limiter({} as PolicyContext, `sub:${s}`))?.status ?? 200);
        expect(statuses).toEqual([200, 200, 200, 429]);
        expect((await limiter.usage(`sub:${s}`)).quota).toMatchObject({ used: 3 });
      }
      // Consumes of every shard in one loop turn: merged per tag (one script call each, one slot
      // each), decided exactly (3 of 4 per subscription pass the 1-minute limit of 3).
      const more = Array.from({ length: 64 }, (_, i) => `t${i}`);
      const all = await Promise.all(more.flatMap((s) => [0, 1, 2, 3].map(() => limiter({} as PolicyContext, `sub:${s}`))));
      expect(all.filter((r) => r === undefined)).toHaveLength(64 * 3);
      expect(all.filter((r) => r?.status === 429)).toHaveLength(64);
    } finally {
      await store.close();
    }
  });

  it('meter: seeds every shard, applies live usage and quota charges of many consumers, re-seeds exactly after every primary lost its data', async () => {
    const prefix = `${randomPrefix('meter')}:`;
    const consumers = Array.from({ length: 40 }, (_, i) => `c${i}`);
    const subs = consumers.map((c) => `sub-${c}`);
    const redis = createMeterRedis(cluster.url);
    const meter = meterOn(redis, prefix, subs);
    try {
      await waitUntil(async () => redis.status === 'ready', 10_000);
      await meter.flush(true); // first contact: every shard seeded (empty)
      for (const s of USAGE_SHARD_TAGS.keys()) expect(await redis.exists(shardKeys(prefix, s).epoch)).toBe(1);
      consumers.forEach((c, i) => {
        for (let k = 0; k <= i % 3; k++) meter.record(usage({ at: Date.now(), consumer: c, subscription: { name: `sub-${c}`, plan: 'q', planSpec: quotaPlan }, units: 2, quotaCharge: charge(`sub-${c}`, 2) }));
      });
      await meter.flush(true);
      expect(meter.flushFailures()).toEqual({ postgres: 0, redis: 0 });
      const expected = (i: number) => (i % 3) + 1;
      const check = async () => {
        for (const [i, c] of consumers.entries()) {
          expect(await redis.hget(liveKey(prefix, c, period), 'requests'), c).toBe(String(expected(i)));
          expect(await redis.get(quotaKey(prefix, `sub-${c}`, period)), c).toBe(String(2 * expected(i)));
        }
      };
      await check();
      // Every primary loses its data (restarted without persistence): each shard is re-seeded from Postgres.
      for (const node of primaries(redis)) await node.flushdb();
      await meter.flush(true);
      await check();
      expect(new Set(consumers.map(liveShard)).size).toBeGreaterThan(8);
    } finally {
      await meter.close();
      redis.disconnect();
    }
  });

  it('response cache: entries in several slots read in one call, purged on every primary, purges reach every process by pub/sub', async () => {
    const prefix = `${randomPrefix('cache')}:`;
    const admin = new ResponseCache({ redisUrl: cluster.url, keyPrefix: prefix, logger: silent });
    const gateway = new ResponseCache({ redisUrl: cluster.url, keyPrefix: prefix, logger: silent });
    try {
      await Promise.all([admin.whenReady(), gateway.whenReady()]);
      await gateway.listen();
      const redis = gateway.storages.redis;
      if (redis === null) throw new Error('no redis storage');
      const entry = { status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('hi'), storedAt: Date.now(), initialAge: 0, lifetime: 60, vary: {}, shared: true };
      const addresses = Array.from({ length: 30 }, (_, i) => ({ api: `api${i % 3}`, route: 'r', id: `id${i}` }));
      for (const a of addresses) redis.set(a, entry, 60_000);
      // Stores are fire-and-forget: wait until all 30 are readable (100 ms was not always enough
      // with three test files at a time), so the purge below has exactly 10 api0 keys to find.
      await waitUntil(async () => (await redis.get(addresses as never)).every((e) => e !== undefined), 10_000);
      const got = await redis.get([addresses[0], addresses[1]] as never);
      expect(got.every((e) => e !== undefined)).toBe(true);
      // An entry in the memory LRU of the gateway process, dropped by the purge broadcast.
      gateway.memory.set({ api: 'api0', route: 'r', id: 'm' } as never, entry, 60_000);
      const out = await admin.purge({ api: 'api0' });
      expect(out).toMatchObject({ redisKeysDeleted: 10, broadcast: 'redis' });
      await waitUntil(async () => (await gateway.memory.get([{ api: 'api0', route: 'r', id: 'm' }] as never))[0] === undefined, 5_000);
      expect((await admin.purge({ all: true })).redisKeysDeleted).toBe(20);
    } finally {
      await admin.close();
      await gateway.close();
    }
  });

  it('a consume batcher group per slot: a paused primary holds the limits of its own subjects only', async () => {
    const store = await createRedisCounterStore({ url: cluster.url, keyPrefix: `${randomPrefix('grp')}:`, commandTimeoutMs: 3_000 });
    try {
      const nodeOf = async (tag: string) => cluster.primaryOf(hashSlot(store.redisKey(tag)));
      const tags = Array.from({ length: 20 }, (_, i) => `grp${i}`);
      const a = tags[0] as string;
      const paused = await nodeOf(a);
      let b: string | undefined;
      for (const t of tags) if ((await nodeOf(t)) !== paused) b ??= t;
      if (b === undefined) throw new Error('no tag on another primary');
      const w = [{ key: 'w', limit: 10, ttlMs: 60_000 }];
      // Connections made and the script loaded on both nodes first.
      await Promise.all([store.consume(a, w, 1), store.consume(b, w, 1)]);
      const node = new Redis({ host: '127.0.0.1', port: paused });
      await node.call('CLIENT', 'PAUSE', '800', 'ALL');
      node.disconnect();
      const slow = store.consume(a, w, 1);
      await new Promise((r) => setImmediate(r));
      const started = Date.now();
      // Before: the call to the paused node held every other consume of the process (here 800 ms).
      expect((await store.consume(b, w, 1)).counts).toEqual([2]);
      expect(Date.now() - started).toBeLessThan(400);
      expect((await slow).counts).toEqual([2]);
    } finally {
      await store.close();
    }
  });

  it('a primary killed mid-traffic: calls fail only during the failover, then limits and the meter work again with nothing lost', async () => {
    const prefix = `${randomPrefix('fo')}:`;
    const store = await createRedisCounterStore({ url: cluster.url, keyPrefix: prefix, commandTimeoutMs: 500 });
    const redis = createMeterRedis(cluster.url);
    const subs = Array.from({ length: 16 }, (_, i) => `fo${i}`);
    const meter = meterOn(redis, prefix, subs, 'fo');
    const limiter = createLimiter({ name: 'p', limits: [{ limit: 1_000_000, window: '1h' }], quota: { limit: 1_000_000, timeZone: 'UTC', overage: 'hard' }, cost: 1, failMode: 'closed', reseeded: true }, { logger: silent, counters: store, quotaGuard: meter.quotaGuard() ?? undefined });
    try {
      await waitUntil(async () => redis.status === 'ready', 10_000);
      await meter.flush(true);
      // Wait out the hold of the first seed.
      await waitUntil(async () => (await limiter({} as PolicyContext, `sub:${subs[0]}`)) === undefined, 5_000, 50);
      const victim = await cluster.primaryOf(Number(await (store.client as unknown as { call(...a: string[]): Promise<unknown> }).call('CLUSTER', 'KEYSLOT', `{${reseededCounters(`sub:${subs[0]}`).tag}}`)));
      let ok = 0;
      let unavailable = 0;
      let stop = false;
      const outcomes: Array<{ at: number; ok: boolean }> = [];
      const served = new Map<string, number>();
      const load = (async () => {
        for (let i = 0; !stop; i++) {
          const sub = subs[i % subs.length] as string;
          const ctx = {} as PolicyContext;
          const r = await limiter(ctx, `sub:${sub}`);
          // Fail closed: 503 while Redis cannot decide, never an exception.
          expect([undefined, 503]).toContain(r?.status);
          outcomes.push({ at: Date.now(), ok: r === undefined });
          if (r === undefined) {
            ok += 1;
            served.set(sub, (served.get(sub) ?? 0) + 1);
            meter.record(usage({ at: Date.now(), consumer: sub, subscription: { name: sub, plan: 'q', planSpec: quotaPlan }, quotaCharge: ctx.quotaCharge ?? null }));
          } else unavailable += 1;
          if (i % 50 === 0) void meter.flush();
          await sleep(2);
        }
      })();
      await sleep(500);
      const killedAt = Date.now();
      await cluster.kill(victim);
      const failoverMs = await cluster.waitForFailover(victim);
      // Limits decided by Redis again for every shard, soon after the cluster is ok.
      await waitUntil(async () => {
        const t = Date.now() - 300;
        const recent = outcomes.filter((o) => o.at >= t);
        return recent.length > 20 && recent.every((o) => o.ok);
      }, 15_000, 100);
      const recoveredMs = Date.now() - killedAt;
      await sleep(300);
      stop = true;
      await load;
      await meter.flush(true);
      await meter.flush(true);
      expect(meter.flushFailures().postgres).toBe(0);
      expect(meter.backlogRequests()).toBe(0);
      expect(ok).toBeGreaterThan(100);
      // The usage rollups in Postgres hold exactly what was served.
      const rows = await db.select({ consumer: usageRollups.consumer, requests: sql<string>`sum(${usageRollups.requests})` }).from(usageRollups).where(inArray(usageRollups.consumer, subs)).groupBy(usageRollups.consumer);
      expect(Object.fromEntries(rows.map((r) => [r.consumer, Number(r.requests)]))).toEqual(Object.fromEntries(served));
      // The quota counters: what was served, give or take the calls in flight at the kill. A write
      // the killed primary had not replicated is lost (asynchronous replication), and a call that
      // timed out was refused (fail closed) but may still have counted; see docs/redis.md.
      let missing = 0;
      let extra = 0;
      for (const sub of subs) {
        const n = served.get(sub) ?? 0;
        const q = Number(await redis.get(quotaKey(prefix, sub, period)));
        missing += Math.max(0, n - q);
        extra += Math.max(0, q - n);
      }
      expect(missing).toBeLessThan(Math.max(10, ok / 20));
      // (+2: a call whose reply was lost with the primary is retried by the client and may count twice.)
      expect(extra).toBeLessThanOrEqual(unavailable + 2);
      console.log(`cluster failover: killed ${victim}; cluster ok after ${failoverMs} ms; limits decided again after ${recoveredMs} ms; ${ok} served, ${unavailable} refused 503 meanwhile; quota counters short by ${missing} (unreplicated), over by ${extra} (refused after a timeout but counted)`);
    } finally {
      await meter.close();
      redis.disconnect();
      await store.close();
    }
  }, 60_000);
});

describe('on Redis Sentinel (primary + replica + 1 sentinel)', () => {
  let sentinel: RedisSentinelHandle;
  let store: RedisCounterStore;
  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    store = await createRedisCounterStore({ url: sentinel.url, keyPrefix: `${randomPrefix('sn')}:` });
  }, 30_000);
  afterAll(async () => {
    await store?.close();
    await sentinel?.stop();
  });

  it('counts, meters and purges through the primary the sentinels name; again on the promoted replica after the primary is killed', async () => {
    const prefix = `${randomPrefix('snm')}:`;
    const redis = createMeterRedis(sentinel.url);
    const meter = meterOn(redis, prefix, ['sn-sub']);
    const admin = new ResponseCache({ redisUrl: sentinel.url, keyPrefix: `${prefix}cache:`, logger: silent });
    const gateway = new ResponseCache({ redisUrl: sentinel.url, keyPrefix: `${prefix}cache:`, logger: silent });
    const entry = { status: 200, headers: {}, body: Buffer.from('x'), storedAt: Date.now(), initialAge: 0, lifetime: 60, vary: {}, shared: true };
    const record = (n: number) => {
      for (let i = 0; i < n; i++) meter.record(usage({ at: Date.now(), consumer: 'sn', subscription: { name: 'sn-sub', plan: 'q', planSpec: quotaPlan }, quotaCharge: charge('sn-sub', 1) }));
    };
    try {
      await Promise.all([admin.whenReady(), gateway.whenReady(), waitUntil(async () => redis.status === 'ready', 10_000)]);
      await gateway.listen();
      const w = [{ key: 'm', limit: 1_000, ttlMs: 600_000 }];
      expect((await store.consume('sentinel', w, 1)).counts).toEqual([1]);
      await meter.flush(true);
      record(3);
      await meter.flush(true);
      expect(await redis.hget(liveKey(prefix, 'sn', period), 'requests')).toBe('3');
      // Replicated before the primary goes: WAIT returns once the replica acknowledged every write up to
      // this client's last one, and the replication stream is one sequence, so the consume above too
      // (a fixed sleep was not always enough on a loaded CI machine).
      expect(Number(await redis.call('WAIT', '1', '10000'))).toBeGreaterThanOrEqual(1);
      const before = await sentinel.primary();
      const after = await sentinel.failover();
      expect(after).not.toBe(before);
      let r: Awaited<ReturnType<RedisCounterStore['consume']>> | null = null;
      await waitUntil(async () => {
        r = await store.consume('sentinel', w, 1);
        return true;
      }, 20_000, 100);
      // The replica had the count: counting goes on from it.
      expect((r as unknown as { counts: number[] }).counts[0]).toBeGreaterThanOrEqual(2);
      // The meter reaches the new primary too, with its live counters intact.
      record(2);
      await waitUntil(async () => {
        await meter.flush(true);
        return (await redis.hget(liveKey(prefix, 'sn', period), 'requests')) === '5';
      }, 20_000, 200);
      // Purges still reach the subscriber (it follows the sentinels as well).
      gateway.memory.set({ api: 'a', route: 'r', id: 'i' }, entry, 60_000);
      await waitUntil(async () => {
        await admin.purge({ api: 'a' });
        return (await gateway.memory.get([{ api: 'a', route: 'r', id: 'i' }]))[0] === undefined;
      }, 20_000, 200);
    } finally {
      await meter.close();
      redis.disconnect();
      await admin.close();
      await gateway.close();
    }
  }, 60_000);
});
