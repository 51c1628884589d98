import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomPrefix, testRedisUrl, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateCluster, startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

const TOKEN = 'cache-admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

function yaml(upstream: string): string {
  const api = (name: string, storage: string) =>
    `---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: ${name} }\nspec:\n  basePath: /${name}\n  policies: [{ name: response-cache, config: { storage: ${storage}, ttlSeconds: 300 } }]\n  routes: [{ name: all, destination: { upstream: svc } }]\n`;
  return `apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: svc }\nspec: { targets: [{ url: ${upstream} }] }\n${api('mem', 'memory')}${api('red', 'redis')}`;
}

async function apply(admin: TollgateProcess, body: string): Promise<Response> {
  return fetch(`${admin.adminUrl}/config`, { method: 'POST', headers: { ...auth, 'content-type': 'application/yaml' }, body });
}

/** GET with one Host for every gateway (as behind a load balancer): the host is part of the cache key. */
function get(g: TollgateProcess, path: string): Promise<{ status: number; cache: string | null; key: string | null }> {
  return new Promise((resolve, reject) => {
    const req = request(`${g.proxyUrl}${path}`, { headers: { host: 'api.example.test' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cache: (res.headers['x-cache'] as string | undefined) ?? null, key: (res.headers['x-cache-key'] as string | undefined) ?? null }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function purge(admin: TollgateProcess, path: string): Promise<Record<string, unknown>> {
  const r = await fetch(`${admin.adminUrl}${path}`, { method: 'DELETE', headers: auth });
  expect(r.status, await r.clone().text()).toBe(202);
  return (await r.json()) as Record<string, unknown>;
}

/** Polls until the gateway answers MISS (each HIT means the purge has not arrived yet). */
const untilMiss = (g: TollgateProcess, path: string) => waitUntil(async () => (await get(g, path)).cache === 'MISS', 10_000, 50);

describe('cache purge across processes: admin + two gateways on Postgres and Redis', () => {
  let db: TestDatabase;
  let up: RecordingUpstream;
  let admin: TollgateProcess;
  let gateways: TollgateProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    up = await startRecordingUpstream('svc');
    const cluster = await startTollgateCluster({ DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), ADMIN_TOKEN: TOKEN, CACHE_KEY_PREFIX: `${randomPrefix('cache')}:` });
    admin = cluster.admin;
    gateways = cluster.gateways;
    expect((await apply(admin, yaml(up.url))).status).toBe(200);
    // Ready once the config is served and Redis is connected (until then lookups are BYPASS).
    for (const g of gateways) await waitUntil(async () => (await get(g, '/red/ready')).cache !== 'BYPASS', 15_000);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([admin, ...gateways].map((p) => p?.stop()));
    await up?.close();
    await db?.drop();
  });

  it('memory storage is per gateway; DELETE /cache/apis/{api} reaches both through Redis pub/sub', async () => {
    const [g1, g2] = gateways as [TollgateProcess, TollgateProcess];
    expect((await get(g1, '/mem/a')).cache).toBe('MISS');
    expect((await get(g1, '/mem/a')).cache).toBe('HIT');
    expect((await get(g2, '/mem/a')).cache).toBe('MISS');
    expect((await get(g2, '/mem/a')).cache).toBe('HIT');
    const before = up.requests.length;
    const out = await purge(admin, '/cache/apis/mem');
    expect(out).toMatchObject({ purged: { api: 'mem' }, broadcast: 'redis' });
    await untilMiss(g1, '/mem/a');
    await untilMiss(g2, '/mem/a');
    expect(up.requests.length).toBeGreaterThan(before);
  });

  it('redis storage is shared; DELETE /cache/keys/{key} deletes the one entry', async () => {
    const [g1, g2] = gateways as [TollgateProcess, TollgateProcess];
    const first = await get(g1, '/red/b?y=2&x=1');
    expect(first.cache).toBe('MISS');
    await get(g1, '/red/c');
    const before = up.requests.length;
    // Stored asynchronously after the response: the other node sees it shortly.
    await waitUntil(async () => (await get(g2, '/red/b?x=1&y=2')).cache === 'HIT', 5_000, 50);
    expect(up.requests.length).toBe(before);
    const out = await purge(admin, `/cache/keys/${first.key}`);
    expect(out).toMatchObject({ redisKeysDeleted: 1, broadcast: 'redis' });
    expect((await get(g2, '/red/b?x=1&y=2')).cache).toBe('MISS');
    expect((await get(g2, '/red/c')).cache).toBe('HIT');
  });

  it('DELETE /cache purges everything; a route purge and bad key ids are checked', async () => {
    const [g1] = gateways as [TollgateProcess, TollgateProcess];
    await get(g1, '/red/d');
    await waitUntil(async () => (await get(g1, '/red/d')).cache === 'HIT', 5_000, 50);
    const all = await purge(admin, '/cache');
    expect(all.purged).toEqual({ all: true });
    expect(all.redisKeysDeleted as number).toBeGreaterThanOrEqual(1);
    expect((await get(g1, '/red/d')).cache).toBe('MISS');
    expect(await purge(admin, '/cache/apis/red/routes/all')).toMatchObject({ purged: { api: 'red', route: 'all' } });
    const bad = await fetch(`${admin.adminUrl}/cache/keys/not-a-key`, { method: 'DELETE', headers: auth });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await fetch(`${admin.adminUrl}/cache`, { method: 'DELETE' })).status).toBe(401);
  });

  it('a template referencing nothing known is refused at apply with 422 and its path', async () => {
    const bad = `${yaml(up.url)}---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: tx }\nspec:\n  basePath: /tx\n  policies:\n    - name: request-transformer\n      config: { headers: { set: { x-who: "{consumer.nmae}" } } }\n  routes: [{ name: all, destination: { upstream: svc } }]\n`;
    const r = await apply(admin, bad);
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toMatch(/problem\+json/);
    const p = (await r.json()) as { code: string; errors: Array<{ path: string; message: string; resource: string }> };
    expect(p.code).toBe('INVALID_CONFIG');
    expect(p.errors[0]).toMatchObject({ resource: 'Api/tx', path: 'spec.policies[0].config.headers.set.x-who' });
    expect(p.errors[0]?.message).toMatch(/consumer\.nmae/);
  });
});

describe('cache purge without Redis: Postgres NOTIFY carries it', () => {
  let db: TestDatabase;
  let up: RecordingUpstream;
  let admin: TollgateProcess;
  let gateway: TollgateProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    up = await startRecordingUpstream('svc');
    const env = { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN };
    [admin, gateway] = await Promise.all([startTollgateProcess({ role: 'admin', env }), startTollgateProcess({ role: 'gateway', env })]);
    expect((await apply(admin, yaml(up.url))).status).toBe(200);
    await waitUntil(async () => (await get(gateway, '/mem/ready')).status === 200, 15_000);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([admin?.stop(), gateway?.stop()]);
    await up?.close();
    await db?.drop();
  });

  it('DELETE /cache/apis/{api}/routes/{route} empties the gateway memory cache', async () => {
    await get(gateway, '/mem/z');
    expect((await get(gateway, '/mem/z')).cache).toBe('HIT');
    const out = await purge(admin, '/cache/apis/mem/routes/all');
    expect(out).toMatchObject({ redisKeysDeleted: null, broadcast: 'postgres' });
    await untilMiss(gateway, '/mem/z');
    // storage: redis without REDIS_URL falls back to memory on the node (and says so in its log).
    expect((await get(gateway, '/red/q')).cache).toBe('MISS');
    expect((await get(gateway, '/red/q')).cache).toBe('HIT');
  });
});

describe('cache purge in the embedded single process (PGlite, no Redis)', () => {
  let dir: string;
  let up: RecordingUpstream;
  let all: TollgateProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-cache-'));
    up = await startRecordingUpstream('svc');
    all = await startTollgateProcess({ role: 'all', env: { TOLLGATE_DATA: dir, ADMIN_TOKEN: TOKEN } });
    expect((await apply(all, yaml(up.url))).status).toBe(200);
    await waitUntil(async () => (await get(all, '/mem/ready')).status === 200, 15_000);
  }, 90_000);

  afterAll(async () => {
    await all?.stop();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('DELETE /cache reaches the in-process gateway', async () => {
    await get(all, '/mem/e');
    expect((await get(all, '/mem/e')).cache).toBe('HIT');
    expect(await purge(all, '/cache')).toMatchObject({ redisKeysDeleted: null, broadcast: 'process' });
    expect((await get(all, '/mem/e')).cache).toBe('MISS');
  });
});
