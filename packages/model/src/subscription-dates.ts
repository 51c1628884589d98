import type { Resource } from './resources.js';
import { instantOf, wallClock, zoneOffset } from './zone-time.js';

/**
 * Subscription dates in the plan's time zone. A plan bills (and counts its quota in) calendar
 * months of its zone, so `start: "2026-12-01T00:00:00Z"` on a Europe/Berlin plan begins an hour
 * into December there and prorates the month. A date (`2026-12-01`) means the start of that day
 * in the plan's zone and is stored as the RFC 3339 instant (`2026-12-01T00:00:00+01:00`).
 */

/** `YYYY-MM-DD` (RFC 3339 full-date). */
export const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

function formatOffset(offsetMs: number): string {
  if (offsetMs === 0) return 'Z';
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.abs(offsetMs) / 60_000;
  return `${sign}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** `2026-12-01` in `Europe/Berlin` -> `2026-12-01T00:00:00+01:00` (RFC 3339 with the zone's offset then). */
export function startOfDayIn(date: string, timeZone: string): string {
  const m = DATE_ONLY.exec(date);
  if (!m) throw new RangeError(`not a date: ${date}`);
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const instant = instantOf(wall, timeZone);
  const offset = zoneOffset(instant, timeZone);
  const local = new Date(instant + offset).toISOString().slice(0, 19);
  return `${local}${formatOffset(offset)}`;
}

/** The time zone whose months a plan follows: its billing zone, else its quota's, else UTC. */
export function planTimeZone(plan: Resource | undefined): string {
  const spec = (plan?.spec ?? {}) as { billing?: { timeZone?: string }; quota?: { timeZone?: string } };
  return spec.billing?.timeZone ?? spec.quota?.timeZone ?? 'UTC';
}

/**
 * A Subscription with date-only `start` / `end` resolved in its plan's zone (found by `planOf`);
 * every other resource is returned as it is.
 */
export function resolveSubscriptionDates<R extends Resource>(resource: R, planOf: (name: string) => Resource | undefined): R {
  if (resource.kind !== 'Subscription') return resource;
  const spec = resource.spec as { plan: string; start: string; end?: string };
  const startIsDate = DATE_ONLY.test(spec.start);
  const endIsDate = spec.end !== undefined && DATE_ONLY.test(spec.end);
  if (!startIsDate && !endIsDate) return resource;
  const zone = planTimeZone(planOf(spec.plan));
  const next = { ...spec, start: startIsDate ? startOfDayIn(spec.start, zone) : spec.start, ...(spec.end !== undefined ? { end: endIsDate ? startOfDayIn(spec.end, zone) : spec.end } : {}) };
  return { ...resource, spec: next };
}

/** How close to a month boundary of the plan's zone a timestamp must be to look like a mistake. */
const NEAR_MS = 24 * 3_600_000;

/**
 * When `instant` is within a day of the start of a calendar month in `timeZone` but not on it,
 * the boundary it probably meant (e.g. `…T00:00:00Z` on a Berlin plan: one hour after the month
 * began there); else undefined.
 */
export function nearMonthBoundary(instant: string, timeZone: string): string | undefined {
  const ms = Date.parse(instant);
  if (Number.isNaN(ms)) return undefined;
  const wall = new Date(wallClock(ms, timeZone));
  for (const delta of [0, 1]) {
    const boundary = instantOf(Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth() + delta, 1), timeZone);
    const distance = Math.abs(ms - boundary);
    if (distance === 0) return undefined;
    if (distance < NEAR_MS) return startOfDayIn(new Date(boundary + zoneOffset(boundary, timeZone)).toISOString().slice(0, 10), timeZone);
  }
  return undefined;
}
