/**
 * Calendar months of IANA time zones, as billing periods. A period is `[start, end)`: the instant
 * local midnight begins the 1st of the month in the zone, up to (excluding) the instant it begins
 * the 1st of the next month, so a request at 23:59:59.900 local time on the last day belongs to the
 * month, and one at 00:00:00.000 on the 1st to the next. Months therefore last 28 to 31 days plus
 * or minus the zone's DST shift (Europe/Berlin: March is one hour short, October one hour long).
 */
import { instantOf, wallClock, zoneOffset } from '@tollgate/model';

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** A `YYYY-MM` month. */
export interface Month {
  year: number;
  /** 1..12 */
  month: number;
}

/** Parses `YYYY-MM` (years 1970..9999); null when malformed. */
export function parseMonth(text: string): Month | null {
  const m = MONTH.exec(text);
  if (!m) return null;
  const year = Number(m[1]);
  if (year < 1970) return null;
  return { year, month: Number(m[2]) };
}

export function formatMonth(m: Month): string {
  return `${String(m.year).padStart(4, '0')}-${String(m.month).padStart(2, '0')}`;
}

export function addMonths(month: string, delta: number): string {
  const m = parseMonth(month);
  if (!m) throw new Error(`not a month: ${month}`);
  const index = m.year * 12 + (m.month - 1) + delta;
  return formatMonth({ year: Math.floor(index / 12), month: (index % 12) + 1 });
}

export { zoneOffset };

/** `[start, end)` of a month in a time zone, as UTC instants. */
export function monthBounds(month: string, timeZone: string): { start: Date; end: Date } {
  const m = parseMonth(month);
  if (!m) throw new Error(`not a month: ${month}`);
  const start = instantOf(Date.UTC(m.year, m.month - 1, 1), timeZone);
  const end = instantOf(Date.UTC(m.year, m.month, 1), timeZone);
  return { start: new Date(start), end: new Date(end) };
}

/** The billing month (`YYYY-MM`) an instant falls in, in a time zone. */
export function periodOf(instant: Date | number, timeZone: string): string {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  const wall = new Date(wallClock(ms, timeZone));
  return formatMonth({ year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1 });
}

/** RFC 3339 in UTC with seconds precision when whole (`2026-11-01T00:00:00Z`), else milliseconds. */
export function rfc3339(d: Date): string {
  const iso = d.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}
