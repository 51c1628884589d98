import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateCluster, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { apiYaml } from './fixtures.js';

const TOKEN = 'e2e-admin-token-deltas-0123456789';
const HOST = 'keys.example.com';

// Two gateway processes on one Postgres and Redis. API keys are change-feed deltas: a key
// created (or revoked) through the admin works (or fails) on both nodes within one second, while
// the config version stays the same and no snapshot is rebuilt. The safety-net poll is set to
// a minute, so only the change feed can explain a fast pickup.
describe('API keys as deltas on two gateway nodes', () => {
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

  async function ready(g: TollgateProcess): Promise<{ version: number }> {
    return (await (await fetch(`${g.statusUrl}/readyz`)).json()) as { version: number };
  }

  const installs = (g: TollgateProcess) => g.output().split('config snapshot installed').length - 1;

  beforeAll(async () => {
    db = await createTestDatabase();
    up = await startRecordingUpstream('svc');
    const env = { DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), ADMIN_TOKEN: TOKEN, CONFIG_POLL_MS: '60000' };
    ({ admin, gateways } = await startTollgateCluster(env));
    const yaml = `${apiYaml(up.url, { host: HOST }).replace('  basePath: /orders\n', '  basePath: /orders\n  policies: [{ name: key-auth }]\n')}---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: {}
`;
    const res = await fetch(`${admin.adminUrl}/config`, { method: 'POST', headers: { ...auth, 'content-type': 'application/yaml' }, body: yaml });
    expect(res.status, await res.text()).toBe(200);
    for (const g of gateways) await waitUntil(async () => (await keyed(g, 'tg_not_a_key')) === 401, 5_000);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([admin?.stop(), ...gateways.map((g) => g.stop())]);
    await up?.close();
    await db?.drop();
  });

  it('a new key works on both nodes within one second and a revoked one fails on both within one second; the config version does not move', async () => {
    const versions = await Promise.all(gateways.map(ready));
    const installed = gateways.map(installs);

    const t0 = Date.now();
    const res = await fetch(`${admin.adminUrl}/consumers/acme/keys`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(201);
    const { id, key } = (await res.json()) as { id: string; key: string };
    const usable = await Promise.all(gateways.map((g) => waitUntil(async () => (await keyed(g, key)) === 200, 1_000)));
    for (const ms of usable) expect(ms).toBeLessThan(1_000);
    expect(Date.now() - t0).toBeLessThan(1_500);

    const t1 = Date.now();
    const del = await fetch(`${admin.adminUrl}/consumers/acme/keys/${id}`, { method: 'DELETE', headers: auth });
    expect(del.status).toBe(204);
    const refused = await Promise.all(gateways.map((g) => waitUntil(async () => (await keyed(g, key)) === 401, 1_000)));
    for (const ms of refused) expect(ms).toBeLessThan(1_000);
    expect(Date.now() - t1).toBeLessThan(1_500);
    // Revoked stays revoked (ordering: create, then revoke).
    for (const g of gateways) expect(await keyed(g, key)).toBe(401);

    // Neither node changed its config version nor installed a new snapshot.
    expect(await Promise.all(gateways.map(ready))).toEqual(versions);
    expect(gateways.map(installs)).toEqual(installed);
  });

  it('keys of a bulk create all work on both nodes within one second', async () => {
    const items = Array.from({ length: 300 }, (_, i) => ({ consumer: 'acme', name: `bulk-${i}` }));
    const res = await fetch(`${admin.adminUrl}/keys/bulk`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ items }) });
    expect(res.status).toBe(201);
    const keys = ((await res.json()) as { items: Array<{ key: string }> }).items.map((k) => k.key);
    const first = keys[0] as string;
    const last = keys.at(-1) as string;
    const waits = await Promise.all(gateways.map((g) => waitUntil(async () => (await keyed(g, first)) === 200 && (await keyed(g, last)) === 200, 1_000)));
    for (const ms of waits) expect(ms).toBeLessThan(1_000);
  });
});
