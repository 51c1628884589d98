import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { migratePglite, migratePostgres, openPglite, openPostgres, usageRollups, type Database } from '@tollgate/db';
import { planSpecSchema } from '@tollgate/model';
import { createTestDatabase, randomPrefix, type TestDatabase } from '../../../test/support/databases.js';
import { freePort } from '../../../test/support/ports.js';
import { ChildRedis } from '../../../test/limits/redis-server.js';
import { Meter } from './flusher.js';
import { reseededCounters, usageShardOf } from '@tollgate/policies';
import { createMeterRedis, liveKey, liveShard, quotaKey, shardKeys, type MeterRedis } from './live-counters.js';
import { PeriodCache } from './accumulator.js';
import { rollupContract, totals, usage } from './rollups.contract.js';

rollupContract('Postgres', async () => {
  const database = await createTestDatabase();
  await migratePostgres(database.url);
  const handle = openPostgres(database.url);
  return {
    db: handle.db as unknown as Database,
    async destroy() {
      await handle.close();
      await database.drop();
    },
  };
});

rollupContract('PGlite', async () => {
  const handle = await openPglite();
  await migratePglite(handle.db);
  return { db: handle.db as unknown as Database, destroy: () => handle.close() };
});

/** Log lines, to check that an outage is logged once, not once per attempt. */
function captureLogger() {
  const lines: Array<{ level: string; msg: string }> = [];
  const at = (level: string) => (_o: object, msg?: string) => void lines.push({ level, msg: msg ?? '' });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

/** A TCP forwarder to Postgres that can be opened and closed on a fixed port. */
class Forwarder {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  constructor(readonly port: number) {}
  async open(): Promise<void> {
    this.#server = createServer((client) => {
      const upstream = createConnection(5432, '127.0.0.1');
      this.#sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const end = () => (client.destroy(), upstream.destroy());
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => this.#server?.listen(this.port, '127.0.0.1', r));
  }
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
    this.#server = null;
  }
}

describe('meter key prefix', () => {
  it('refuses a prefix with a brace: it would replace the usage shards\' hash tags on Redis Cluster', () => {
    expect(() => new Meter({ db: {} as Database, keyPrefix: 'x{}:', logger: captureLogger().logger })).toThrow(/keyPrefix: must not contain/);
  });
});

describe('meter while Postgres is unreachable', () => {
  let database: TestDatabase;
  let forwarder: Forwarder;
  beforeAll(async () => {
    database = await createTestDatabase();
    await migratePostgres(database.url);
    forwarder = new Forwarder(await freePort());
  });
  afterAll(async () => {
    await forwarder?.close();
    await database?.drop();
  });

  it('keeps counting, retries the same batch (same seq), cuts no new batch meanwhile, logs the outage once, then commits everything once', async () => {
    const url = new URL(database.url);
    url.port = String(forwarder.port);
    const handle = openPostgres(url.toString());
    const { lines, logger } = captureLogger();
    const meter = new Meter({ db: handle.db as unknown as Database, logger, intervalMs: 20, maxBackoffMs: 50 });
    try {
      for (let i = 0; i < 10; i++) meter.record(usage());
      await meter.flush(true);
      expect(meter.pendingBatch).toEqual({ seq: 1, requests: 10 });
      for (let i = 0; i < 5; i++) meter.record(usage({ route: 'other' }));
      await meter.flush(true);
      await meter.flush(true);
      // Still the first batch; the 5 newer requests wait in the accumulator.
      expect(meter.pendingBatch).toEqual({ seq: 1, requests: 10 });
      expect(meter.backlogRequests()).toBe(15);
      expect(meter.flushLagSeconds()).toBeGreaterThanOrEqual(0);
      expect(meter.flushFailures().postgres).toBe(3);
      expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);

      await forwarder.open();
      await meter.flush(true);
      expect(meter.pendingBatch).toBeNull();
      await meter.flush(true);
      expect(meter.backlogRequests()).toBe(0);
      expect(lines.filter((l) => l.msg.includes('succeeded again'))).toHaveLength(1);
      const direct = openPostgres(database.url);
      try {
        const t = await totals(direct.db as unknown as Database);
        expect(t).toMatchObject({ requests: 15, batches: 2 });
      } finally {
        await direct.close();
      }
    } finally {
      await meter.close();
      await handle.close();
    }
  });

  it('close() flushes what is counted before it returns (the SIGTERM path)', async () => {
    const handle = openPostgres(database.url);
    const meter = new Meter({ db: handle.db as unknown as Database, logger: captureLogger().logger, intervalMs: 60_000 });
    try {
      meter.start();
      for (let i = 0; i < 4; i++) meter.record(usage({ api: 'closing' }));
      await meter.close();
      const [r] = await handle.db.select({ n: sql<string>`sum(${usageRollups.requests})` }).from(usageRollups).where(sql`${usageRollups.api} = 'closing'`);
      expect(Number(r?.n)).toBe(4);
      // Nothing is recorded after close.
      meter.record(usage({ api: 'closing' }));
      expect(meter.backlogRequests()).toBe(0);
    } finally {
      await handle.close();
    }
  });
});

describe('final flush against a Postgres that never answers', () => {
  it('close() gives up after closeTimeoutMs even while an attempt is still waiting, and logs what is not metered', async () => {
    // Accepts connections and never answers: a silent partition (no query or connect deadline here).
    const sockets = new Set<Socket>();
    const silent = createServer((s) => void sockets.add(s.on('error', () => undefined)));
    const port = await freePort();
    await new Promise<void>((r) => silent.listen(port, '127.0.0.1', r));
    const handle = openPostgres(`postgres://postgres@127.0.0.1:${port}/x`, { timeouts: { connectMs: 0, statementMs: 0, queryMs: 0, keepAliveMs: 1_000 }, closeTimeoutMs: 100 });
    const { lines, logger } = captureLogger();
    const meter = new Meter({ db: handle.db as unknown as Database, logger, intervalMs: 60_000, closeTimeoutMs: 500 });
    try {
      for (let i = 0; i < 3; i++) meter.record(usage());
      const t0 = Date.now();
      await meter.close();
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(lines.filter((l) => l.level === 'error' && l.msg.includes('not metered'))).toHaveLength(1);
    } finally {
      await handle.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});

describe('live counters in Redis and re-seeding', () => {
  let database: TestDatabase;
  let db: Database;
  let close: () => Promise<void>;
  let redis: ChildRedis;
  let client: MeterRedis;
  const prefix = `${randomPrefix('meter')}:`;
  const quotaPlan = planSpecSchema.parse({ quota: { limit: 1000 } });
  const sub = { name: 'acme-q', plan: 'quota-plan', planSpec: quotaPlan };
  const period = new PeriodCache('UTC').keyAt(Date.now());
  /** What the subscription limiter charges a passed request (decided per node: no epoch). */
  const charge = (units: number, name = sub.name, month = period) => {
    const place = reseededCounters(`sub:${name}`);
    return { tag: place.tag, key: `${place.keyPrefix}q:${month}`, units, expiresAt: Date.now() + 3_600_000, epoch: null };
  };
  /** The seed marker and hold key of the subscription's usage shard. */
  const subShard = shardKeys(prefix, usageShardOf(`sub:${sub.name}`));

  beforeAll(async () => {
    database = await createTestDatabase();
    await migratePostgres(database.url);
    const h = openPostgres(database.url);
    db = h.db as unknown as Database;
    close = h.close;
    redis = await ChildRedis.create();
    client = createMeterRedis(redis.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
    await close?.();
    await database?.drop();
  });

  const now = () => Date.now();

  it('seeds a new Redis, then adds committed usage to per consumer and period hashes with a TTL', async () => {
    const meter = new Meter({ db, redis: client, keyPrefix: prefix, logger: captureLogger().logger });
    try {
      await meter.flush(true); // first contact: epoch marker set
      for (let i = 0; i < 3; i++) meter.record(usage({ at: now(), subscription: sub, units: 2, metric: 'calls', quotaCharge: charge(2) }));
      meter.record(usage({ at: now(), subscription: sub, status: 503, quotaCharge: charge(1) }));
      await meter.flush(true);
      const key = liveKey(prefix, 'acme', period);
      expect(await client.hgetall(key)).toEqual({ requests: '4', billable_requests: '3', 'units:calls': '6', 'billable_units:calls': '6', 'units:requests': '1' });
      expect(await client.pttl(key)).toBeGreaterThan(0);
      expect(await client.get(shardKeys(prefix, liveShard('acme')).epoch)).not.toBeNull();
    } finally {
      await meter.close();
    }
  });

  it('after FLUSHDB the live and quota counters are re-seeded from Postgres; the quota to exactly the rolled-up units, with a hold', async () => {
    // A node that has not served the subscription yet knows it from the serving config.
    const subscriptions = () => new Map([[sub.name, { plan: sub.plan, spec: sub.planSpec }]]);
    const meter = new Meter({ db, redis: client, keyPrefix: prefix, logger: captureLogger().logger, subscriptions, quotaHoldMs: 700 });
    try {
      await meter.flush(true);
      await client.flushdb();
      await meter.flush(true);
      const key = liveKey(prefix, 'acme', period);
      expect(await client.hgetall(key)).toEqual({ requests: '4', billable_requests: '3', 'units:calls': '6', 'billable_units:calls': '6', 'units:requests': '1' });
      // Quota: every unit the limiter charged (3x2 + 1).
      const qk = quotaKey(prefix, sub.name, period);
      expect(await client.get(qk)).toBe('7');
      expect(await client.pttl(qk)).toBeGreaterThan(0);
      const hold = await client.pttl(subShard.hold);
      expect(hold).toBeGreaterThan(0);
      expect(hold).toBeLessThanOrEqual(700);
      // Only the marker lost (an eviction): what the counter holds is replaced by the snapshot, not added to.
      await client.set(qk, 50);
      await client.del(subShard.epoch);
      await meter.flush(true);
      expect(await client.get(qk)).toBe('7');
      expect(await client.hget(key, 'requests')).toBe('4');
    } finally {
      await meter.close();
    }
  });

  it('a quota in another time zone than the billing month is re-seeded from the hours of its own month', async () => {
    const spec = planSpecSchema.parse({ quota: { limit: 100, timeZone: 'Asia/Kolkata' }, billing: { currency: 'EUR', timeZone: 'UTC' } });
    const kolkata = { name: 'kolkata-q', plan: 'kolkata', planSpec: spec };
    const subscriptions = () => new Map([[kolkata.name, { plan: kolkata.plan, spec }]]);
    const meter = new Meter({ db, redis: client, keyPrefix: prefix, logger: captureLogger().logger, subscriptions });
    try {
      const month = new PeriodCache('Asia/Kolkata').keyAt(now());
      for (let i = 0; i < 4; i++) meter.record(usage({ at: now(), consumer: 'k', subscription: kolkata, units: 3, quotaCharge: charge(3, kolkata.name, month) }));
      // A refusal by the limiter (429) charged nothing.
      meter.record(usage({ at: now(), consumer: 'k', subscription: kolkata, units: 3, status: 429, source: 'gateway' }));
      await meter.flush(true);
      await client.flushdb();
      await meter.flush(true);
      expect(await client.get(quotaKey(prefix, kolkata.name, month))).toBe('12');
    } finally {
      await meter.close();
    }
  });

  it('a batch is counted by the seed or by its node\'s increment, never both and never neither (two nodes racing a re-seed)', async () => {
    const clientA = createMeterRedis(redis.url);
    const a = new Meter({ db, redis: clientA, keyPrefix: prefix, logger: captureLogger().logger, nodeName: 'a' });
    const b = new Meter({ db, redis: client, keyPrefix: prefix, logger: captureLogger().logger, nodeName: 'b' });
    try {
      await b.flush(true);
      await a.flush(true);
      const key = liveKey(prefix, 'race', period);
      const before = Number((await client.hget(key, 'requests')) ?? 0);
      // A commits a batch to Postgres but cannot reach Redis.
      for (let i = 0; i < 3; i++) a.record(usage({ at: now(), consumer: 'race', subscription: null }));
      await new Promise((r) => setTimeout(r, 20));
      clientA.disconnect();
      await a.flush(true);
      expect(a.backlogRequests()).toBe(0);
      // Redis loses its data; B seeds it from Postgres, which holds A's batch.
      await client.flushdb();
      await b.flush(true);
      expect(await client.hget(key, 'requests')).toBe(String(before + 3));
      // A comes back: its increment is already in the seed and is not added again.
      await clientA.connect();
      for (let i = 0; i < 2; i++) a.record(usage({ at: now(), consumer: 'race', subscription: null }));
      await a.flush(true);
      expect(await client.hget(key, 'requests')).toBe(String(before + 5));
    } finally {
      await a.close();
      await b.close();
      clientA.disconnect();
    }
  });

  it('Redis stopped: increments wait in memory (failures counted, logged once); restarted empty: re-seeded, nothing lost or doubled', async () => {
    const { lines, logger } = captureLogger();
    const meter = new Meter({ db, redis: client, keyPrefix: prefix, logger, maxBackoffMs: 50 });
    try {
      await meter.flush(true);
      await redis.stop();
      for (let i = 0; i < 5; i++) meter.record(usage({ at: now(), subscription: sub, units: 2, metric: 'calls', quotaCharge: charge(2) }));
      await meter.flush(true);
      await meter.flush(true);
      expect(meter.flushFailures().redis).toBe(2);
      expect(meter.flushFailures().postgres).toBe(0);
      expect(meter.backlogRequests()).toBe(0);
      expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
      await redis.start();
      for (let i = 0; i < 50 && client.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 100));
      await meter.flush(true);
      const key = liveKey(prefix, 'acme', period);
      expect(await client.hget(key, 'requests')).toBe('9');
      expect(await client.hget(key, 'billable_units:calls')).toBe('16');
      expect(await client.get(quotaKey(prefix, sub.name, period))).toBe('17');
      // Later usage is incremented on top, once.
      meter.record(usage({ at: now(), subscription: sub, units: 2, metric: 'calls' }));
      await meter.flush(true);
      expect(await client.hget(key, 'requests')).toBe('10');
    } finally {
      await meter.close();
    }
  });
});
