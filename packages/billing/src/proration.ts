import { divideHalfUp } from './money.js';

/**
 * Plan changes within a month. A consumer changes plan by ending one Subscription and starting
 * another; the month is then split by period:
 *
 * - usage is attributed by the `subscription` and `plan` columns of the rollups, which the gateway
 *   fills at request time, so each request is priced under the plan it was served under;
 * - the base fee of each subscription is prorated by the share of the month (in the plan's time
 *   zone, to the millisecond) the subscription was active: `round_half_up(fee × active / month)`;
 * - the included units of each subscription are prorated likewise, rounded down
 *   (`floor(included × active / month)`), so a split month never grants more than a whole one.
 */

/** A subscription's active window: `[start, end)`, end undefined = open-ended. */
export interface ActiveWindow {
  start: Date;
  end?: Date;
}

/** Milliseconds of `[periodStart, periodEnd)` the window covers (0 when they do not overlap). */
export function activeMilliseconds(window: ActiveWindow, periodStart: Date, periodEnd: Date): bigint {
  const from = Math.max(window.start.getTime(), periodStart.getTime());
  const to = Math.min(window.end?.getTime() ?? Number.POSITIVE_INFINITY, periodEnd.getTime());
  return to > from ? BigInt(to - from) : 0n;
}

/** The share of the period, as an exact fraction `active / period` in milliseconds. */
export interface Share {
  active: bigint;
  period: bigint;
}

export function shareOf(window: ActiveWindow, periodStart: Date, periodEnd: Date): Share {
  return { active: activeMilliseconds(window, periodStart, periodEnd), period: BigInt(periodEnd.getTime() - periodStart.getTime()) };
}

/** Prorated base fee in minor units, rounded half up; the whole fee for a whole month. */
export function prorateFee(fee: bigint, share: Share): bigint {
  if (share.active >= share.period) return fee;
  return divideHalfUp(fee * share.active, share.period);
}

/** Prorated included units, rounded down; all of them for a whole month. */
export function prorateUnits(units: bigint, share: Share): bigint {
  if (share.active >= share.period) return units;
  return (units * share.active) / share.period;
}

/**
 * Splits a group's included units over its lines in order: each line (APIs by name) uses up as
 * many of the remaining included units as it has units, so the first lines are free first.
 * Returns the included quantity of each line.
 */
export function allocateIncluded(included: bigint, quantities: readonly bigint[]): bigint[] {
  let left = included;
  return quantities.map((q) => {
    const take = q < left ? q : left;
    left -= take;
    return take;
  });
}
