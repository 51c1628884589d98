import { RequestContext, ipBucket, MonthCalendar, rateLimit, rateLimitSchema, type LimitCounters, type PolicyReply } from '@tollgate/policies';
import { createMemoryCounterStore } from '@tollgate/stores';
import { describe, expect, it } from 'vitest';

const logs: string[] = [];
const logger = { warn: (_o: object, m?: string) => logs.push(`warn ${m}`), error: (_o: object, m?: string) => logs.push(`error ${m}`) };

function ctx(ip = '192.0.2.1', headers: Record<string, string> = {}, consumer: string | null = null): RequestContext {
  const c = new RequestContext('r', ip, 'GET', '/', headers, 'api', 'route', null);
  if (consumer !== null) c.authenticate({ name: consumer, customId: null, groups: [] });
  return c;
}

/** Like the runtime: one instance for the access phase and another for the response phase. */
function build(config: unknown, clock: { t: number }, counters?: LimitCounters) {
  const store = createMemoryCounterStore({ now: () => clock.t });
  const deps = { logger, counters: counters ?? store, fallbackCounters: createMemoryCounterStore({ now: () => clock.t }), now: () => clock.t };
  const access = rateLimit.build(rateLimitSchema.parse(config), deps);
  const response = rateLimit.build(rateLimitSchema.parse(config), deps);
  return { access: access.access, response: response.response };
}

async function call(p: ReturnType<typeof build>, c: RequestContext): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; reply?: PolicyReply }> {
  const reply = await p.access?.(c);
  if (reply) return { status: reply.status, headers: { ...reply.headers }, reply };
  const res = { status: 200, headers: {} as Record<string, string | string[] | undefined> };
  p.response?.(c, res);
  return res;
}

describe('rate-limit policy (in process, injected clock)', () => {
  it('enforces several windows at once, with RateLimit, RateLimit-Policy and X-RateLimit-* headers', async () => {
    const clock = { t: Date.UTC(2026, 0, 1, 0, 0, 0) };
    const p = build({ limits: [{ limit: 2, window: '1s' }, { limit: 3, window: '1h' }] }, clock);
    const a = await call(p, ctx());
    expect(a.status).toBe(200);
    expect(a.headers['ratelimit-policy']).toBe('"default-1s";q=2;w=1, "default-1h";q=3;w=3600');
    expect(a.headers.ratelimit).toBe('"default-1s";r=1;t=1, "default-1h";r=2;t=3600');
    expect(a.headers['x-ratelimit-limit']).toBe('2');
    expect(a.headers['x-ratelimit-remaining']).toBe('1');
    expect((await call(p, ctx())).headers['x-ratelimit-remaining']).toBe('0');
    const refused = await call(p, ctx());
    expect(refused.status).toBe(429);
    expect(refused.reply?.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused.headers['retry-after']).toBe('1');
    clock.t += 1_000; // next second window: the hour window has one left
    expect((await call(p, ctx())).headers['x-ratelimit-remaining']).toBe('0');
    clock.t += 1_000;
    const hour = await call(p, ctx());
    expect(hour.status).toBe(429);
    expect(hour.headers['retry-after']).toBe(String(3600 - 2));
    // Another client has its own buckets.
    expect((await call(p, ctx('192.0.2.2'))).status).toBe(200);
  });

  it('keys by consumer, by credential, by header and by route', async () => {
    const clock = { t: 0 };
    const byConsumer = build({ limits: [{ limit: 1, window: '1m' }] }, clock);
    expect((await call(byConsumer, ctx('10.0.0.1', {}, 'acme'))).status).toBe(200);
    expect((await call(byConsumer, ctx('10.0.0.2', {}, 'acme'))).status).toBe(429);
    expect((await call(byConsumer, ctx('10.0.0.2', {}, 'other'))).status).toBe(200);
    const byHeader = build({ by: 'header', header: 'x-tenant', limits: [{ limit: 1, window: '1m' }] }, clock);
    expect((await call(byHeader, ctx('10.0.0.1', { 'x-tenant': 'a' }))).status).toBe(200);
    expect((await call(byHeader, ctx('10.0.0.9', { 'x-tenant': 'a' }))).status).toBe(429);
    expect((await call(byHeader, ctx('10.0.0.1', { 'x-tenant': 'b' }))).status).toBe(200);
    // Per credential: two keys of one consumer count apart; unauthenticated callers by client IP.
    const byCredential = build({ by: 'credential', limits: [{ limit: 1, window: '1m' }] }, clock);
    const withKey = (credential: string) => {
      const c = new RequestContext('r', '10.0.0.1', 'GET', '/', {}, 'api', 'route', null);
      c.authenticate({ name: 'acme', customId: null, groups: [] }, null, credential);
      return c;
    };
    expect((await call(byCredential, withKey('key:aaaa'))).status).toBe(200);
    expect((await call(byCredential, withKey('key:aaaa'))).status).toBe(429);
    expect((await call(byCredential, withKey('key:bbbb'))).status).toBe(200);
    expect((await call(byCredential, ctx('10.0.0.7'))).status).toBe(200);
    expect((await call(byCredential, ctx('10.0.0.7'))).status).toBe(429);
    const byRoute = build({ by: 'route', limits: [{ limit: 1, window: '1m' }] }, clock);
    expect((await call(byRoute, ctx('10.0.0.1'))).status).toBe(200);
    expect((await call(byRoute, ctx('10.0.0.2'))).status).toBe(429);
  });

  it('groups IPv6 clients by /64', async () => {
    expect(ipBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(ipBucket('2001:db8:1:2::ffff')).toBe('2001:db8:1:2::/64');
    expect(ipBucket('2001:DB8::1')).toBe('2001:db8:0:0::/64');
    expect(ipBucket('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(ipBucket('192.0.2.1')).toBe('192.0.2.1');
    const clock = { t: 0 };
    const p = build({ by: 'ip', limits: [{ limit: 1, window: '1m' }] }, clock);
    expect((await call(p, ctx('2001:db8:1:2::1'))).status).toBe(200);
    expect((await call(p, ctx('2001:db8:1:2:9:9:9:9'))).status).toBe(429);
    expect((await call(p, ctx('2001:db8:1:3::1'))).status).toBe(200);
  });

  it('a monthly quota follows calendar months in its time zone and rolls over at local midnight', async () => {
    // 2026-01-31 23:30 UTC is already February 1st in Berlin (UTC+1).
    const clock = { t: Date.UTC(2026, 0, 31, 23, 30) };
    const p = build({ quota: { limit: 2, timeZone: 'Europe/Berlin' } }, clock);
    const first = await call(p, ctx());
    expect(first.headers['x-quota-limit']).toBe('2');
    expect(first.headers['x-quota-remaining']).toBe('1');
    // February has 28 days in 2026: reset at 2026-02-28 23:00 UTC.
    expect(first.headers['x-quota-reset']).toBe(String((Date.UTC(2026, 1, 28, 23) - clock.t) / 1000));
    await call(p, ctx());
    const over = await call(p, ctx());
    expect(over.status).toBe(429);
    expect(over.reply?.body).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    clock.t = Date.UTC(2026, 1, 28, 22, 59, 59);
    expect((await call(p, ctx())).status).toBe(429);
    clock.t = Date.UTC(2026, 1, 28, 23, 0, 0);
    const next = await call(p, ctx());
    expect(next.status).toBe(200);
    expect(next.headers['x-quota-remaining']).toBe('1');
    // UTC quota: a 31-day month is not a 30-day window.
    const cal = new MonthCalendar('UTC');
    expect(cal.periodAt(Date.UTC(2026, 2, 31, 12))).toMatchObject({ key: '2026-03', end: Date.UTC(2026, 3, 1) });
    expect(new MonthCalendar('America/New_York').periodAt(Date.UTC(2026, 2, 15))).toMatchObject({ key: '2026-03', start: Date.UTC(2026, 2, 1, 5), end: Date.UTC(2026, 3, 1, 4) });
  });

  it('overage "allow" keeps serving past the quota and reports 0 remaining; "hard" refuses', async () => {
    const clock = { t: Date.UTC(2026, 5, 10) };
    const p = build({ quota: { limit: 1, overage: 'allow' } }, clock);
    for (let i = 0; i < 3; i++) {
      const r = await call(p, ctx());
      expect(r.status).toBe(200);
      expect(r.headers['x-quota-remaining']).toBe('0');
    }
  });

  it('weights requests by cost', async () => {
    const clock = { t: 0 };
    const p = build({ cost: 4, limits: [{ limit: 10, window: '1m' }] }, clock);
    expect((await call(p, ctx())).headers['x-ratelimit-remaining']).toBe('6');
    expect((await call(p, ctx())).headers['x-ratelimit-remaining']).toBe('2');
    expect((await call(p, ctx())).status).toBe(429);
  });

  it('store unavailable: fail closed answers 503 LIMITS_UNAVAILABLE; fail open limits in process; both recover', async () => {
    const clock = { t: 0 };
    let down = true;
    const real = createMemoryCounterStore({ now: () => clock.t });
    const flaky: LimitCounters = {
      consume: (tag, w, c) => (down ? Promise.reject(new Error('ECONNREFUSED')) : real.consume(tag, w, c)),
      peek: (tag, k) => real.peek(tag, k),
    };
    const closed = build({ failMode: 'closed', limits: [{ limit: 5, window: '1m' }] }, clock, flaky);
    const r = await call(closed, ctx());
    expect(r.status).toBe(503);
    expect(r.reply?.body).toMatchObject({ code: 'LIMITS_UNAVAILABLE' });
    const open = build({ name: 'open', failMode: 'open', limits: [{ limit: 2, window: '1m' }] }, clock, flaky);
    expect((await call(open, ctx())).status).toBe(200);
    expect((await call(open, ctx())).status).toBe(200);
    expect((await call(open, ctx())).status).toBe(429);
    down = false;
    expect((await call(closed, ctx())).status).toBe(200);
    expect((await call(open, ctx())).headers['x-ratelimit-remaining']).toBe('1');
    expect(logs.some((l) => l.includes('reachable again'))).toBe(true);
  });

  it('a store that throws instead of rejecting is a store failure too (fail mode, never an exception out of the policy)', async () => {
    const clock = { t: 0 };
    const throwing: LimitCounters = {
      consume: () => {
        throw new Error('client not ready');
      },
      peek: async () => [],
    };
    const closed = build({ failMode: 'closed', limits: [{ limit: 5, window: '1m' }] }, clock, throwing);
    expect((await call(closed, ctx())).status).toBe(503);
    const open = build({ name: 'open', failMode: 'open', limits: [{ limit: 1, window: '1m' }] }, clock, throwing);
    expect((await call(open, ctx())).status).toBe(200);
    expect((await call(open, ctx())).status).toBe(429);
  });

  it('schema refuses bad windows, duplicate windows, a header key without header, and an empty policy', () => {
    expect(rateLimitSchema.safeParse({ limits: [{ limit: 1, window: '1y' }] }).success).toBe(false);
    expect(rateLimitSchema.safeParse({ limits: [{ limit: 1, window: '60s' }, { limit: 2, window: '1m' }] }).success).toBe(false);
    expect(rateLimitSchema.safeParse({ by: 'header', limits: [{ limit: 1, window: '1s' }] }).success).toBe(false);
    expect(rateLimitSchema.safeParse({}).success).toBe(false);
    expect(rateLimitSchema.safeParse({ quota: { limit: 1, timeZone: 'Mars/Olympus' } }).success).toBe(false);
    expect(rateLimitSchema.safeParse({ limits: [{ limit: 1, window: '1s' }], extra: 1 }).success).toBe(false);
  });
});
