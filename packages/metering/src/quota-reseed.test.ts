import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratePostgres, openPostgres, type Database } from '@tollgate/db';
import { planSpecSchema } from '@tollgate/model';
import { createLimiter, type PolicyContext, type PolicyReply } from '@tollgate/policies';
import { createTestDatabase, type TestDatabase } from '../../../test/support/databases.js';
import { ChildRedis } from '../../../test/limits/redis-server.js';
import { createMemoryCounterStore, type MemoryCounterStore } from '../../stores/src/memory-counter-store.js';
import { createRedisCounterStore, type RedisCounterStore } from '../../stores/src/redis-counter-store.js';
import { Meter } from './flusher.js';
import { createMeterRedis, quotaKey, type MeterRedis } from './live-counters.js';
import { PeriodCache } from './accumulator.js';
import { usage } from './rollups.contract.js';

/**
 * Issue #15 item 2: a hard quota near its end, Redis restarted empty. Two "nodes" in process, each
 * with the real limiter, Redis counter store, in-process fallback and meter, on one Postgres and
 * one child redis-server. The consumer must get exactly what is left (fail closed), and the
 * counter must equal the rolled-up usage whatever the fail mode.
 */

const silent = { info: () => {}, warn: () => {}, error: () => {} };
const LIMIT = 40;
const HOLD_MS = 1_500;

interface Node {
  meter: Meter;
  store: RedisCounterStore;
  fallback: MemoryCounterStore;
  meterRedis: MeterRedis;
  serve(): Promise<number>;
}

describe('plan quota after Redis restarts empty', () => {
  let database: TestDatabase;
  let db: Database;
  let closeDb: () => Promise<void>;
  let redis: ChildRedis;
  const nodes: Node[] = [];
  let n = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    await migratePostgres(database.url);
    const h = openPostgres(database.url);
    db = h.db as unknown as Database;
    closeDb = h.close;
    redis = await ChildRedis.create();
  });
  afterAll(async () => {
    for (const node of nodes) {
      await node.meter.close();
      node.meterRedis.disconnect();
      await node.store.close();
      await node.fallback.close();
    }
    await redis?.stop();
    await closeDb?.();
    await database?.drop();
  });

  async function node(failMode: 'open' | 'closed', sub: string): Promise<Node> {
    const spec = planSpecSchema.parse({ quota: { limit: LIMIT }, failMode });
    const prefix = 'tollgate:';
    const meterRedis = createMeterRedis(redis.url);
    const meter = new Meter({ db, redis: meterRedis, keyPrefix: prefix, logger: silent, quotaHoldMs: HOLD_MS, nodeName: `n${n++}`, subscriptions: () => new Map([[sub, { plan: 'p', spec }]]) });
    const store = await createRedisCounterStore({ url: redis.url, keyPrefix: prefix });
    const fallback = createMemoryCounterStore();
    const guard = meter.quotaGuard() ?? undefined;
    const limiter = createLimiter({ name: 'p', limits: [], quota: { limit: LIMIT, timeZone: 'UTC', overage: 'hard' }, cost: 1, failMode, reseeded: true }, { logger: silent, counters: store, fallbackCounters: fallback, quotaGuard: guard });
    const subscription = { name: sub, plan: 'p', planSpec: spec };
    const result: Node = {
      meter,
      store,
      fallback,
      meterRedis,
      async serve() {
        const ctx = {} as PolicyContext;
        const reply: PolicyReply | undefined = await limiter(ctx, `sub:${sub}`, 1);
        if (reply !== undefined) return reply.status;
        meter.record(usage({ at: Date.now(), consumer: sub, subscription, quotaCharge: ctx.quotaCharge ?? null }));
        return 200;
      },
    };
    nodes.push(result);
    return result;
  }

  const serveMany = async (node: Node, count: number) => {
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(await node.serve());
    return out;
  };
  const ok = (statuses: number[]) => statuses.filter((s) => s === 200).length;
  const period = new PeriodCache('UTC').keyAt(Date.now());

  for (const failMode of ['closed', 'open'] as const) {
    it(`fail ${failMode}: usage counted before the restart (flushed and not) stays counted; the counter equals the rolled-up units`, async () => {
      const sub = `s-${failMode}`;
      const a = await node(failMode, sub);
      const b = await node(failMode, sub);
      await a.meter.flush(true); // first contact seeds the empty Redis
      await new Promise((r) => setTimeout(r, HOLD_MS + 50));
      expect(ok(await serveMany(a, 20))).toBe(20);
      expect(ok(await serveMany(b, 10))).toBe(10);
      await a.meter.flush(true);
      await b.meter.flush(true);
      // Served, not yet flushed when Redis loses everything.
      expect(ok(await serveMany(b, 5))).toBe(5);
      await redis.stop();
      await redis.start();
      for (const x of [a, b]) for (let i = 0; i < 50 && (x.store.client.status !== 'ready' || x.meterRedis.status !== 'ready'); i++) await new Promise((r) => setTimeout(r, 50));

      // Unseeded, then on hold: no quota decision in Redis; fail closed answers 503, fail open decides per node.
      const during = [...(await serveMany(a, 25)), ...(await serveMany(b, 10))];
      if (failMode === 'closed') {
        expect(during.every((s) => s === 503)).toBe(true);
      } else {
        // Per node, what is left after the last count Redis reported to it: A saw 20, B saw 35.
        expect(ok(during.slice(0, 25))).toBe(LIMIT - 20);
        expect(ok(during.slice(25))).toBe(LIMIT - 35);
      }
      // Seed, hold, and the nodes' flushes of what they counted before the seed.
      await a.meter.flush(true);
      await b.meter.flush(true);
      await a.meter.flush(true);
      await new Promise((r) => setTimeout(r, HOLD_MS + 50));
      const after = [...(await serveMany(a, 10)), ...(await serveMany(b, 10))];
      const served = 35 + ok(during) + ok(after);
      if (failMode === 'closed') {
        expect(ok(after)).toBe(LIMIT - 35);
        expect(served).toBe(LIMIT);
      } else {
        expect(ok(after)).toBe(0);
      }
      expect(after.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
      await a.meter.flush(true);
      await b.meter.flush(true);
      const counter = Number(await a.meterRedis.get(quotaKey('tollgate:', sub, period)));
      expect(counter).toBe(served);
    });
  }
});
