import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateCluster, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { apiYaml } from './fixtures.js';

const TOKEN = 'e2e-admin-token-consumer-deltas-0123456789';
const HOST = 'paid.example.com';
/** Consumers present before the change (the production shape has many; the bench runs 100,000). */
const CONSUMERS = 3_000;

const doc = (kind: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: 'tollgate.dev/v1', kind, metadata: { name }, spec });

// Two gateway processes on one Postgres and Redis. Consumers and Subscriptions are change-feed
// deltas: a Consumer created with its Subscription (and then a key) works on both nodes within
// one second, a deleted Subscription or Consumer stops working as fast, and neither node installs
// a new snapshot or moves its config version. The safety-net poll is a minute, so only the
// change feed can explain a fast pickup.
describe('Consumers and Subscriptions as deltas on two gateway nodes', () => {
  let db: TestDatabase;
  let up: RecordingUpstream;
  let admin: TollgateProcess;
  let gateways: TollgateProcess[] = [];

  const auth = { authorization: `Bearer ${TOKEN}` };

  async function keyed(g: TollgateProcess, key: string): Promise<number> {
    const { request } = await import('node:http');
    return new Promise((resolve, reject) => {
      const req = request(new URL('/orders/1', g.proxyUrl), { headers: { host: HOST, 'x-api-key': key }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  }

  const ready = async (g: TollgateProcess) => ((await (await fetch(`${g.statusUrl}/readyz`)).json()) as { version: number }).version;
  const installs = (g: TollgateProcess) => g.output().split('config snapshot installed').length - 1;
  const post = (path: string, body: unknown) => fetch(`${admin.adminUrl}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const del = (path: string) => fetch(`${admin.adminUrl}${path}`, { method: 'DELETE', headers: auth });
  /** Waits until `key` gets `status` on every node; returns each node's wait in ms. */
  const onEveryNode = (key: string, status: number) => Promise.all(gateways.map((g) => waitUntil(async () => (await keyed(g, key)) === status, 1_000, 10)));

  beforeAll(async () => {
    db = await createTestDatabase();
    up = await startRecordingUpstream('svc');
    const env = { DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), ADMIN_TOKEN: TOKEN, CONFIG_POLL_MS: '60000' };
    ({ admin, gateways } = await startTollgateCluster(env));
    const yaml = apiYaml(up.url, { host: HOST }).replace('  basePath: /orders\n', '  basePath: /orders\n  subscriptionRequired: true\n  policies: [{ name: key-auth }]\n');
    const res = await fetch(`${admin.adminUrl}/config`, { method: 'POST', headers: { ...auth, 'content-type': 'application/yaml' }, body: yaml });
    expect(res.status, await res.text()).toBe(200);
    const seeded = await post('/config', [doc('Plan', 'gold', { limits: [{ limit: 1000, window: '1m' }] }), ...Array.from({ length: CONSUMERS }, (_, i) => doc('Consumer', `c${i}`, {}))]);
    expect(seeded.status, await seeded.text()).toBe(200);
    for (const g of gateways) await waitUntil(async () => (await keyed(g, 'tg_not_a_key')) === 401, 10_000);
    // Both nodes serve the config with the plan (one more snapshot) before the measured part.
    const version = ((await (await fetch(`${admin.adminUrl}/config`, { headers: auth })).headers.get('tollgate-config-version')) ?? '0') as string;
    for (const g of gateways) await waitUntil(async () => (await ready(g)) >= Number(version), 10_000);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([admin?.stop(), ...gateways.map((g) => g.stop())]);
    await up?.close();
    await db?.drop();
  });

  it('a new Consumer with its Subscription and key works on both nodes within one second; deleting them stops it as fast; no node reloads', async () => {
    const versions = await Promise.all(gateways.map(ready));
    const installed = gateways.map(installs);

    const t0 = Date.now();
    const applied = await post('/config', [doc('Consumer', 'zed', {}), doc('Subscription', 'zed-gold', { consumer: 'zed', plan: 'gold', start: '2026-01-01T00:00:00Z' })]);
    expect(applied.status).toBe(200);
    const body = (await applied.json()) as { version: number; seq?: number };
    // On the feed: the version did not move, the answer names the feed position instead.
    expect(body.version).toBe(versions[0]);
    expect(body.seq).toBeGreaterThan(0);
    const created = await post('/consumers/zed/keys', {});
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };
    for (const ms of await onEveryNode(key, 200)) expect(ms).toBeLessThan(1_000);
    expect(Date.now() - t0).toBeLessThan(2_000);
    // Each node reports the feed position its indexes are at: past the apply's.
    for (const g of gateways) {
      const status = (await (await fetch(`${g.statusUrl}/status`)).json()) as { config: { changeSeq: number | null } };
      expect(status.config.changeSeq).toBeGreaterThanOrEqual(body.seq as number);
    }

    // The subscription deleted: the key still authenticates, the API refuses it (403) on both nodes.
    const t1 = Date.now();
    expect((await del('/subscriptions/zed-gold')).status).toBe(204);
    for (const ms of await onEveryNode(key, 403)) expect(ms).toBeLessThan(1_000);
    // The consumer deleted: its key goes with it (401) on both nodes.
    expect((await del('/consumers/zed')).status).toBe(204);
    for (const ms of await onEveryNode(key, 401)) expect(ms).toBeLessThan(1_000);
    expect(Date.now() - t1).toBeLessThan(2_000);

    // Neither node changed its config version nor installed a new snapshot.
    expect(await Promise.all(gateways.map(ready))).toEqual(versions);
    expect(gateways.map(installs)).toEqual(installed);
  });

  it('a Subscription for one of the thousands of existing Consumers works on both nodes within one second without a reload', async () => {
    const installed = gateways.map(installs);
    // A Subscription for an existing consumer of the seeded thousands, then its key.
    expect((await post('/config', [doc('Subscription', 'c42-gold', { consumer: 'c42', plan: 'gold', start: '2026-01-01T00:00:00Z' })])).status).toBe(200);
    const { key } = (await (await post('/consumers/c42/keys', {})).json()) as { key: string };
    for (const ms of await onEveryNode(key, 200)) expect(ms).toBeLessThan(1_000);
    expect(gateways.map(installs)).toEqual(installed);
  });
});
