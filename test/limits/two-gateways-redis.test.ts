import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { reseededCounters } from '@tollgate/policies';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateCluster, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { ChildRedis } from './redis-server.js';

const TOKEN = 'limits-admin-token-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Unique API names: Redis keys contain them, so parallel runs never share a bucket. */
const suffix = randomBytes(4).toString('hex');
const api = (n: string) => `${n}-${suffix}`;

/** The config: an unlimited `ready` API (readiness probes must not use up any bucket) plus `apis`. */
function yaml(upstreamUrl: string, apis: Array<{ name: string; policy: string }>): string {
  return [
    `apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: svc }\nspec: { targets: [{ url: ${upstreamUrl} }] }\n`,
    `apiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: ready-${suffix} }\nspec:\n  basePath: /ready-${suffix}\n  routes: [{ name: all, destination: { upstream: svc } }]\n`,
    ...apis.map(
      (a) => `apiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: ${a.name} }\nspec:\n  basePath: /${a.name}\n  policies: [{ name: rate-limit, config: ${a.policy} }]\n  routes: [{ name: all, destination: { upstream: svc } }]\n`,
    ),
  ].join('---\n');
}

const KEY = 'tg_limits_key_0123456789abcdefghijkl';
/** A subscriber on a plan of 1000/hour and a monthly quota, for the usage endpoint. */
const subscriptionYaml = `---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: ${api('paid')} }
spec:
  basePath: /${api('paid')}
  subscriptionRequired: true
  policies: [{ name: key-auth }]
  routes: [{ name: all, destination: { upstream: svc } }]
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme-${suffix} }
spec: { keys: [{ name: k, key: ${KEY} }] }
---
apiVersion: tollgate.dev/v1
kind: Plan
metadata: { name: gold-${suffix} }
spec: { limits: [{ limit: 1000, window: 1h }], quota: { limit: 50000 } }
---
apiVersion: tollgate.dev/v1
kind: Subscription
metadata: { name: acme-gold-${suffix} }
spec: { consumer: acme-${suffix}, api: ${api('paid')}, plan: gold-${suffix}, start: "2020-01-01T00:00:00Z" }
`;

async function apply(admin: TollgateProcess, body: string): Promise<void> {
  const res = await fetch(`${admin.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function get(g: TollgateProcess, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${g.proxyUrl}${path}`, { headers });
  await res.arrayBuffer();
  return res;
}

/** Waits until a fresh epoch-aligned window has at least `ms` left, so a burst stays in one window. */
async function awaitWindowRoom(windowMs: number, ms: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < ms) await sleep(left + 50);
}

describe('limits across two gateway processes on one Redis', () => {
  let db: TestDatabase;
  let up: RecordingUpstream;
  let admin: TollgateProcess;
  let gateways: TollgateProcess[] = [];
  let redis: Redis;

  beforeAll(async () => {
    db = await createTestDatabase();
    up = await startRecordingUpstream('svc');
    redis = new Redis(testRedisUrl());
    const env = { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, REDIS_URL: testRedisUrl(), LOG_LEVEL: 'warn' };
    ({ admin, gateways } = await startTollgateCluster(env, 'none'));
    await apply(
      admin,
      yaml(up.url, [
        { name: api('exact'), policy: '{ by: route, limits: [{ limit: 100, window: 1m }] }' },
        { name: api('retry'), policy: '{ by: ip, limits: [{ limit: 3, window: 2s }, { limit: 1000, window: 1h }] }' },
        { name: api('spoof'), policy: '{ by: ip, limits: [{ limit: 2, window: 1h }] }' },
      ]) + subscriptionYaml,
    );
    for (const g of gateways) await waitUntil(async () => (await get(g, `/ready-${suffix}/x`)).status === 200, 15_000, 100);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([admin?.stop(), ...gateways.map((g) => g.stop())]);
    redis?.disconnect();
    await up?.close();
    await db?.drop();
  });

  it('100/minute with 1000 concurrent requests over both nodes: exactly 100 succeed; headers count down without repeats', async () => {
    await awaitWindowRoom(60_000, 15_000);
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => get(gateways[i % 2]!, `/${api('exact')}/x`)));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(ok.length).toBe(100);
    expect(refused.length).toBe(900);
    expect(results.some((r) => r.status >= 500)).toBe(false);
    // Each success saw a distinct count: remaining values are exactly 99..0.
    const remaining = ok.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((a, b) => b - a);
    expect(remaining).toEqual(Array.from({ length: 100 }, (_, i) => 99 - i));
    for (const r of ok) {
      expect(r.headers.get('x-ratelimit-limit')).toBe('100');
      expect(r.headers.get('ratelimit-policy')).toBe('"default-1m";q=100;w=60');
      expect(r.headers.get('ratelimit')).toBe(`"default-1m";r=${r.headers.get('x-ratelimit-remaining')};t=${r.headers.get('x-ratelimit-reset')}`);
    }
    for (const r of refused) {
      expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
      const retry = Number(r.headers.get('retry-after'));
      expect(retry).toBeGreaterThan(0);
      expect(retry).toBeLessThanOrEqual(60);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
    }
  }, 60_000);

  it('waiting Retry-After lets the next request through', async () => {
    await awaitWindowRoom(2_000, 1_500);
    const path = `/${api('retry')}/x`;
    for (let i = 0; i < 3; i++) expect((await get(gateways[i % 2]!, path)).status).toBe(200);
    const refused = await get(gateways[1]!, path);
    expect(refused.status).toBe(429);
    const wait = Number(refused.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(2);
    await sleep(wait * 1000);
    const after = await get(gateways[0]!, path);
    expect(after.status).toBe(200);
    // The hour window kept counting across both nodes: 1000 - 4 left.
    expect(after.headers.get('ratelimit')).toContain(`"default-1h";r=996;`);
  }, 20_000);

  it('a spoofed X-Forwarded-For from an untrusted client creates no new bucket', async () => {
    const path = `/${api('spoof')}/x`;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await get(gateways[i % 2]!, path, { 'x-forwarded-for': `198.51.100.${i}`, 'x-real-ip': `203.0.113.${i}` })).status);
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
    const keys = await redis.keys(`tollgate:{rl:default:${api('spoof')}:*`);
    expect(keys.length).toBe(1);
    expect(keys[0]).toContain(':ip:127.0.0.1}');
  });

  it('operators read a consumer\'s usage, counted over both nodes, from the admin API', async () => {
    for (let i = 0; i < 3; i++) expect((await get(gateways[i % 2]!, `/${api('paid')}/x`, { apikey: KEY })).status).toBe(200);
    expect((await get(gateways[0]!, `/${api('paid')}/x`)).status).toBe(401);
    const res = await fetch(`${admin.adminUrl}/consumers/acme-${suffix}/usage`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { subscriptions: Array<Record<string, unknown>> };
    expect(body).toMatchObject({ consumer: `acme-${suffix}`, subscriptions: [{ name: `acme-gold-${suffix}`, api: api('paid'), plan: `gold-${suffix}`, active: true, limits: [{ window: '1h', limit: 1000, used: 3, remaining: 997 }], quota: { limit: 50000, used: 3, remaining: 49997, timeZone: 'UTC' } }] });
    expect((await fetch(`${admin.adminUrl}/consumers/nobody-${suffix}/usage`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    expect((await fetch(`${admin.adminUrl}/consumers/acme-${suffix}/usage`)).status).toBe(401);
  });

  it('every Redis key the gateways wrote has a TTL', async () => {
    const keys: string[] = [];
    // A subscription with a quota counts in its usage shard (docs/redis.md).
    const place = reseededCounters(`sub:acme-gold-${suffix}`);
    keys.push(...(await redis.keys(`tollgate:{${place.tag}}:${place.keyPrefix}*`)));
    for (const name of [api('exact'), api('retry'), api('spoof')]) keys.push(...(await redis.keys(`tollgate:{rl:*:${name}:*`)));
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const k of keys) expect(await redis.pttl(k), k).toBeGreaterThan(0);
  });
});

describe('Redis stopped and restarted under two gateway processes', () => {
  let db: TestDatabase;
  let up: RecordingUpstream;
  let own: ChildRedis;
  let admin: TollgateProcess;
  let gateways: TollgateProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    up = await startRecordingUpstream('svc');
    own = await ChildRedis.create();
    const env = { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, REDIS_URL: own.url, LOG_LEVEL: 'warn' };
    ({ admin, gateways } = await startTollgateCluster(env, 'none'));
    await apply(
      admin,
      yaml(up.url, [
        { name: 'open', policy: '{ by: route, failMode: open, limits: [{ limit: 5, window: 1h }] }' },
        { name: 'closed', policy: '{ by: route, failMode: closed, limits: [{ limit: 5, window: 1h }] }' },
      ]),
    );
    for (const g of gateways) await waitUntil(async () => (await get(g, `/ready-${suffix}/x`)).status === 200, 15_000, 100);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([admin?.stop(), ...gateways.map((g) => g.stop())]);
    await own?.stop();
    await up?.close();
    await db?.drop();
  });

  it('fail closed answers 503 LIMITS_UNAVAILABLE, fail open keeps limiting per node; no 500, no crash; limits resume on Redis again', async () => {
    const [a, b] = gateways as [TollgateProcess, TollgateProcess];
    // Shared: 2 + 2 requests over both nodes count in one bucket.
    for (const g of [a, b, a]) expect((await get(g, '/closed/x')).status).toBe(200);
    expect((await get(b, '/closed/x')).headers.get('x-ratelimit-remaining')).toBe('1');

    await own.stop();
    const closed = await Promise.all([get(a, '/closed/x'), get(b, '/closed/x')]);
    for (const r of closed) {
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(await fetch(`${a.proxyUrl}/closed/x`).then((x) => x.json())).toMatchObject({ code: 'LIMITS_UNAVAILABLE' });
    }
    // Fail open: each node limits in process (5 each), never 500.
    const started = Date.now();
    const open = [];
    for (let i = 0; i < 7; i++) open.push((await get(a, '/open/x')).status);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(open).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect((await get(b, '/open/x')).status).toBe(200);
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();

    // Redis back (empty: it kept nothing): both nodes share counts again, without a restart.
    await own.start();
    await waitUntil(async () => (await get(a, '/closed/x')).status === 200, 10_000, 100);
    await waitUntil(async () => (await get(b, '/closed/x')).status === 200, 10_000, 100);
    const c = new Redis(own.url);
    try {
      const keys = await c.keys('tollgate:{rl:default:closed:*');
      expect(keys.length).toBe(1);
      expect(Number(await c.get(keys[0]!))).toBeGreaterThanOrEqual(2);
      expect(await c.pttl(keys[0]!)).toBeGreaterThan(0);
    } finally {
      c.disconnect();
    }
  }, 60_000);
});
