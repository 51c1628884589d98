import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { compileConfig } from '@tollgate/compiler';
import { buildGateway, type Gateway } from '@tollgate/gateway';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream } from '../gateway/harness.js';

const GOLD = 'tg_gold_key_0123456789abcdefghijkl';
const FREE = 'tg_free_key_0123456789abcdefghijkl';
const NONE = 'tg_none_key_0123456789abcdefghijkl';

const consumer = (name: string, key: string) => `---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: ${name} }
spec: { keys: [{ name: k, hash: ${createHash('sha256').update(key).digest('hex')} }] }
`;
const doc = (kind: string, name: string, spec: string) => `---\napiVersion: tollgate.dev/v1\nkind: ${kind}\nmetadata: { name: ${name} }\nspec: ${spec}\n`;

function resources(upstream: string, extraSubscriptions = ''): string {
  return (
    upstreamYaml('svc', [upstream]) +
    apiYaml('paid', `basePath: /paid\nusagePath: /_usage\nsubscriptionRequired: true\npolicies: [{ name: key-auth }]\nroutes: [{ name: all, destination: { upstream: svc } }]`) +
    apiYaml('open', `basePath: /open\npolicies: [{ name: key-auth }]\nroutes: [{ name: all, destination: { upstream: svc } }]`) +
    consumer('gold', GOLD) +
    consumer('free', FREE) +
    consumer('nobody', NONE) +
    doc('Plan', 'gold', '{ limits: [{ limit: 3, window: 1m }], quota: { limit: 5, timeZone: America/New_York, overage: hard } }') +
    doc('Plan', 'free', '{ quota: { limit: 1, overage: allow } }') +
    doc('Subscription', 'gold-paid', '{ consumer: gold, api: paid, plan: gold, start: "2026-01-01T00:00:00Z" }') +
    doc('Subscription', 'free-all', '{ consumer: free, plan: free, start: "2026-01-01T00:00:00Z", end: "2026-03-01T00:00:00Z" }') +
    extraSubscriptions
  );
}

describe('plans and subscriptions (in process, injected clock)', () => {
  let up: RecordingUpstream;
  let gw: Gateway;
  let port: number;
  // 2026-01-31 23:00 New York = 2026-02-01 04:00 UTC; start just before it.
  const clock = { t: Date.UTC(2026, 1, 1, 3, 58) };

  beforeAll(async () => {
    up = await startUpstream('svc');
    gw = buildGateway({ source: new TestConfigSource(yamlResources(resources(up.origin))), logger: pino({ level: 'silent' }), options: { configPollMs: 60_000 }, now: () => clock.t });
    await gw.ready;
    await gw.proxy.listen({ host: '127.0.0.1', port: 0 });
    port = (gw.proxy.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await gw?.close();
    await up?.close();
  });

  const get = (path: string, key: string) => send(port, { path, headers: { apikey: key } });

  it('a subscription-required API answers 403 SUBSCRIPTION_REQUIRED without an active subscription', async () => {
    const r = await get('/paid/x', NONE);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ code: 'SUBSCRIPTION_REQUIRED' });
    // No subscription needed on an API that does not require one.
    expect((await get('/open/x', NONE)).status).toBe(200);
  });

  it("the plan's rate limit and its calendar-month quota apply, and the quota rolls over in the plan's time zone", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get('/paid/x', GOLD)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    clock.t += 60_000; // next minute window; quota has 2 left of 5 (the 429 consumed nothing)
    const r = await get('/paid/x', GOLD);
    expect(r.status).toBe(200);
    expect(r.headers['x-quota-remaining']).toBe('1');
    expect(r.headers['ratelimit-policy']).toBe('"gold-1m";q=3;w=60, "gold-month";q=5');
    // 04:59:30 UTC is still January in New York: the quota resets at 05:00 UTC.
    clock.t = Date.UTC(2026, 1, 1, 4, 59, 30);
    expect((await get('/paid/x', GOLD)).headers['x-quota-reset']).toBe('30');
    const over = await get('/paid/x', GOLD);
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body)).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    clock.t = Date.UTC(2026, 1, 1, 5, 0, 0);
    const next = await get('/paid/x', GOLD);
    expect(next.status).toBe(200);
    expect(next.headers['x-quota-remaining']).toBe('4');
  });

  it('a subscriber reads its own usage on the configured path, without counting it; others get no one else\'s', async () => {
    const read = async (key: string) => {
      const r = await get('/paid/_usage', key);
      return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown>, headers: r.headers };
    };
    const first = await read(GOLD);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toContain('application/json');
    expect(first.body).toMatchObject({
      consumer: 'gold',
      subscription: { name: 'gold-paid', plan: 'gold', end: null },
      limits: [{ window: '1m', limit: 3, used: 1, remaining: 2 }],
      quota: { period: '2026-02', timeZone: 'America/New_York', overage: 'hard', limit: 5, used: 1, remaining: 4 },
    });
    expect((await read(GOLD)).body).toMatchObject({ quota: { used: 1 } });
    const none = await read(NONE);
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ consumer: 'nobody', subscription: null });
    expect((await send(port, { path: '/paid/_usage' })).status).toBe(401);
  });

  it('an all-APIs subscription applies to every API (shared buckets); overage "allow" keeps serving; it ends at "end"', async () => {
    clock.t = Date.UTC(2026, 1, 10);
    const a = await get('/paid/x', FREE);
    expect(a.status).toBe(200);
    expect(a.headers['x-quota-remaining']).toBe('0');
    const b = await get('/open/x', FREE);
    expect(b.status).toBe(200);
    expect(b.headers['x-quota-remaining']).toBe('0');
    clock.t = Date.UTC(2026, 2, 1);
    expect((await get('/paid/x', FREE)).status).toBe(403);
    // Without a subscription, an API that does not require one is served without plan limits.
    expect((await get('/open/x', FREE)).headers['x-quota-limit']).toBeUndefined();
  });

  it('the compiler refuses subscriptions to a missing consumer, plan or API', () => {
    const bad = yamlResources(resources('http://127.0.0.1:1', doc('Subscription', 'bad', '{ consumer: ghost, api: nope, plan: platinum, start: "2026-01-01T00:00:00Z" }')));
    const r = compileConfig(bad, 1);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => `${i.resource} ${i.path} ${i.code}`).sort()).toEqual([
      'Subscription/bad spec.api dangling_reference',
      'Subscription/bad spec.consumer dangling_reference',
      'Subscription/bad spec.plan dangling_reference',
    ]);
  });
});
