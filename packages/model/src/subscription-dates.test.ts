import { describe, expect, it } from 'vitest';
import { monthBounds } from '@tollgate/billing';
import { nearMonthBoundary, resolveSubscriptionDates, startOfDayIn } from './subscription-dates.js';
import { subscriptionSpecSchema } from './subscription.js';
import type { Resource } from './resources.js';

describe('a date means the start of that day in the plan zone', () => {
  it.each([
    ['2026-12-01', 'Europe/Berlin', '2026-12-01T00:00:00+01:00'],
    ['2026-07-01', 'Europe/Berlin', '2026-07-01T00:00:00+02:00'],
    ['2026-12-01', 'UTC', '2026-12-01T00:00:00Z'],
    ['2026-03-01', 'America/New_York', '2026-03-01T00:00:00-05:00'],
    ['2026-10-01', 'Asia/Kolkata', '2026-10-01T00:00:00+05:30'],
    ['2026-01-01', 'Pacific/Chatham', '2026-01-01T00:00:00+13:45'],
  ])('%s in %s is %s, the instant billing months begin', (date, zone, expected) => {
    expect(startOfDayIn(date, zone)).toBe(expected);
    expect(Date.parse(startOfDayIn(date, zone))).toBe(monthBounds(date.slice(0, 7), zone).start.getTime());
  });

  it('resolves start and end of a Subscription with its plan (billing zone, else quota zone, else UTC)', () => {
    const sub = (plan: string) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Subscription', metadata: { name: 's', labels: {}, annotations: {} }, spec: { consumer: 'acme', plan, start: '2026-12-01', end: '2027-01-01' } }) as unknown as Resource;
    const plans: Record<string, Resource> = {
      billed: { kind: 'Plan', metadata: { name: 'billed' }, spec: { billing: { timeZone: 'Europe/Berlin' }, quota: { timeZone: 'Asia/Tokyo' } } } as unknown as Resource,
      quota: { kind: 'Plan', metadata: { name: 'quota' }, spec: { quota: { timeZone: 'Asia/Tokyo' } } } as unknown as Resource,
    };
    const planOf = (n: string) => plans[n];
    expect(resolveSubscriptionDates(sub('billed'), planOf).spec).toMatchObject({ start: '2026-12-01T00:00:00+01:00', end: '2027-01-01T00:00:00+01:00' });
    expect(resolveSubscriptionDates(sub('quota'), planOf).spec).toMatchObject({ start: '2026-12-01T00:00:00+09:00' });
    expect(resolveSubscriptionDates(sub('missing'), planOf).spec).toMatchObject({ start: '2026-12-01T00:00:00Z' });
    const timestamp = { ...sub('billed'), spec: { consumer: 'acme', plan: 'billed', start: '2026-12-01T00:00:00Z' } } as unknown as Resource;
    expect(resolveSubscriptionDates(timestamp, planOf)).toBe(timestamp);
  });

  it('the schema takes a date or an RFC 3339 time, and nothing else', () => {
    const base = { consumer: 'acme', plan: 'gold' };
    expect(subscriptionSpecSchema.safeParse({ ...base, start: '2026-12-01' }).success).toBe(true);
    expect(subscriptionSpecSchema.safeParse({ ...base, start: '2026-12-01T00:00:00+01:00' }).success).toBe(true);
    for (const bad of ['2026-12-1', '2026-13-01', '01.12.2026', '2026-12-01T00:00:00']) {
      const r = subscriptionSpecSchema.safeParse({ ...base, start: bad });
      expect(r.success, bad).toBe(false);
      expect(r.error?.issues[0]?.message).toContain('or a date (2026-12-01)');
    }
    expect(subscriptionSpecSchema.safeParse({ ...base, start: '2026-12-01', end: '2026-11-01' }).success).toBe(false);
  });
});

describe('timestamps just off a month boundary of the zone', () => {
  it.each([
    ['2026-12-01T00:00:00Z', 'Europe/Berlin', '2026-12-01T00:00:00+01:00'],
    ['2026-11-30T22:00:00Z', 'Europe/Berlin', '2026-12-01T00:00:00+01:00'],
    ['2026-07-01T00:00:00Z', 'Europe/Berlin', '2026-07-01T00:00:00+02:00'],
    ['2026-12-01T00:00:00Z', 'America/New_York', '2026-12-01T00:00:00-05:00'],
    ['2026-12-01T00:00:01Z', 'UTC', '2026-12-01T00:00:00Z'],
  ])('%s in %s is near %s', (instant, zone, meant) => {
    expect(nearMonthBoundary(instant, zone)).toBe(meant);
  });

  it.each([
    ['2026-11-30T23:00:00Z', 'Europe/Berlin'],
    ['2026-12-01T00:00:00+01:00', 'Europe/Berlin'],
    ['2026-12-01T00:00:00Z', 'UTC'],
    ['2026-12-15T00:00:00Z', 'Europe/Berlin'],
  ])('%s in %s is not warned about', (instant, zone) => {
    expect(nearMonthBoundary(instant, zone)).toBeUndefined();
  });
});
