import { describe, expect, it } from 'vitest';
import type { PlanSpec, SubscriptionResource } from '@tollgate/model';
import { RequestContext } from '../context.js';
import type { LimitCounters, LimitWindow } from '../rate-limit/counters.js';
import type { PolicyDeps, PolicyInstance, PolicyReply } from '../types.js';
import { subscription } from './index.js';
import { subscriptionPolicySchema } from './schema.js';
import { SubscriptionTable, type SubscriptionEntry } from './table.js';

const T0 = Date.parse('2026-02-10T12:00:00Z');
const gold: PlanSpec = { limits: [{ limit: 2, window: '1m' }], failMode: 'open' } as unknown as PlanSpec;
const free: PlanSpec = { limits: [], failMode: 'open' } as unknown as PlanSpec;

/** In-process counters recording every call (the shared store's interface; no Redis needed here). */
function recordingCounters(): LimitCounters & { calls: Array<{ tag: string; keys: string[] }> } {
  const counts = new Map<string, number>();
  const calls: Array<{ tag: string; keys: string[] }> = [];
  return {
    calls,
    async consume(tag: string, windows: readonly LimitWindow[], cost: number) {
      calls.push({ tag, keys: windows.map((w) => w.key) });
      const cur = windows.map((w) => counts.get(`${tag}:${w.key}`) ?? 0);
      const allowed = windows.every((w, i) => w.limit < 0 || (cur[i] as number) + cost <= w.limit);
      if (allowed) windows.forEach((w, i) => counts.set(`${tag}:${w.key}`, (cur[i] as number) + cost));
      return { allowed, counts: windows.map((w) => counts.get(`${tag}:${w.key}`) ?? 0), resetMs: windows.map((w) => w.ttlMs) };
    },
    async peek(tag: string, keys: readonly string[]) {
      return keys.map((k) => counts.get(`${tag}:${k}`) ?? 0);
    },
  };
}

const deps = (counters: LimitCounters, now = () => T0): PolicyDeps => ({ logger: { warn: () => undefined, error: () => undefined }, counters, now });

function ctx(consumer: string | null, path = '/x', api = 'a'): RequestContext {
  const c = new RequestContext('r', '127.0.0.1', 'GET', path, {}, api, 'route', null);
  c.authenticate(consumer === null ? null : { name: consumer, customId: null, groups: [] });
  return c;
}

const sub = (name: string, consumer: string, extra: Partial<SubscriptionEntry> = {}): SubscriptionEntry => ({ name, consumer, start: '2026-01-01T00:00:00Z', plan: { name: 'gold', spec: gold }, ...extra });

function build(config: Record<string, unknown>, d: PolicyDeps): PolicyInstance {
  return subscription.build(subscriptionPolicySchema.parse(config), d);
}

/** `d` with `table` as the serving subscription index (what the gateway hands policies). */
const on = (d: PolicyDeps, table: SubscriptionTable): PolicyDeps => ({ ...d, subscriptions: { current: table } });

const subResource = (name: string, consumer: string, plan: string, extra: Record<string, string> = {}): SubscriptionResource =>
  ({ apiVersion: 'tollgate.dev/v1', kind: 'Subscription', metadata: { name, labels: {}, annotations: {} }, spec: { consumer, plan, start: '2026-01-01T00:00:00Z', ...extra } }) as unknown as SubscriptionResource;

const status = async (r: ReturnType<NonNullable<PolicyInstance['access']>>) => ((await r) as PolicyReply | undefined)?.status;

describe('SubscriptionTable', () => {
  it('finds the first active subscription in resource order, whatever its scope', () => {
    const t = new SubscriptionTable([
      sub('a-expired', 'alice', { end: '2026-02-01T00:00:00Z' }),
      sub('b-api', 'alice', { api: 'orders' }),
      sub('c-all', 'alice'),
      sub('d-product', 'alice', { product: 'shop' }),
      sub('e-bob-product', 'bob', { product: 'shop' }),
      sub('f-bob-all', 'bob', { start: '2026-03-01T00:00:00Z' }),
    ]);
    expect(t.size).toBe(6);
    expect(t.active('alice', 'orders', 'shop', T0)?.name).toBe('b-api');
    expect(t.active('alice', 'other', 'shop', T0)?.name).toBe('c-all');
    // Before a-expired ended, it came first.
    expect(t.active('alice', 'orders', 'shop', Date.parse('2026-01-15T00:00:00Z'))?.name).toBe('a-expired');
    // `end` is exclusive, `start` inclusive.
    expect(t.active('alice', 'other', 'x', Date.parse('2026-02-01T00:00:00Z'))?.name).toBe('c-all');
    expect(t.active('bob', 'orders', 'shop', T0)?.name).toBe('e-bob-product');
    expect(t.active('bob', 'orders', 'other', T0)).toBeUndefined();
    expect(t.active('bob', 'orders', 'other', Date.parse('2026-03-01T00:00:00Z'))?.name).toBe('f-bob-all');
    expect(t.active('carol', 'orders', 'shop', T0)).toBeUndefined();
    expect(t.namesFor('orders', 'shop')).toEqual(['a-expired', 'b-api', 'c-all', 'd-product', 'e-bob-product', 'f-bob-all']);
    expect(t.namesFor('other', 'x')).toEqual(['a-expired', 'c-all', 'f-bob-all']);
  });

  it('changes in place from the change feed: add, replace, delete, in name order; a plan it does not know waits for the snapshot', () => {
    const t = new SubscriptionTable([sub('b-all', 'alice')], new Map([['free', free]]));
    expect(t.plans.get('free')).toBe(free);
    expect(t.active('alice', 'orders', 'shop', T0)?.name).toBe('b-all');
    // a-api sorts before b-all: it wins where both apply, as a compile of the same set would decide.
    expect(t.applySubscriptions([{ name: 'a-api', resource: subResource('a-api', 'alice', 'free', { api: 'orders' }) }, { name: 'c-bob', resource: subResource('c-bob', 'bob', 'gold') }])).toEqual({ applied: 2, unresolved: [] });
    expect(t.active('alice', 'orders', 'shop', T0)?.name).toBe('a-api');
    expect(t.active('alice', 'other', 'shop', T0)?.name).toBe('b-all');
    expect(t.active('bob', 'other', 'x', T0)?.info).toEqual({ name: 'c-bob', plan: 'gold', planSpec: gold });
    expect(t.subscriptions.get('a-api')).toEqual({ consumer: 'alice', plan: 'free', spec: free });
    // Moved to another consumer and ended: the old consumer loses it, the new one has it until its end.
    t.applySubscriptions([{ name: 'a-api', resource: subResource('a-api', 'bob', 'free', { api: 'orders', end: '2026-02-01T00:00:00Z' }) }]);
    expect(t.active('alice', 'orders', 'shop', T0)?.name).toBe('b-all');
    expect(t.active('bob', 'orders', 'shop', Date.parse('2026-01-15T00:00:00Z'))?.name).toBe('a-api');
    expect(t.active('bob', 'orders', 'shop', T0)?.name).toBe('c-bob');
    t.applySubscriptions([{ name: 'c-bob', resource: null }, { name: 'b-all', resource: null }]);
    expect(t.active('bob', 'other', 'x', T0)).toBeUndefined();
    expect(t.active('alice', 'orders', 'shop', T0)).toBeUndefined();
    expect(t.size).toBe(1);
    expect(t.applySubscriptions([{ name: 'p', resource: subResource('p', 'carol', 'platinum') }])).toEqual({ applied: 1, unresolved: ['p'] });
    expect(t.active('carol', 'orders', 'shop', T0)).toBeUndefined();
    expect(() => SubscriptionTable.EMPTY.applySubscriptions([])).toThrow(/never changed/);
  });

  it('matches the per-API list it replaces on random subscription sets', () => {
    // Reference: the old compiler filtered each API's subscriptions in resource order and the
    // policy took the first active one of the consumer.
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const apis = [['a1', 'p1'], ['a2', 'p1'], ['a3', 'a3']] as const;
    for (let round = 0; round < 50; round++) {
      const entries: SubscriptionEntry[] = [];
      for (let i = 0; i < 12; i++) {
        const scope = rnd(3);
        const day = 1 + rnd(20);
        entries.push(sub(`s${String(i).padStart(2, '0')}`, `c${rnd(3)}`, {
          start: `2026-01-${String(day).padStart(2, '0')}T00:00:00Z`,
          ...(rnd(2) === 0 ? { end: `2026-01-${String(day + 1 + rnd(8)).padStart(2, '0')}T00:00:00Z` } : {}),
          ...(scope === 1 ? { api: (apis[rnd(3)] as readonly string[])[0] } : scope === 2 ? { product: rnd(2) === 0 ? 'p1' : 'a3' } : {}),
        }));
      }
      const table = new SubscriptionTable(entries);
      for (const [api, product] of apis) {
        const mine = entries.filter((s) => (s.api === undefined && s.product === undefined) || s.api === api || s.product === product);
        for (let day = 1; day <= 30; day++) {
          const t = Date.parse(`2026-01-${String(day).padStart(2, '0')}T06:00:00Z`);
          for (const c of ['c0', 'c1', 'c2']) {
            const expected = mine.filter((s) => s.consumer === c).find((s) => Date.parse(s.start) <= t && t < (s.end === undefined ? Infinity : Date.parse(s.end)));
            expect(table.active(c, api, product, t)?.name, `${api} ${c} day ${day}`).toBe(expected?.name);
          }
        }
      }
    }
  });
});

describe('subscription policy on a shared table', () => {
  it('every route shares the table and one limiter per plan: the same buckets, counted across routes', async () => {
    const counters = recordingCounters();
    const d = deps(counters);
    const table = new SubscriptionTable([sub('alice-gold', 'alice'), sub('bob-free', 'bob', { plan: { name: 'free', spec: free } })]);
    const r1 = build({ shared: true, api: 'a', product: 'a', required: true }, on(d, table));
    const r2 = build({ shared: true, api: 'b', product: 'b', required: true }, on(d, table));
    expect(await status(r1.access?.(ctx('alice')))).toBeUndefined();
    expect(await status(r2.access?.(ctx('alice', '/x', 'b')))).toBeUndefined();
    // The plan allows 2 a minute for the subscription, whichever API or route served them.
    expect(await status(r1.access?.(ctx('alice')))).toBe(429);
    expect(new Set(counters.calls.map((c) => c.tag))).toEqual(new Set(['sub:alice-gold']));
    expect(counters.calls[0]?.keys).toEqual([`60000:${Math.floor(T0 / 60000)}`]);
    // A plan without limits counts nothing and still marks the request.
    const c = ctx('bob');
    expect(await status(r2.access?.(c))).toBeUndefined();
    expect(c.subscription).toMatchObject({ name: 'bob-free', plan: 'free' });
    expect(counters.calls.length).toBe(3);
  });

  it('the record put on the context is built once per subscription, not per route', async () => {
    const d = deps(recordingCounters());
    const table = new SubscriptionTable([sub('alice-gold', 'alice')]);
    const c1 = ctx('alice');
    const c2 = ctx('alice', '/x', 'b');
    await build({ shared: true, api: 'a', product: 'a' }, on(d, table)).access?.(c1);
    await build({ shared: true, api: 'b', product: 'b' }, on(d, table)).access?.(c2);
    expect(c1.subscription).toBe(c2.subscription);
    expect(c1.subscription).toEqual({ name: 'alice-gold', plan: 'gold', planSpec: gold });
    expect(Object.isFrozen(c1.subscription)).toBe(true);
  });

  it('scopes: an api or product subscription only on its API; required APIs refuse the rest', async () => {
    const d = deps(recordingCounters());
    const table = new SubscriptionTable([sub('only-a', 'alice', { api: 'a', plan: { name: 'free', spec: free } }), sub('shop', 'bob', { product: 'shop', plan: { name: 'free', spec: free } })]);
    const a = build({ shared: true, api: 'a', product: 'a', required: true }, on(d, table));
    const b = build({ shared: true, api: 'b', product: 'shop', required: true }, on(d, table));
    const open = build({ shared: true, api: 'c', product: 'c' }, on(d, table));
    expect(await status(a.access?.(ctx('alice')))).toBeUndefined();
    expect(await status(b.access?.(ctx('alice')))).toBe(403);
    expect((await b.access?.(ctx(null))) as PolicyReply).toMatchObject({ status: 403, body: { code: 'SUBSCRIPTION_REQUIRED' } });
    expect(await status(b.access?.(ctx('bob')))).toBeUndefined();
    expect(await status(a.access?.(ctx('bob')))).toBe(403);
    const c = ctx('alice');
    expect(await status(open.access?.(c))).toBeUndefined();
    expect(c.subscription ?? null).toBeNull();
  });

  it('the usage path answers the subscription of this API, or null, without counting', async () => {
    const counters = recordingCounters();
    const d = deps(counters);
    const table = new SubscriptionTable([sub('only-a', 'alice', { api: 'a', end: '2026-12-01T00:00:00Z' })]);
    const a = build({ shared: true, api: 'a', product: 'a', usagePath: '/a/_usage' }, on(d, table));
    const b = build({ shared: true, api: 'b', product: 'b', usagePath: '/b/_usage' }, on(d, table));
    const ra = (await a.access?.(ctx('alice', '/a/_usage'))) as PolicyReply;
    expect(JSON.parse(ra.body as string)).toMatchObject({ consumer: 'alice', subscription: { name: 'only-a', plan: 'gold', start: '2026-01-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' }, limits: [{ limit: 2, used: 0 }] });
    const rb = (await b.access?.(ctx('alice', '/b/_usage', 'b'))) as PolicyReply;
    expect(JSON.parse(rb.body as string)).toEqual({ consumer: 'alice', subscription: null });
    expect(((await a.access?.(ctx(null, '/a/_usage'))) as PolicyReply).body).toMatchObject({ code: 'CONSUMER_REQUIRED' });
    expect(counters.calls).toEqual([]);
  });

  it('a shared policy reads the serving index per request: a subscription applied in place counts at once, a new table gets its own limiters', async () => {
    const counters = recordingCounters();
    const d = deps(counters);
    const source = { current: new SubscriptionTable([], new Map([['gold', gold]])) };
    const p = build({ shared: true, api: 'a', product: 'a', required: true }, { ...d, subscriptions: source });
    expect(await status(p.access?.(ctx('alice')))).toBe(403);
    source.current.applySubscriptions([{ name: 'alice-gold', resource: subResource('alice-gold', 'alice', 'gold') }]);
    expect(await status(p.access?.(ctx('alice')))).toBeUndefined();
    source.current = new SubscriptionTable([sub('alice-gold', 'alice')]);
    expect(await status(p.access?.(ctx('alice')))).toBeUndefined();
    // The counts are per subscription in the shared store: the limit holds across the swap.
    expect(await status(p.access?.(ctx('alice')))).toBe(429);
    // Without a serving index, nobody is subscribed.
    expect(await status(build({ shared: true, api: 'a', product: 'a', required: true }, d).access?.(ctx('alice')))).toBe(403);
  });

  it('a hand-written list still works, and a table cannot come from YAML or JSON', async () => {
    const d = deps(recordingCounters());
    const p = build({ required: true, subscriptions: [{ name: 's', consumer: 'alice', start: '2026-01-01T00:00:00Z', plan: { name: 'free', spec: { limits: [] } } }] }, d);
    expect(await status(p.access?.(ctx('alice')))).toBeUndefined();
    expect(await status(p.access?.(ctx('bob')))).toBe(403);
    expect(subscriptionPolicySchema.safeParse({ table: { byConsumer: {} } }).success).toBe(false);
  });
});
