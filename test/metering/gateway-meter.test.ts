import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { buildGateway, type Gateway } from '@tollgate/gateway';
import { migratePglite, openPglite, usageRollups, type Database, type PgliteHandle } from '@tollgate/db';
import { Meter } from '@tollgate/metering';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream } from '../gateway/harness.js';

const GOLD = 'tg_meter_gold_0123456789abcdefghij';
const LONE = 'tg_meter_lone_0123456789abcdefghij';
const hash = (k: string) => createHash('sha256').update(k).digest('hex');
const doc = (kind: string, name: string, spec: string) => `---\napiVersion: tollgate.dev/v1\nkind: ${kind}\nmetadata: { name: ${name} }\nspec: ${spec}\n`;

function resources(upstream: string): string {
  return (
    upstreamYaml('svc', [upstream]) +
    apiYaml(
      'shop',
      `version: v3
basePath: /shop
policies: [{ name: key-auth }]
routes:
  - { name: heavy, match: [{ path: { prefix: /heavy } }], destination: { upstream: svc }, metering: { units: 5, metric: exports } }
  - { name: local, match: [{ path: { prefix: /local } }], directResponse: { status: 200, body: ok } }
  - { name: items, match: [{ path: { prefix: /items } }], destination: { upstream: svc } }`,
    ) +
    doc('Consumer', 'gold', `{ keys: [{ name: k, hash: ${hash(GOLD)} }] }`) +
    doc('Consumer', 'lone', `{ keys: [{ name: k, hash: ${hash(LONE)} }] }`) +
    doc('Plan', 'gold', '{ quota: { limit: 12, timeZone: Europe/Berlin }, billing: { currency: EUR, timeZone: Europe/Berlin } }') +
    doc('Subscription', 'gold-shop', '{ consumer: gold, api: shop, plan: gold, start: "2020-01-01T00:00:00Z" }')
  );
}

describe('the gateway meters what it answers (in process, PGlite, injected clock)', () => {
  let up: RecordingUpstream;
  let gw: Gateway;
  let pglite: PgliteHandle;
  let db: Database;
  let meter: Meter;
  let port: number;
  // 2026-11-30 23:59:59.900 in Berlin = 22:59:59.900 UTC: still November for the gold plan.
  const clock = { t: Date.UTC(2026, 10, 30, 22, 59, 59, 900) };

  beforeAll(async () => {
    up = await startUpstream('svc');
    pglite = await openPglite();
    await migratePglite(pglite.db);
    db = pglite.db as unknown as Database;
    meter = new Meter({ db, logger: pino({ level: 'silent' }), intervalMs: 60_000, now: () => clock.t });
    gw = buildGateway({ source: new TestConfigSource(yamlResources(resources(up.origin))), logger: pino({ level: 'silent' }), options: { configPollMs: 60_000, metrics: true }, now: () => clock.t, meter });
    await gw.ready;
    await gw.proxy.listen({ host: '127.0.0.1', port: 0 });
    port = (gw.proxy.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await gw?.close();
    await meter?.close();
    await up?.close();
    await pglite?.close();
  });

  const get = (path: string, key?: string) => send(port, { path, headers: key === undefined ? {} : { apikey: key } });

  it("charges the plan quota in the route's units: 5-unit requests against a quota of 12 pass twice, then 429", async () => {
    const a = await get('/shop/heavy/1', GOLD);
    const b = await get('/shop/heavy/2', GOLD);
    const c = await get('/shop/heavy/3', GOLD);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 429]);
    expect(a.headers['x-quota-remaining']).toBe('7');
    expect(b.headers['x-quota-remaining']).toBe('2');
    // A 1-unit request still fits.
    expect((await get('/shop/items/1', GOLD)).status).toBe(200);
  });

  it('records subscription, plan, API version, route units and metric, source and billable for every routed answer', async () => {
    expect((await get('/shop/local/1', GOLD)).status).toBe(200);
    expect((await get('/shop/items/2', LONE)).status).toBe(200);
    expect((await get('/shop/items/3')).status).toBe(401);
    expect((await get('/nowhere')).status).toBe(404);
    // The next request arrives in December (Berlin) although the clock moved by 1 s only.
    clock.t += 1_000;
    expect((await get('/shop/items/4', GOLD)).status).toBe(200);
    expect(meter.backlogRequests()).toBe(8);
    await meter.flush(true);
    expect(meter.backlogRequests()).toBe(0);
    const rows = await db.select().from(usageRollups);
    const view = rows
      .map((r) => [r.period, r.consumer, r.subscription, r.plan, r.apiVersion, r.route, r.statusClass, r.source, r.billable, r.metric, r.requests, r.units].join(' '))
      .sort();
    expect(view).toEqual(
      [
        '2026-11    v3 items 4xx gateway false requests 1 1',
        '2026-11 gold gold-shop gold v3 heavy 2xx upstream true exports 2 10',
        '2026-11 gold gold-shop gold v3 heavy 4xx gateway false exports 1 5',
        '2026-11 gold gold-shop gold v3 items 2xx upstream true requests 1 1',
        '2026-11 gold gold-shop gold v3 local 2xx gateway false requests 1 1',
        '2026-11 lone   v3 items 2xx upstream false requests 1 1',
        '2026-12 gold gold-shop gold v3 items 2xx upstream true requests 1 1',
      ].sort(),
    );
    for (const r of rows) expect(r.hour.getTime() % 3_600_000).toBe(0);
  });

  it('exposes the flush lag, backlog and failure metrics on /metrics', async () => {
    await get('/shop/items/5', LONE);
    const body = (await gw.status.inject({ method: 'GET', url: '/metrics' })).body;
    expect(body).toMatch(/^tollgate_usage_backlog_requests 1$/m);
    expect(body).toMatch(/^tollgate_usage_flush_lag_seconds \d/m);
    expect(body).toMatch(/^tollgate_usage_flush_failures_total\{store="postgres"\} 0$/m);
    await meter.flush(true);
    expect((await gw.status.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^tollgate_usage_backlog_requests 0$/m);
  });
});
