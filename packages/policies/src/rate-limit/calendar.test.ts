import { describe, expect, it } from 'vitest';
import { MonthCalendar } from './calendar.js';

describe('MonthCalendar', () => {
  it('months of UTC and of a zone east of it (Berlin, DST in effect or not)', () => {
    expect(new MonthCalendar('UTC').periodAt(Date.UTC(2026, 10, 30, 23, 59, 59, 900))).toEqual({ key: '2026-11', start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) });
    const berlin = new MonthCalendar('Europe/Berlin');
    // 2026-11-30 23:59:59.900 in Berlin (UTC+1) is still November.
    expect(berlin.periodAt(Date.UTC(2026, 10, 30, 22, 59, 59, 900)).key).toBe('2026-11');
    expect(berlin.periodAt(Date.UTC(2026, 10, 30, 23, 0, 0, 0)).key).toBe('2026-12');
    // April begins at 22:00Z on 31 March (UTC+2 after the spring change).
    expect(berlin.periodAt(Date.UTC(2026, 3, 10)).start).toBe(Date.UTC(2026, 2, 31, 22));
  });

  it('a month whose local midnight is skipped begins at the DST change, whatever was asked before', () => {
    // America/Asuncion sprang forward at 00:00 (UTC-4) on 1 Oct 2023 = 04:00Z, straight to 01:00 (UTC-3).
    const change = Date.UTC(2023, 9, 1, 4);
    const before = change - 30 * 60_000;
    // A fresh calendar for each question: the answer must not depend on what was computed earlier.
    expect(new MonthCalendar('America/Asuncion').periodAt(before)).toMatchObject({ key: '2023-09', end: change });
    expect(new MonthCalendar('America/Asuncion').periodAt(change)).toMatchObject({ key: '2023-10', start: change });
  });
});
