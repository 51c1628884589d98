import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from 'ioredis';
import { migratePostgres, openPostgres, type Database } from '@tollgate/db';
import { planSpecSchema } from '@tollgate/model';
import { createLimiter, type PolicyContext } from '@tollgate/policies';
import { createRedisCounterStore, type RedisClient, type RedisCounterStore } from '@tollgate/stores';
import { createTestDatabase, randomPrefix, testRedisUrl, type TestDatabase } from '../../../test/support/databases.js';
import { hashSlot } from '../../../test/support/hash-slot.js';
import { Meter } from './flusher.js';
import { createMeterRedis, shardKeys, type MeterRedis } from './live-counters.js';
import { USAGE_SHARDS } from '@tollgate/policies';
import { usage } from './rollups.contract.js';

/**
 * Unit-level check, on one Redis (no cluster needed), that every command Tollgate sends for
 * limits, quotas and metering keeps its keys in ONE hash slot, as Redis Cluster requires (else
 * CROSSSLOT). Every command of the counter store's and the meter's clients is recorded (pipelines
 * and Lua calls go through `sendCommand` too) with the keys ioredis itself extracts for slot
 * routing. test/cluster/redis-stores.test.ts runs the same code on a real cluster.
 */

interface Seen {
  name: string;
  keys: string[];
}

function spy(client: RedisClient, seen: Seen[]): void {
  const original = client.sendCommand.bind(client) as (c: Command, ...rest: unknown[]) => unknown;
  (client as unknown as { sendCommand: (c: Command, ...rest: unknown[]) => unknown }).sendCommand = (c: Command, ...rest: unknown[]) => {
    seen.push({ name: c.name, keys: c.getKeys().map((k) => (Buffer.isBuffer(k) ? k.toString() : String(k))) });
    return original(c, ...rest);
  };
}

const silent = { info() {}, warn() {}, error() {}, debug() {} } as never;
const plan = planSpecSchema.parse({ limits: [{ limit: 100, window: '1m' }], quota: { limit: 1000 } });

describe('every multi-key command keeps to one hash slot', () => {
  const seen: Seen[] = [];
  const prefix = `${randomPrefix('slots')}:`;
  let store: RedisCounterStore;
  let redis: MeterRedis;
  let db: Database;
  let closeDb: () => Promise<void>;
  let database: TestDatabase;

  beforeAll(async () => {
    store = await createRedisCounterStore({ url: testRedisUrl(), keyPrefix: prefix });
    redis = createMeterRedis(testRedisUrl());
    spy(store.client, seen);
    spy(redis, seen);
    database = await createTestDatabase();
    await migratePostgres(database.url);
    const h = openPostgres(database.url);
    db = h.db as unknown as Database;
    closeDb = h.close;
  });
  afterAll(async () => {
    await store?.close();
    redis?.disconnect();
    await closeDb?.();
    await database?.drop();
  });

  it('limits (plain and re-seeded), quota guard, meter seed and apply, re-seed after lost markers', async () => {
    const subs = Array.from({ length: 48 }, (_, i) => `s${i}`);
    const meter = new Meter({ db, redis, keyPrefix: prefix, logger: silent, quotaHoldMs: 0, subscriptions: () => new Map(subs.map((s) => [s, { plan: 'p', spec: plan }])) });
    const guard = meter.quotaGuard() ?? undefined;
    const reseeded = createLimiter({ name: 'p', limits: [{ limit: 100, window: '1m' }, { limit: 1000, window: '1h' }], quota: { limit: 1000, timeZone: 'UTC', overage: 'hard' }, cost: 1, failMode: 'closed', reseeded: true }, { logger: silent, counters: store, quotaGuard: guard });
    const plain = createLimiter({ name: 'r', limits: [{ limit: 100, window: '1s' }, { limit: 1000, window: '1m' }], cost: 1, failMode: 'open' }, { logger: silent, counters: store });
    try {
      await meter.flush(true);
      for (const s of subs) {
        const ctx = {} as PolicyContext;
        expect(await reseeded(ctx, `sub:${s}`)).toBeUndefined();
        expect(await plain({} as PolicyContext, `ip:${s}`)).toBeUndefined();
        meter.record(usage({ at: Date.now(), consumer: `c-${s}`, subscription: { name: s, plan: 'p', planSpec: plan }, quotaCharge: ctx.quotaCharge ?? null }));
        await reseeded.usage(`sub:${s}`);
        await plain.usage(`ip:${s}`);
      }
      await store.increment('k', 1, 1000);
      await store.get('k');
      await meter.flush(true);
      // Markers lost: every shard re-seeded, then applied.
      for (let n = 0; n < USAGE_SHARDS; n++) await redis.del(shardKeys(prefix, n).epoch);
      meter.record(usage({ at: Date.now(), consumer: 'late' }));
      await meter.flush(true);
      expect(meter.flushFailures()).toEqual({ postgres: 0, redis: 0 });
    } finally {
      await meter.close();
    }
    const multi = seen.filter((s) => s.keys.length > 1);
    const names = new Set(multi.map((s) => s.name));
    // The scripts and reads that take several keys were all exercised.
    expect(multi.length).toBeGreaterThan(100);
    for (const n of ['evalsha', 'mget']) expect([...names].some((x) => x === n || (n === 'evalsha' && x === 'eval')), n).toBe(true);
    const crossSlot = multi.filter((s) => new Set(s.keys.map(hashSlot)).size > 1);
    expect(crossSlot.map((s) => `${s.name} ${s.keys.join(' ')}`)).toEqual([]);
    // Clean up this test's keys.
    for (let n = 0; n < USAGE_SHARDS; n++) await redis.del(shardKeys(prefix, n).epoch, shardKeys(prefix, n).seeded);
  });
});
