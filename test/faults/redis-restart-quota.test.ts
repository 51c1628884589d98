import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quotaKey } from '@tollgate/metering';
import { waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { currentPeriod, get, metric, sleep, startRedisFaultCluster, usageOf, type RedisFaultCluster } from './redis-harness.js';

/**
 * Issue #15 item 2: Redis killed and restarted EMPTY while a consumer's hard monthly quota is near
 * its end, across two gateway processes. Before the fix the gateways counted in the empty Redis
 * at once and the re-seed took max(current, rolled up): a consumer with 10 units left got 30.
 * Now quota calls wait for the seed (and its hold), during which the plan's fail mode decides; the
 * seed sets the counter to the rolled-up units and each node adds what it counted but had not
 * flushed. Fail closed: the consumer gets exactly what is left. Fail open: each node grants at most
 * what was left at the last count it saw. Both: the rollups hold exactly what clients were served,
 * and the quota counter equals them.
 */

const LIMIT = 60;
const BEFORE = 50;
const HOLD_MS = 3_000;

interface Consumer {
  name: string;
  key: string;
  failMode: 'open' | 'closed';
}

function yaml(sfx: string, consumers: Consumer[]): string {
  const docs = [
    `kind: Api\nmetadata: { name: paid-${sfx} }\nspec:\n  basePath: /paid\n  subscriptionRequired: true\n  policies: [{ name: key-auth }]\n  routes: [{ name: all, destination: { upstream: svc } }]`,
    ...consumers.flatMap((c) => [
      `kind: Plan\nmetadata: { name: plan-${c.name} }\nspec: { quota: { limit: ${LIMIT}, overage: hard }, failMode: ${c.failMode} }`,
      `kind: Consumer\nmetadata: { name: ${c.name} }\nspec: { keys: [{ name: k, key: ${c.key} }] }`,
      `kind: Subscription\nmetadata: { name: sub-${c.name} }\nspec: { consumer: ${c.name}, plan: plan-${c.name}, start: "2020-01-01T00:00:00Z" }`,
    ]),
  ];
  return docs.map((d) => `apiVersion: tollgate.dev/v1\n${d}\n`).join('---\n');
}

describe('hard quota near its end, Redis killed and restarted empty, two gateways', () => {
  let c: RedisFaultCluster;
  let consumers: Consumer[];

  beforeAll(async () => {
    c = await startRedisFaultCluster({ env: { USAGE_FLUSH_MS: '1000', QUOTA_HOLD_MS: String(HOLD_MS) } });
    consumers = (['closed', 'open'] as const).map((failMode) => ({ name: `q${failMode}-${c.suffix}`, key: `tg_q${failMode}_${c.suffix}_0123456789abcdefghij`, failMode }));
    const warm: Consumer = { name: `qwarm-${c.suffix}`, key: `tg_qwarm_${c.suffix}_0123456789abcdefghij`, failMode: 'closed' };
    await c.apply(yaml(c.suffix, [...consumers, warm]));
    // A new Redis is seeded on first use and quotas are held for HOLD_MS: wait until both nodes decide quotas.
    for (const g of c.gateways) await waitUntil(async () => (await get(g, '/paid/x', { apikey: warm.key })).status === 200, 20_000, 100);
  }, 60_000);

  afterAll(async () => {
    await c?.stop();
  });

  it('fail closed: exactly what is left, 503 LIMITS_UNAVAILABLE until the seed; fail open: at most what each node last saw left; rollups = served = quota counter', async () => {
    const [a, b] = c.gateways as [TollgateProcess, TollgateProcess];
    const served = new Map<string, number>();
    const answered = new Map<string, number>();
    const lastRemaining = new Map<string, number>();
    const send = async (g: TollgateProcess, cons: Consumer) => {
      const r = await get(g, '/paid/x', { apikey: cons.key });
      answered.set(cons.name, (answered.get(cons.name) ?? 0) + 1);
      expect([200, 429, 503], JSON.stringify(r.body)).toContain(r.status);
      if (r.status === 200) {
        served.set(cons.name, (served.get(cons.name) ?? 0) + 1);
        lastRemaining.set(`${cons.name}@${g.proxyUrl}`, Number(r.headers.get('x-quota-remaining')));
      }
      return r;
    };

    // 50 of 60 used, over both nodes; the last ones just before the kill (not flushed yet).
    for (let i = 0; i < BEFORE; i++) for (const cons of consumers) expect((await send(i % 2 === 0 ? a : b, cons)).status).toBe(200);
    const leftSeen = [a, b].reduce((sum, g) => sum + (lastRemaining.get(`${consumers[1]!.name}@${g.proxyUrl}`) ?? 0), 0);
    expect(leftSeen).toBeGreaterThanOrEqual(2 * (LIMIT - BEFORE));
    await c.redis.stop();
    await c.redis.start();

    // Traffic on both nodes for every consumer until the quota refuses on both nodes for a while.
    const after = new Map(consumers.map((x) => [x.name, { ok: 0, unavailable: 0, refusedInARow: 0, statuses: [] as number[] }]));
    const started = Date.now();
    while (Date.now() - started < 25_000) {
      for (const cons of consumers) {
        const st = after.get(cons.name)!;
        for (const g of [a, b]) {
          const r = await send(g, cons);
          st.statuses.push(r.status);
          if (r.status === 200) st.ok += 1;
          if (r.status === 503) {
            st.unavailable += 1;
            expect(r.body).toMatchObject({ code: 'LIMITS_UNAVAILABLE' });
            expect(r.headers.get('retry-after')).toBe('1');
          }
          if (r.status === 429) expect(r.body).toMatchObject({ code: 'QUOTA_EXCEEDED' });
          st.refusedInARow = r.status === 429 ? st.refusedInARow + 1 : 0;
        }
      }
      if ([...after.values()].every((s) => s.refusedInARow >= 10)) break;
      await sleep(25);
    }
    const closed = after.get(consumers[0]!.name)!;
    const open = after.get(consumers[1]!.name)!;
    expect(closed.refusedInARow, closed.statuses.join(',')).toBeGreaterThanOrEqual(10);
    expect(open.refusedInARow, open.statuses.join(',')).toBeGreaterThanOrEqual(10);

    // Fail closed: exactly the 10 units left, and the quota was unavailable (503) until seeded.
    expect(closed.ok, closed.statuses.join(',')).toBe(LIMIT - BEFORE);
    expect(closed.unavailable).toBeGreaterThan(0);
    // Fail open: no 503; each node granted at most what was left at the last count it saw.
    expect(open.unavailable).toBe(0);
    expect(open.ok).toBeGreaterThanOrEqual(LIMIT - BEFORE);
    expect(open.ok).toBeLessThanOrEqual(LIMIT - BEFORE + leftSeen);

    // The local decisions are visible in the metrics.
    let unseeded = 0;
    for (const g of [a, b]) unseeded += await metric(g, 'tollgate_limits_local_decisions_total', 'reason="unseeded"');
    expect(unseeded).toBeGreaterThan(0);

    // Rollups hold exactly what was served (billable = upstream 2xx) and every answer; the Redis
    // quota counter equals the served units.
    const redis = c.client();
    for (const cons of consumers) {
      const key = quotaKey('tollgate:', `sub-${cons.name}`, currentPeriod());
      await waitUntil(async () => {
        const u = await usageOf(c.admin, cons.name);
        return u.billableRequests === served.get(cons.name) && u.requests === answered.get(cons.name) && Number(await redis.get(key)) === served.get(cons.name);
      }, 15_000, 200).catch(() => undefined);
      const u = await usageOf(c.admin, cons.name);
      expect(u.billableRequests, cons.name).toBe(served.get(cons.name));
      expect(u.requests, cons.name).toBe(answered.get(cons.name));
      expect(Number(await redis.get(key)), cons.name).toBe(served.get(cons.name));
    }
    expect(served.get(consumers[0]!.name)).toBe(LIMIT);
  }, 80_000);
});
