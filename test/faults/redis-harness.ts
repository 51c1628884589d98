import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateCluster, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { ChildRedis } from '../limits/redis-server.js';
import { RedisProxy } from './redis-proxy.js';

/**
 * Two gateway processes and an admin process on their own database and their own child
 * `redis-server` (which the tests kill and restart empty), optionally reached through a
 * {@link RedisProxy} (which the tests freeze). Shared by the Redis fault tests.
 */
export const TOKEN = 'redis-faults-admin-token-0123456789abcdef';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RedisFaultCluster {
  db: TestDatabase;
  up: RecordingUpstream;
  redis: ChildRedis;
  proxy: RedisProxy | null;
  admin: TollgateProcess;
  gateways: TollgateProcess[];
  suffix: string;
  /** A client on the child Redis (not through the proxy). */
  client(): Redis;
  /** POSTs a YAML config set to the admin API; waits until both gateways serve `/ready-<suffix>/`. */
  apply(yaml: string): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  env?: Record<string, string>;
  /** Put a freezable proxy between the gateways and Redis. */
  proxy?: boolean;
}

export async function startRedisFaultCluster(options: ClusterOptions = {}): Promise<RedisFaultCluster> {
  const suffix = randomBytes(3).toString('hex');
  const db = await createTestDatabase();
  const up = await startRecordingUpstream('svc');
  const redis = await ChildRedis.create();
  const proxy = options.proxy === true ? await RedisProxy.start(redis.port) : null;
  const env = { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, REDIS_URL: proxy?.url ?? redis.url, LOG_LEVEL: 'warn', MAX_EVENT_LOOP_DELAY_MS: '0', ...options.env };
  const { admin, gateways } = await startTollgateCluster(env, 'none');
  const clients: Redis[] = [];
  const cluster: RedisFaultCluster = {
    db,
    up,
    redis,
    proxy,
    admin,
    gateways,
    suffix,
    client() {
      const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    async apply(yaml: string) {
      const ready = `apiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: ready-${suffix} }\nspec:\n  basePath: /ready-${suffix}\n  routes: [{ name: all, destination: { upstream: svc } }]\n---\n`;
      const svc = `apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: svc }\nspec: { targets: [{ url: ${up.url} }] }\n---\n`;
      const res = await fetch(`${admin.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: svc + ready + yaml });
      expect(res.status, await res.clone().text()).toBe(200);
      for (const g of gateways) await waitUntil(async () => (await get(g, `/ready-${suffix}/x`)).status === 200, 20_000, 100);
    },
    async stop() {
      for (const c of clients) c.disconnect();
      await Promise.all([admin.stop(), ...gateways.map((g) => g.stop())]);
      await proxy?.close();
      await redis.stop();
      await up.close();
      await db.drop();
    },
  };
  return cluster;
}

/** One GET through a gateway; the body is read (and returned parsed when it is JSON). */
export async function get(g: TollgateProcess, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> | null; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${g.proxyUrl}${path}`, { headers });
  const text = await res.text();
  let body: Record<string, unknown> | null = null;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = null;
  }
  return { status: res.status, headers: res.headers, body, ms: Date.now() - started };
}

/** The current UTC month, `YYYY-MM`. */
export function currentPeriod(): string {
  const d = new Date();
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Usage totals of a consumer over the current month from the Postgres rollups (`GET /usage`). */
export async function usageOf(admin: TollgateProcess, consumer: string): Promise<{ requests: number; units: number; billableRequests: number; billableUnits: number }> {
  const res = await fetch(`${admin.adminUrl}/usage?consumer=${consumer}&from=${currentPeriod()}-01T00:00:00Z&to=${new Date(Date.now() + 3_600_000).toISOString()}&granularity=month`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { totals: { requests: number; units: number; billableRequests: number; billableUnits: number } }).totals;
}

/** A counter of a gateway's `/metrics` (sum over the series whose labels contain `labels`). */
export async function metric(g: TollgateProcess, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${g.statusUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !line.includes(labels)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
