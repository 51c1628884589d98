import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster.js';
import { startTollgateCluster, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

/**
 * Issue #19: an admin and two gateway processes on a real Redis Cluster (3 primaries + 3
 * replicas, `REDIS_URL=redis+cluster://…`). Before: most limit checks answered 503
 * LIMITS_UNAVAILABLE (MOVED not followed) and the usage flush failed with CROSSSLOT. Now: rate
 * limits and quotas are exact across the gateways, the shared response cache hits across them and
 * purges, the Postgres rollups are exact; and with a primary killed (`kill -9`) under load, no
 * request gets a 500, fail-closed plans answer 503 only during the failover, fail-open plans
 * never, limits are decided by Redis again after it, and the rollups still hold exactly every
 * answer.
 */

const TOKEN = 'cluster-admin-token-0123456789abcdef';
const sfx = randomBytes(3).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Consumers of the failover load: half fail open, half fail closed, spread over the usage shards. */
const LOAD = Array.from({ length: 12 }, (_, i) => ({ name: `load${i}-${sfx}`, key: `tg_load${i}_${sfx}_0123456789abcdefghij`, failMode: i % 2 === 0 ? 'open' : 'closed' }));
const EXACT = { name: `exact-${sfx}`, key: `tg_exact_${sfx}_0123456789abcdefghij` };
const QUOTA = { name: `quota-${sfx}`, key: `tg_quota_${sfx}_0123456789abcdefghij` };

function config(upstream: string): string {
  const docs = [
    `kind: Upstream\nmetadata: { name: svc }\nspec: { targets: [{ url: ${upstream} }] }`,
    `kind: Api\nmetadata: { name: ready-${sfx} }\nspec:\n  basePath: /ready\n  routes: [{ name: all, destination: { upstream: svc } }]`,
    `kind: Api\nmetadata: { name: paid-${sfx} }\nspec:\n  basePath: /paid\n  subscriptionRequired: true\n  policies: [{ name: key-auth }]\n  routes: [{ name: all, destination: { upstream: svc } }]`,
    `kind: Api\nmetadata: { name: byip-${sfx} }\nspec:\n  basePath: /byip\n  policies: [{ name: rate-limit, config: { by: ip, limits: [{ limit: 7, window: 1h }] } }]\n  routes: [{ name: all, destination: { upstream: svc } }]`,
    `kind: Api\nmetadata: { name: cached-${sfx} }\nspec:\n  basePath: /cached\n  policies: [{ name: response-cache, config: { storage: redis, ttlSeconds: 300 } }]\n  routes: [{ name: all, destination: { upstream: svc } }]`,
    `kind: Plan\nmetadata: { name: exact-${sfx} }\nspec: { limits: [{ limit: 9, window: 1h }], quota: { limit: 100000 }, failMode: closed }`,
    `kind: Plan\nmetadata: { name: quota-${sfx} }\nspec: { quota: { limit: 11, overage: hard }, failMode: closed }`,
    `kind: Plan\nmetadata: { name: big-open-${sfx} }\nspec: { limits: [{ limit: 1000000, window: 1h }], quota: { limit: 1000000 }, failMode: open }`,
    `kind: Plan\nmetadata: { name: big-closed-${sfx} }\nspec: { limits: [{ limit: 1000000, window: 1h }], quota: { limit: 1000000 }, failMode: closed }`,
    ...[
      { ...EXACT, plan: `exact-${sfx}` },
      { ...QUOTA, plan: `quota-${sfx}` },
      ...LOAD.map((c) => ({ ...c, plan: `big-${c.failMode}-${sfx}` })),
    ].flatMap((c) => [
      `kind: Consumer\nmetadata: { name: ${c.name} }\nspec: { keys: [{ name: k, key: ${c.key} }] }`,
      `kind: Subscription\nmetadata: { name: sub-${c.name} }\nspec: { consumer: ${c.name}, plan: ${c.plan}, start: "2020-01-01T00:00:00Z" }`,
    ]),
  ];
  return docs.map((d) => `apiVersion: tollgate.dev/v1\n${d}\n`).join('---\n');
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | null;
}

async function get(g: TollgateProcess, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${g.proxyUrl}${path}`, { headers });
  const text = await res.text();
  let body: Record<string, unknown> | null = null;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = null;
  }
  return { status: res.status, headers: res.headers, body };
}

/** GET with one Host for every gateway (as behind a load balancer): the host is part of the cache key. */
function getCached(g: TollgateProcess, path: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const req = request(`${g.proxyUrl}${path}`, { headers: { host: 'api.example.test' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.headers['x-cache'] as string | undefined) ?? null));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Limit decisions taken without Redis (fail open) or refused for it (fail closed), over the gateways. */
async function localDecisions(gateways: TollgateProcess[]): Promise<number> {
  let sum = 0;
  for (const g of gateways) {
    const text = await (await fetch(`${g.statusUrl}/metrics`)).text();
    for (const line of text.split('\n')) if (line.startsWith('tollgate_limits_local_decisions_total{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

function currentPeriod(): string {
  const d = new Date();
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

async function usageOf(admin: TollgateProcess, consumer: string): Promise<{ requests: number; billableRequests: number }> {
  const res = await fetch(`${admin.adminUrl}/usage?consumer=${consumer}&from=${currentPeriod()}-01T00:00:00Z&to=${new Date(Date.now() + 3_600_000).toISOString()}&granularity=month`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { totals: { requests: number; billableRequests: number } }).totals;
}

describe('two gateways on a Redis Cluster (3 primaries + 3 replicas)', () => {
  let redis: RedisClusterHandle;
  let db: TestDatabase;
  let up: RecordingUpstream;
  let admin: TollgateProcess;
  let gateways: TollgateProcess[];
  /** Answers per consumer, for the rollup checks. */
  const answered = new Map<string, number>();
  const served = new Map<string, number>();

  const send = async (g: TollgateProcess, c: { name: string; key: string }): Promise<Answer> => {
    const r = await get(g, '/paid/x', { apikey: c.key });
    answered.set(c.name, (answered.get(c.name) ?? 0) + 1);
    if (r.status === 200) served.set(c.name, (served.get(c.name) ?? 0) + 1);
    return r;
  };

  beforeAll(async () => {
    [redis, db, up] = await Promise.all([startRedisCluster(), createTestDatabase(), startRecordingUpstream('svc')]);
    const env = { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, REDIS_URL: redis.url, LOG_LEVEL: 'warn', USAGE_FLUSH_MS: '500', QUOTA_HOLD_MS: '1000', MAX_EVENT_LOOP_DELAY_MS: '0' };
    ({ admin, gateways } = await startTollgateCluster(env, 'none'));
    const res = await fetch(`${admin.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: config(up.url) });
    expect(res.status, await res.clone().text()).toBe(200);
    for (const g of gateways) await waitUntil(async () => (await get(g, '/ready/x')).status === 200, 30_000, 100);
    // The hourly windows are aligned to the epoch: keep both tests inside one hour.
    const left = 3_600_000 - (Date.now() % 3_600_000);
    if (left < 60_000) await sleep(left + 50);
  }, 150_000);

  afterAll(async () => {
    await Promise.all([admin?.stop(), ...(gateways ?? []).map((g) => g.stop())]);
    await up?.close();
    await db?.drop();
    await redis?.stop();
  });

  it('rate limits and a hard quota are exact across both gateways; the shared cache hits across them and purges', async () => {
    const [a, b] = gateways as [TollgateProcess, TollgateProcess];
    // A new cluster is seeded on first use and quotas held for QUOTA_HOLD_MS (fail closed: 503 meanwhile).
    await waitUntil(async () => (await send(a, EXACT)).status === 200, 15_000, 100);
    await waitUntil(async () => (await send(b, EXACT)).status === 200, 15_000, 100);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await send(i % 2 === 0 ? a : b, EXACT)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 429, 429, 429]);
    // The admin reads the same counters (in the subscription's usage shard) without counting.
    const usage = await fetch(`${admin.adminUrl}/consumers/${EXACT.name}/usage`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(usage.status).toBe(200);
    expect(await usage.json()).toMatchObject({ subscriptions: [{ limits: [{ window: '1h', limit: 9, used: 9, remaining: 0 }], quota: { used: 9 } }] });
    const q: number[] = [];
    for (let i = 0; i < 14; i++) q.push((await send(i % 2 === 0 ? a : b, QUOTA)).status);
    expect(q).toEqual([...Array<number>(11).fill(200), 429, 429, 429]);
    const ip: number[] = [];
    for (let i = 0; i < 9; i++) ip.push((await get(i % 2 === 0 ? a : b, '/byip/x')).status);
    expect(ip).toEqual([200, 200, 200, 200, 200, 200, 200, 429, 429]);

    expect(await getCached(a, '/cached/one')).toBe('MISS');
    await waitUntil(async () => (await getCached(b, '/cached/one')) === 'HIT', 5_000, 50);
    for (let i = 0; i < 20; i++) await getCached(a, `/cached/n${i}`);
    // Stored after the response: wait until the other gateway sees the last one.
    await waitUntil(async () => (await getCached(b, '/cached/n19')) === 'HIT', 5_000, 50);
    const purge = await fetch(`${admin.adminUrl}/cache/apis/cached-${sfx}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(purge.status).toBe(202);
    // 21 entries in slots all over the cluster, found by a SCAN of every primary.
    expect(await purge.json()).toMatchObject({ redisKeysDeleted: 21, broadcast: 'redis' });
    expect(await getCached(b, '/cached/one')).toBe('MISS');
  }, 60_000);

  it('a primary killed under load: no 500, 503 only for fail-closed plans and only during the failover, limits shared again after, rollups exact', async () => {
    const [a, b] = gateways as [TollgateProcess, TollgateProcess];
    for (const c of LOAD) await waitUntil(async () => (await send(a, c)).status === 200, 15_000, 50);
    const log: Array<{ at: number; consumer: string; failMode: string; status: number; code: unknown }> = [];
    let stop = false;
    const worker = async (g: TollgateProcess, offset: number) => {
      for (let i = offset; !stop; i++) {
        const c = LOAD[i % LOAD.length] as (typeof LOAD)[number];
        const r = await send(g, c);
        log.push({ at: Date.now(), consumer: c.name, failMode: c.failMode, status: r.status, code: r.body?.code });
        await sleep(5);
      }
    };
    const workers = [worker(a, 0), worker(b, 1), worker(a, 2), worker(b, 3)];
    await sleep(1_000);
    const victim = (await redis.primaries())[0] as number;
    const killedAt = Date.now();
    await redis.kill(victim);
    const failoverMs = await redis.waitForFailover(victim);
    // Every consumer (every usage shard) decided by Redis again: a stretch in which each consumer
    // was answered and no gateway decided a limit locally (fail open) or refused one (fail closed).
    let recoveredAt = 0;
    await waitUntil(async () => {
      const before = await localDecisions(gateways);
      const from = Date.now();
      await sleep(1_500);
      const seen = new Set(log.filter((e) => e.at >= from).map((e) => e.consumer));
      if (seen.size < LOAD.length || (await localDecisions(gateways)) !== before) return false;
      recoveredAt = from;
      return true;
    }, 30_000, 0);
    const recoveredMs = recoveredAt - killedAt;
    await sleep(500);
    stop = true;
    await Promise.all(workers);
    const local = await localDecisions(gateways);

    const byStatus = new Map<number, number>();
    for (const e of log) byStatus.set(e.status, (byStatus.get(e.status) ?? 0) + 1);
    console.log(`gateway cluster failover: primary ${victim} killed; cluster ok after ${failoverMs} ms; limits decided by Redis again within ${recoveredMs} ms; answers ${JSON.stringify(Object.fromEntries(byStatus))}; ${local} decided without Redis`);
    expect(local).toBeGreaterThan(0);
    expect(log.filter((e) => e.status >= 500 && e.status !== 503)).toEqual([]);
    const unavailable = log.filter((e) => e.status === 503);
    for (const e of unavailable) {
      expect(e.code).toBe('LIMITS_UNAVAILABLE');
      expect(e.failMode).toBe('closed');
      expect(e.at).toBeGreaterThanOrEqual(killedAt);
      expect(e.at).toBeLessThan(recoveredAt);
    }
    expect(log.filter((e) => e.status === 429)).toEqual([]);
    // Limits work after: the exact plan still refuses (its count survived on the promoted replica
    // or was re-seeded from Postgres), and the by-IP limit too.
    expect((await send(a, EXACT)).status).toBe(429);
    expect((await get(b, '/byip/x')).status).toBe(429);

    // Rollups: exactly every answer and every served request, per consumer (after the last flush).
    const consumers = [EXACT, QUOTA, ...LOAD];
    const exact = async () => {
      for (const c of consumers) {
        const u = await usageOf(admin, c.name);
        if (u.requests !== (answered.get(c.name) ?? 0) || u.billableRequests !== (served.get(c.name) ?? 0)) return false;
      }
      return true;
    };
    await waitUntil(exact, 15_000, 250).catch(() => undefined);
    for (const c of consumers) {
      const u = await usageOf(admin, c.name);
      expect(u.requests, c.name).toBe(answered.get(c.name) ?? 0);
      expect(u.billableRequests, c.name).toBe(served.get(c.name) ?? 0);
    }
    // No gateway logged an unhandled error.
    for (const g of gateways) expect(g.output()).not.toMatch(/CROSSSLOT|unhandled/i);
  }, 90_000);
});
