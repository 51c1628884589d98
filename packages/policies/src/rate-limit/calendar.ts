/**
 * Calendar months in an IANA time zone with only `Intl` (no dependency): a "monthly" quota resets
 * at local midnight of the 1st, not every 30 days.
 */
export class MonthCalendar {
  readonly #fmt: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    this.#fmt = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  }

  /** Local wall-clock fields at instant `t`. */
  #fields(t: number): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
    const p: Record<string, number> = {};
    for (const part of this.#fmt.formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
    return { y: p.year ?? 1970, mo: p.month ?? 1, d: p.day ?? 1, h: p.hour ?? 0, mi: p.minute ?? 0, s: p.second ?? 0 };
  }

  /** Offset of local time from UTC at instant `t`, in ms. */
  #offset(t: number): number {
    const f = this.#fields(t);
    return Date.UTC(f.y, f.mo - 1, f.d, f.h, f.mi, f.s) - Math.floor(t / 1000) * 1000;
  }

  /** The instant of local midnight on day 1 of (year, month 1-12), DST-aware. */
  #startOf(y: number, mo: number): number {
    const guess = Date.UTC(y, mo - 1, 1);
    const first = guess - this.#offset(guess);
    // The offset at the result may differ from the guess's (a DST change near midnight): once more.
    const t = guess - this.#offset(first);
    // A midnight that does not exist (zones that spring forward at 00:00, e.g. America/Asuncion
    // on 1 Oct 2023): `t` then lies before the change, still on the previous day. The month begins
    // at the change itself: the wall time read with the offset in force before it.
    return t + this.#offset(t) < guess ? guess - this.#offset(t - 3_600_000) : t;
  }

  /** The period of instant `t`: its key (`YYYY-MM`) and when it ends. */
  periodAt(t: number): { key: string; start: number; end: number } {
    const f = this.#fields(t);
    const start = this.#startOf(f.y, f.mo);
    const end = f.mo === 12 ? this.#startOf(f.y + 1, 1) : this.#startOf(f.y, f.mo + 1);
    return { key: `${f.y}-${String(f.mo).padStart(2, '0')}`, start, end };
  }
}
