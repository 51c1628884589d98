import { describe, expect, it } from 'vitest';
import { planSpecSchema, type PlanSpec } from '@tollgate/model';
import { Accumulator, LATENCY_BUCKETS_MS, LATENCY_HIST_LENGTH, latencyBucket, statusClass, type UsageEvent } from './accumulator.js';

const plan = (spec: unknown): PlanSpec => planSpecSchema.parse(spec);
const PER_UNIT = { currency: 'EUR', charge: { perUnit: { unitPrice: '1' } } };

function event(over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    at: Date.parse('2026-11-15T10:20:30Z'),
    consumer: 'acme',
    subscription: { name: 'acme-gold', plan: 'gold', planSpec: plan({ billing: PER_UNIT }) },
    api: 'orders',
    apiVersion: 'v1',
    route: 'list',
    status: 200,
    source: 'upstream',
    units: 1,
    metric: 'requests',
    bytesIn: 10,
    bytesOut: 100,
    latencyMs: 12,
    ...over,
  };
}

describe('Accumulator', () => {
  it('adds requests of one key into one row: requests, units, bytes, latency sum and histogram', () => {
    const acc = new Accumulator();
    acc.record(event({ latencyMs: 3 }));
    acc.record(event({ latencyMs: 40, units: 5, bytesIn: 1, bytesOut: 2 }));
    const { rows, requests } = acc.cut();
    expect(requests).toBe(2);
    expect(rows).toHaveLength(1);
    const r = rows[0]!;
    expect(r).toMatchObject({ hour: Date.parse('2026-11-15T10:00:00Z'), period: '2026-11', consumer: 'acme', subscription: 'acme-gold', plan: 'gold', api: 'orders', apiVersion: 'v1', route: 'list', statusClass: '2xx', source: 'upstream', billable: true, metric: 'requests', requests: 2, units: 6, bytesIn: 11, bytesOut: 102, latencyMsSum: 43 });
    expect(r.latencyHist).toHaveLength(LATENCY_HIST_LENGTH);
    expect(r.latencyHist[latencyBucket(3)]).toBe(1);
    expect(r.latencyHist[latencyBucket(40)]).toBe(1);
    expect(r.latencyHist.reduce((a, b) => a + b, 0)).toBe(2);
    expect(acc.cut().rows).toHaveLength(0);
  });

  it('keys by every dimension: hour, consumer, route, status class, source, metric each make a new row', () => {
    const acc = new Accumulator();
    const base = event();
    acc.record(base);
    acc.record(event({ at: base.at + 3_600_000 }));
    acc.record(event({ consumer: 'other' }));
    acc.record(event({ route: 'get' }));
    acc.record(event({ status: 404 }));
    acc.record(event({ status: 502, source: 'gateway' }));
    acc.record(event({ metric: 'exports' }));
    acc.record(event({ apiVersion: 'v2' }));
    acc.record(event({ status: 201 }));
    expect(acc.size).toBe(8);
    expect(acc.requests).toBe(9);
  });

  it('interleaved requests over many dimensions add up exactly as rows keyed by every dimension', () => {
    const acc = new Accumulator();
    const gold = { name: 'acme-gold', plan: 'gold', planSpec: plan({ billing: PER_UNIT }) };
    const free = { name: 'acme-free', plan: 'free', planSpec: plan({ billing: { ...PER_UNIT, timeZone: 'Asia/Kolkata' } }) };
    const pick = <T,>(list: readonly T[], n: number): T => list[n % list.length] as T;
    const reference = new Map<string, { requests: number; units: number; bytesOut: number; latencyMsSum: number }>();
    let seed = 7;
    const start = Date.parse('2026-11-30T17:00:00Z');
    for (let i = 0; i < 5_000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      // Spans 18:30 UTC, the Kolkata month boundary, and several UTC hours.
      const e = event({
        at: start + (i % 500) * 36_000,
        consumer: pick(['acme', 'beta', null, 'gamma'], seed),
        subscription: pick([gold, free, null], seed >> 3),
        api: pick(['orders', 'billing'], seed >> 5),
        apiVersion: pick(['v1', 'v2'], seed >> 6),
        route: pick(['list', 'get', 'list'], seed >> 7),
        status: pick([200, 201, 302, 404, 429, 502], seed >> 9),
        source: pick(['upstream', 'gateway'] as const, seed >> 12),
        metric: pick(['requests', 'exports'], seed >> 13),
        units: 1 + (seed % 3),
        bytesOut: seed % 1000,
        latencyMs: seed % 50,
      });
      acc.record(e);
      const hour = e.at - (e.at % 3_600_000);
      const cls = statusClass(e.status);
      const billable = e.subscription !== null && acc.billable(e, cls);
      const period = acc.periods(e.subscription === null ? 'UTC' : e.subscription === free ? 'Asia/Kolkata' : 'UTC').keyAt(e.at);
      const key = JSON.stringify([hour, period, e.consumer ?? '', e.subscription?.name ?? '', e.subscription?.plan ?? '', e.api, e.apiVersion, e.route, cls, e.source, billable, e.metric]);
      const r = reference.get(key) ?? { requests: 0, units: 0, bytesOut: 0, latencyMsSum: 0 };
      r.requests += 1;
      r.units += e.units;
      r.bytesOut += e.bytesOut;
      r.latencyMsSum += e.latencyMs;
      reference.set(key, r);
    }
    const { rows, requests } = acc.cut();
    expect(requests).toBe(5_000);
    const got = new Map(rows.map((r) => [JSON.stringify([r.hour, r.period, r.consumer, r.subscription, r.plan, r.api, r.apiVersion, r.route, r.statusClass, r.source, r.billable, r.metric]), { requests: r.requests, units: r.units, bytesOut: r.bytesOut, latencyMsSum: r.latencyMsSum }]));
    // One row per distinct key, none split or merged.
    expect(rows).toHaveLength(reference.size);
    expect(got).toEqual(reference);
  });

  it('the row of the previous request is reused only when every dimension matches, and never across a cut', () => {
    const acc = new Accumulator();
    acc.record(event());
    acc.record(event({ api: 'billing' }));
    acc.record(event());
    acc.record(event({ api: 'billing' }));
    acc.record(event({ subscription: null }));
    expect(acc.size).toBe(3);
    const first = acc.cut();
    expect(first.rows.map((r) => [r.api, r.subscription, r.requests])).toEqual([
      ['orders', 'acme-gold', 2],
      ['billing', 'acme-gold', 2],
      ['orders', '', 1],
    ]);
    // After a cut the handed-over rows are the flusher's: a new request starts a new row.
    acc.record(event({ subscription: null }));
    expect(first.rows[2]?.requests).toBe(1);
    expect(acc.cut().rows[0]?.requests).toBe(1);
  });

  it('bills upstream 2xx and 3xx by default; never 4xx/5xx, gateway answers, or a consumer without a subscription', () => {
    const acc = new Accumulator();
    const billable = (e: UsageEvent) => acc.billable(e, statusClass(e.status));
    expect(billable(event({ status: 200 }))).toBe(true);
    expect(billable(event({ status: 304 }))).toBe(true);
    expect(billable(event({ status: 404 }))).toBe(false);
    expect(billable(event({ status: 503 }))).toBe(false);
    expect(billable(event({ status: 429, source: 'gateway' }))).toBe(false);
    expect(billable(event({ status: 301, source: 'gateway' }))).toBe(false);
    expect(billable(event({ subscription: null }))).toBe(false);
    // A plan without a billing block follows the default rule too.
    expect(billable(event({ subscription: { name: 's', plan: 'free', planSpec: plan({}) } }))).toBe(true);
  });

  it("follows the plan's billable rule: listed classes, gateway responses only when allowed", () => {
    const acc = new Accumulator();
    const spec = plan({ billing: { ...PER_UNIT, billable: { statuses: ['2xx', '4xx'], gatewayResponses: true } } });
    const sub = { name: 's', plan: 'p', planSpec: spec };
    const billable = (e: UsageEvent) => acc.billable(e, statusClass(e.status));
    expect(billable(event({ subscription: sub, status: 404 }))).toBe(true);
    expect(billable(event({ subscription: sub, status: 429, source: 'gateway' }))).toBe(true);
    expect(billable(event({ subscription: sub, status: 302 }))).toBe(false);
    expect(billable(event({ subscription: sub, status: 500 }))).toBe(false);
  });

  it('meters a consumer without a subscription (analytics) in the UTC month, billable false', () => {
    const acc = new Accumulator();
    acc.record(event({ subscription: null, at: Date.parse('2026-11-30T23:59:59.900Z') }));
    acc.record(event({ consumer: null, subscription: null }));
    const rows = acc.cut().rows;
    expect(rows.map((r) => [r.consumer, r.subscription, r.plan, r.period, r.billable])).toEqual([
      ['acme', '', '', '2026-11', false],
      ['', '', '', '2026-11', false],
    ]);
  });

  it('counts every latency in exactly one bucket, above the last bound in the overflow', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(LATENCY_BUCKETS_MS[0]!)).toBe(0);
    expect(latencyBucket(LATENCY_BUCKETS_MS[0]! + 0.001)).toBe(1);
    expect(latencyBucket(1e9)).toBe(LATENCY_BUCKETS_MS.length);
  });

  describe('billing month boundaries (injected instants)', () => {
    const cases: Array<[string, string, string, string]> = [
      // zone, last instant of October (local 23:59:59.900 on Oct 31), then the first of November
      ['UTC', '2026-10-31T23:59:59.900Z', '2026-11-01T00:00:00.000Z', '2026-10'],
      // Berlin is UTC+1 on Oct 31 2026 (summer time ended Oct 25): local midnight = 23:00Z.
      ['Europe/Berlin', '2026-10-31T22:59:59.900Z', '2026-10-31T23:00:00.000Z', '2026-10'],
      // Kolkata is UTC+5:30 all year: local midnight Nov 1 = Oct 31 18:30Z.
      ['Asia/Kolkata', '2026-10-31T18:29:59.900Z', '2026-10-31T18:30:00.000Z', '2026-10'],
    ];
    for (const [tz, last, first, month] of cases) {
      it(`${tz}: 23:59:59.900 local on the last day belongs to that month, midnight to the next`, () => {
        const acc = new Accumulator();
        const sub = { name: 's', plan: 'p', planSpec: plan({ billing: { ...PER_UNIT, timeZone: tz } }) };
        // Warm the cached period with an instant earlier in the month, so the cache boundary is what is tested.
        acc.record(event({ subscription: sub, at: Date.parse(last) - 10 * 86_400_000 }));
        acc.record(event({ subscription: sub, at: Date.parse(last) }));
        acc.record(event({ subscription: sub, at: Date.parse(first) }));
        acc.record(event({ subscription: sub, at: Date.parse(last) - 1 }));
        const rows = acc.cut().rows;
        const byPeriod = new Map<string, number>();
        for (const r of rows) byPeriod.set(r.period, (byPeriod.get(r.period) ?? 0) + r.requests);
        expect(Object.fromEntries(byPeriod)).toEqual({ [month]: 3, '2026-11': 1 });
      });
    }

    it('a quota-only plan uses the quota time zone for its period', () => {
      const acc = new Accumulator();
      const sub = { name: 's', plan: 'p', planSpec: plan({ quota: { limit: 10, timeZone: 'Asia/Kolkata' } }) };
      acc.record(event({ subscription: sub, at: Date.parse('2026-10-31T18:30:00.000Z') }));
      expect(acc.cut().rows[0]?.period).toBe('2026-11');
    });

    it('the hour is the UTC hour of the arrival instant', () => {
      const acc = new Accumulator();
      acc.record(event({ at: Date.parse('2026-11-01T00:59:59.999Z') }));
      acc.record(event({ at: Date.parse('2026-11-01T01:00:00.000Z') }));
      expect(acc.cut().rows.map((r) => new Date(r.hour).toISOString())).toEqual(['2026-11-01T00:00:00.000Z', '2026-11-01T01:00:00.000Z']);
    });
  });
});
