/**
 * Wall-clock arithmetic in IANA time zones (Intl only, no tz database of our own): shared by
 * subscription dates here and by billing's calendar months, so both agree on when a month begins.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local wall-clock time of `ms` in the zone, as if it were UTC (milliseconds, whole seconds). */
export function wallClock(ms: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year as number, (parts.month as number) - 1, parts.day as number, parts.hour as number, parts.minute as number, parts.second as number);
}

/** UTC offset of the zone at instant `ms`, in milliseconds (Berlin in winter: +3 600 000). */
export function zoneOffset(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallClock(whole, timeZone) - whole;
}

/** The instant a local wall-clock time (given as if UTC) occurs in the zone; the later side of a gap. */
export function instantOf(wallMs: number, timeZone: string): number {
  let t = wallMs - zoneOffset(wallMs, timeZone);
  // A second pass settles the offset across a DST change between the guess and the answer.
  t = wallMs - zoneOffset(t, timeZone);
  // Midnight that does not exist (zones that spring forward at 00:00): `t` then lies before the
  // change, still on the previous day. The month begins when the day does, at the change itself:
  // the wall time read with the offset in force before it.
  if (wallClock(t, timeZone) < wallMs) t = wallMs - zoneOffset(t - 3_600_000, timeZone);
  return t;
}

