import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { get, metric, startRedisFaultCluster, type RedisFaultCluster } from './redis-harness.js';

/**
 * Redis unavailable under two gateway processes, in the two ways it fails: killed (connections
 * refused: commands fail at once) and hung (a frozen proxy: connections open, no answer, until the
 * command deadline). Every limited route answers per its fail mode (closed: 503
 * LIMITS_UNAVAILABLE with Retry-After; open: decided per node), within the deadline, never 500;
 * unlimited routes are unaffected; local decisions show in `tollgate_limits_local_decisions_total`
 * and the logs; limits are shared again once Redis answers.
 */

const DEADLINE_MS = 300;

function yaml(sfx: string): string {
  const api = (name: string, policy: string) => `kind: Api\nmetadata: { name: ${name}-${sfx} }\nspec:\n  basePath: /${name}\n  policies: [${policy}]\n  routes: [{ name: all, destination: { upstream: svc } }]`;
  const docs = [
    api('rl-open', '{ name: rate-limit, config: { by: route, failMode: open, limits: [{ limit: 4, window: 1h }] } }'),
    api('rl-closed', '{ name: rate-limit, config: { by: route, failMode: closed, limits: [{ limit: 1000, window: 1h }] } }'),
    api('free', ''),
    `kind: Api\nmetadata: { name: paid-${sfx} }\nspec:\n  basePath: /paid\n  subscriptionRequired: true\n  policies: [{ name: key-auth }]\n  routes: [{ name: all, destination: { upstream: svc } }]`,
    `kind: Plan\nmetadata: { name: p-open-${sfx} }\nspec: { limits: [{ limit: 1000, window: 1h }], quota: { limit: 100000 }, failMode: open }`,
    `kind: Plan\nmetadata: { name: p-closed-${sfx} }\nspec: { limits: [{ limit: 1000, window: 1h }], quota: { limit: 100000 }, failMode: closed }`,
    ...['open', 'closed'].flatMap((m) => [
      `kind: Consumer\nmetadata: { name: c-${m}-${sfx} }\nspec: { keys: [{ name: k, key: tg_${m}_${sfx}_0123456789abcdefghij }] }`,
      `kind: Subscription\nmetadata: { name: s-${m}-${sfx} }\nspec: { consumer: c-${m}-${sfx}, plan: p-${m}-${sfx}, start: "2020-01-01T00:00:00Z" }`,
    ]),
  ];
  return docs.map((d) => `apiVersion: tollgate.dev/v1\n${d}\n`).join('---\n');
}

describe('Redis down: killed, and hung', () => {
  let c: RedisFaultCluster;
  const key = (m: string) => ({ apikey: `tg_${m}_${c.suffix}_0123456789abcdefghij` });

  beforeAll(async () => {
    c = await startRedisFaultCluster({ proxy: true, env: { REDIS_COMMAND_TIMEOUT_MS: String(DEADLINE_MS), USAGE_FLUSH_MS: '200', QUOTA_HOLD_MS: '600', LOG_LEVEL: 'info', ACCESS_LOG: 'false' } });
    await c.apply(yaml(c.suffix));
    // Quotas are decided once the new Redis is seeded (and its hold is over).
    for (const g of c.gateways) for (const m of ['open', 'closed']) await waitUntil(async () => (await get(g, '/paid/x', key(m))).status === 200, 20_000, 100);
  }, 60_000);

  afterAll(async () => {
    await c?.stop();
  });

  /** One round over both gateways: every route's statuses and the slowest answer. */
  async function round(gateways: TollgateProcess[]) {
    const calls = gateways.flatMap((g) => [
      get(g, '/rl-closed/x').then((r) => ({ what: 'rl-closed', r })),
      get(g, '/free/x').then((r) => ({ what: 'free', r })),
      get(g, '/paid/x', key('open')).then((r) => ({ what: 'paid-open', r })),
      get(g, '/paid/x', key('closed')).then((r) => ({ what: 'paid-closed', r })),
    ]);
    return Promise.all(calls);
  }

  const expectFailModes = (answers: Awaited<ReturnType<typeof round>>, maxMs: number) => {
    for (const { what, r } of answers) {
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).not.toBe(500);
      expect(r.ms, what).toBeLessThan(maxMs);
      if (what === 'rl-closed' || what === 'paid-closed') {
        expect(r.status, what).toBe(503);
        expect(r.body, what).toMatchObject({ code: 'LIMITS_UNAVAILABLE' });
        expect(r.headers.get('retry-after'), what).toBe('1');
        expect(r.headers.get('content-type'), what).toContain('application/problem+json');
      } else {
        expect(r.status, what).toBe(200);
      }
    }
  };

  async function localDecisions(reason: string): Promise<number> {
    let n = 0;
    for (const g of c.gateways) n += await metric(g, 'tollgate_limits_local_decisions_total', `reason="${reason}"`);
    return n;
  }

  it('hung (no answer): each request is decided within the deadline per its fail mode; fail open still limits per node', async () => {
    const [a, b] = c.gateways as [TollgateProcess, TollgateProcess];
    const before = await localDecisions('timeout');
    c.proxy!.freeze();
    try {
      // Concurrent rounds: nothing queues behind the hung connection.
      const answers = (await Promise.all([round([a, b]), round([a, b]), round([a, b])])).flat();
      expectFailModes(answers, DEADLINE_MS + 1_500);
      // rate-limit fail open: 4 per hour per node while Redis cannot decide.
      const open: number[] = [];
      for (let i = 0; i < 6; i++) open.push((await get(a, '/rl-open/x')).status);
      expect(open).toEqual([200, 200, 200, 200, 429, 429]);
      expect((await get(b, '/rl-open/x')).status).toBe(200);
      expect(await localDecisions('timeout')).toBeGreaterThanOrEqual(before + 3 * 6 + 7);
    } finally {
      c.proxy!.thaw();
    }
    // Redis answers again: limits shared again, and the recovery is logged with the count.
    await waitUntil(async () => (await get(a, '/rl-closed/x')).status === 200 && (await get(b, '/rl-closed/x')).status === 200, 15_000, 100);
    await waitUntil(async () => (await get(a, '/paid/x', key('closed'))).status === 200, 15_000, 100);
    for (const g of [a, b]) expect(g.output()).toMatch(/counter store unreachable; limiting per node/);
    await waitUntil(async () => /requests were decided without it/.test(a.output()), 5_000, 100);
  }, 60_000);

  it('killed (connections refused): statuses per fail mode at once; unseeded after it restarts empty, then shared again', async () => {
    const [a, b] = c.gateways as [TollgateProcess, TollgateProcess];
    // A call already written when the server died may end at the deadline instead of on the
    // connection error (a loaded machine sees the close late): both are decisions made without Redis.
    const withoutRedis = async () => (await localDecisions('error')) + (await localDecisions('timeout'));
    const before = await withoutRedis();
    await c.redis.stop();
    const answers = (await Promise.all([round([a, b]), round([a, b])])).flat();
    expectFailModes(answers, 1_500);
    expect(await withoutRedis()).toBeGreaterThan(before);
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();

    await c.redis.start();
    // Back empty: rate limits are shared at once; plan quotas wait for the re-seed and its hold (503 for fail closed meanwhile).
    await waitUntil(async () => (await get(a, '/rl-closed/x')).status === 200, 15_000, 50);
    await waitUntil(async () => (await get(a, '/paid/x', key('closed'))).status === 200 && (await get(b, '/paid/x', key('closed'))).status === 200, 15_000, 50);
    expect(await localDecisions('unseeded')).toBeGreaterThan(0);
    const after = await round([a, b]);
    for (const { what, r } of after) expect(r.status, what).toBe(200);
  }, 60_000);
});
