import { describe, expect, it } from 'vitest';
import { activeMilliseconds, allocateIncluded, prorateFee, prorateUnits, shareOf } from './proration.js';
import { addMonths, monthBounds, parseMonth, periodOf, rfc3339, zoneOffset } from './time.js';

describe('months', () => {
  it('parses YYYY-MM only', () => {
    expect(parseMonth('2026-11')).toEqual({ year: 2026, month: 11 });
    expect(parseMonth('2026-13')).toBeNull();
    expect(parseMonth('2026-1')).toBeNull();
    expect(parseMonth('26-11')).toBeNull();
    expect(parseMonth('2026-11-01')).toBeNull();
    expect(addMonths('2026-01', -1)).toBe('2025-12');
    expect(addMonths('2026-12', 1)).toBe('2027-01');
  });

  it('UTC months', () => {
    const b = monthBounds('2026-11', 'UTC');
    expect(rfc3339(b.start)).toBe('2026-11-01T00:00:00Z');
    expect(rfc3339(b.end)).toBe('2026-12-01T00:00:00Z');
    expect(periodOf(Date.parse('2026-11-30T23:59:59.900Z'), 'UTC')).toBe('2026-11');
    expect(periodOf(Date.parse('2026-12-01T00:00:00.000Z'), 'UTC')).toBe('2026-12');
  });

  it('Europe/Berlin months, across both DST changes', () => {
    expect(zoneOffset(Date.parse('2026-01-15T12:00:00Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(zoneOffset(Date.parse('2026-07-15T12:00:00Z'), 'Europe/Berlin')).toBe(7_200_000);
    const nov = monthBounds('2026-11', 'Europe/Berlin');
    expect(rfc3339(nov.start)).toBe('2026-10-31T23:00:00Z');
    expect(rfc3339(nov.end)).toBe('2026-11-30T23:00:00Z');
    // October 2026 ends on CET (DST ended on 25 Oct), begins on CEST: one hour longer than 31 days.
    const oct = monthBounds('2026-10', 'Europe/Berlin');
    expect(rfc3339(oct.start)).toBe('2026-09-30T22:00:00Z');
    expect(rfc3339(oct.end)).toBe('2026-10-31T23:00:00Z');
    expect(oct.end.getTime() - oct.start.getTime()).toBe((31 * 24 + 1) * 3_600_000);
    // March 2026 (DST from 29 Mar) is one hour shorter.
    const mar = monthBounds('2026-03', 'Europe/Berlin');
    expect(mar.end.getTime() - mar.start.getTime()).toBe((31 * 24 - 1) * 3_600_000);
    // 23:59:59.900 local on the last day belongs to the month; local midnight to the next.
    expect(periodOf(Date.parse('2026-10-31T22:59:59.900Z'), 'Europe/Berlin')).toBe('2026-10');
    expect(periodOf(Date.parse('2026-10-31T23:00:00.000Z'), 'Europe/Berlin')).toBe('2026-11');
    expect(periodOf(Date.parse('2026-11-30T23:59:59.900Z'), 'Europe/Berlin')).toBe('2026-12');
    expect(periodOf(Date.parse('2026-11-30T22:59:59.900Z'), 'Europe/Berlin')).toBe('2026-11');
  });

  it('zones west of UTC and a zone whose midnight is skipped', () => {
    const ny = monthBounds('2026-11', 'America/New_York');
    expect(rfc3339(ny.start)).toBe('2026-11-01T04:00:00Z'); // EDT until 1 Nov 02:00
    expect(rfc3339(ny.end)).toBe('2026-12-01T05:00:00Z');
    // America/Santiago springs forward at 00:00 on the first Sunday of September 2026 (6 Sep),
    // so only month starts, not that day, are checked: every bound maps back into its month.
    for (const m of ['2026-09', '2026-10', '2026-04']) {
      const b = monthBounds(m, 'America/Santiago');
      expect(periodOf(b.start, 'America/Santiago')).toBe(m);
      expect(periodOf(b.end.getTime() - 1, 'America/Santiago')).toBe(m);
    }
    // America/Asuncion sprang forward at 00:00 on Sunday 1 October 2023 (-04 to -03): October
    // began at the change, 04:00 UTC, not an hour earlier while it was still 30 September 23:00.
    const oct = monthBounds('2023-10', 'America/Asuncion');
    expect(rfc3339(oct.start)).toBe('2023-10-01T04:00:00Z');
    expect(periodOf(oct.start, 'America/Asuncion')).toBe('2023-10');
    expect(periodOf(oct.start.getTime() - 1, 'America/Asuncion')).toBe('2023-09');
    expect(rfc3339(monthBounds('2023-09', 'America/Asuncion').end)).toBe('2023-10-01T04:00:00Z');
  });
});

describe('proration', () => {
  const nov = monthBounds('2026-11', 'UTC'); // 30 days
  it('active time is the overlap of the subscription and the month', () => {
    expect(activeMilliseconds({ start: new Date('2026-10-01T00:00:00Z') }, nov.start, nov.end)).toBe(30n * 86_400_000n);
    expect(activeMilliseconds({ start: new Date('2026-11-16T00:00:00Z') }, nov.start, nov.end)).toBe(15n * 86_400_000n);
    expect(activeMilliseconds({ start: new Date('2026-10-01T00:00:00Z'), end: new Date('2026-11-01T00:00:00Z') }, nov.start, nov.end)).toBe(0n);
    expect(activeMilliseconds({ start: new Date('2026-12-01T00:00:00Z') }, nov.start, nov.end)).toBe(0n);
  });

  it('a mid-month plan change splits base fee and included units by period', () => {
    const a = shareOf({ start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-11-11T00:00:00Z') }, nov.start, nov.end); // 10 days
    const b = shareOf({ start: new Date('2026-11-11T00:00:00Z') }, nov.start, nov.end); // 20 days
    expect(prorateFee(3000n, a)).toBe(1000n);
    expect(prorateFee(4500n, b)).toBe(3000n);
    expect(prorateUnits(1000n, a)).toBe(333n); // 333.33 rounded down
    expect(prorateUnits(1000n, b)).toBe(666n); // 666.67 rounded down: never more than a whole month
    // half a cent rounds up: 1 cent over 2 days of a 30-day month... 1 × 15/30 = 0.5 → 1
    expect(prorateFee(1n, shareOf({ start: new Date('2026-11-16T00:00:00Z') }, nov.start, nov.end))).toBe(1n);
    expect(prorateFee(999n, { active: 5n, period: 5n })).toBe(999n);
  });

  it('allocates included units to lines in order', () => {
    expect(allocateIncluded(150n, [100n, 100n, 100n])).toEqual([100n, 50n, 0n]);
    expect(allocateIncluded(0n, [5n])).toEqual([0n]);
    expect(allocateIncluded(1000n, [5n, 7n])).toEqual([5n, 7n]);
  });
});
