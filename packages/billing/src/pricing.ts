import type { ChargeModel, PriceTier } from '@tollgate/model';
import { NANO, formatPrice, parsePrice } from './money.js';

/**
 * Pure pricing of billable units (the units past the included ones) under a plan's charge model.
 *
 * Every amount here is exact, in nano-minor-units (bigint; see money.ts); rounding to minor units
 * happens once per report line, in the report. A charge group (one consumer, plan and metric in
 * one month) is priced on its total, and the total is split over report lines (one per API) by
 * giving each line a range of the group's units: units `(from, to]` cost `F(to) - F(from)`, where
 * `F` is the group's attribution function below. The lines' exact amounts therefore add up to the
 * group's charge exactly, whatever the model.
 */

/** The charge model's name, as reports print it. */
export type ChargeModelName = 'perUnit' | 'graduated' | 'volume' | 'package' | 'free';

export function chargeModelName(model: ChargeModel | undefined): ChargeModelName {
  if (model === undefined) return 'free';
  if ('perUnit' in model) return 'perUnit';
  if ('graduated' in model) return 'graduated';
  if ('volume' in model) return 'volume';
  return 'package';
}

/** Units of a tier range: the first and last unit (1-based, inclusive; `last` null = unbounded). */
interface TierRange {
  first: bigint;
  last: bigint | null;
  price: bigint;
  flatFee: bigint;
  index: number;
}

function tierRanges(tiers: readonly PriceTier[]): TierRange[] {
  let first = 1n;
  return tiers.map((t, index) => {
    const range: TierRange = { first, last: t.upTo === null ? null : BigInt(t.upTo), price: parsePrice(t.unitPrice), flatFee: BigInt(t.flatFee ?? 0) * NANO, index };
    if (t.upTo !== null) first = BigInt(t.upTo) + 1n;
    return range;
  });
}

/** The tier unit number `n` (1-based) falls in. */
function tierOf(ranges: readonly TierRange[], n: bigint): TierRange {
  for (const r of ranges) if (r.last === null || n <= r.last) return r;
  throw new Error('tiers do not end with an unbounded tier');
}

/** Units of `(from, to]` that fall in a tier. */
function overlap(r: TierRange, from: bigint, to: bigint): bigint {
  const lo = from + 1n > r.first ? from + 1n : r.first;
  const hi = r.last === null || to < r.last ? to : r.last;
  return hi >= lo ? hi - lo + 1n : 0n;
}

/** One priced part of a line: `units` at `unitPrice`, plus a flat fee (tiers) or whole packages. */
export interface PricePart {
  /** Index of the tier (graduated, volume), else undefined. */
  tier?: number;
  units: bigint;
  /** Decimal string of minor units per unit (canonical form); for packages, the package price. */
  unitPrice: string;
  /** Flat fee of the tier charged in this part (minor units), 0 when none. */
  flatFee: bigint;
  /** Packages charged (package model). */
  packages?: bigint;
  /** Units per package (package model). */
  packageSize?: bigint;
  /** Exact amount of the part (nano-minor-units). */
  amount: bigint;
}

/** What a range of a charge group's units costs. */
export interface RangePrice {
  /** Exact amount (nano-minor-units), not yet rounded. */
  amount: bigint;
  parts: PricePart[];
}

/**
 * Prices units `(from, to]` of a charge group whose billable total is `total` (0 ≤ from ≤ to ≤ total).
 *
 * - perUnit: each unit at the unit price.
 * - graduated: each unit at the price of the tier its position falls in (units 1..upTo of the first
 *   tier, and so on); a tier's flat fee is charged on the range holding the tier's first unit.
 * - volume: every unit at the price of the one tier the group's total falls in; that tier's flat
 *   fee is charged once, on the range holding unit 1. (Volume pricing is not monotone: 1 001
 *   units may cost less than 1 000, which is why ranges are priced at the total's tier.)
 * - package: `ceil(units / size)` packages; a range is charged the packages its units start, so
 *   the first unit of every package carries that package's price.
 * - no model: free.
 */
export function priceRange(model: ChargeModel | undefined, total: bigint, from: bigint, to: bigint): RangePrice {
  if (from < 0n || to < from || total < to) throw new Error(`invalid unit range (${from}, ${to}] of ${total}`);
  if (model === undefined || to === from) return { amount: 0n, parts: [] };
  if ('perUnit' in model) {
    const price = parsePrice(model.perUnit.unitPrice);
    const units = to - from;
    return { amount: units * price, parts: [{ units, unitPrice: formatPrice(price), flatFee: 0n, amount: units * price }] };
  }
  if ('graduated' in model) {
    const parts: PricePart[] = [];
    for (const r of tierRanges(model.graduated.tiers)) {
      const units = overlap(r, from, to);
      if (units === 0n) continue;
      // The flat fee goes with the tier's first unit, so it is charged exactly once per group.
      const flat = from < r.first ? r.flatFee : 0n;
      parts.push({ tier: r.index, units, unitPrice: formatPrice(r.price), flatFee: flat / NANO, amount: units * r.price + flat });
    }
    return { amount: parts.reduce((a, p) => a + p.amount, 0n), parts };
  }
  if ('volume' in model) {
    const r = tierOf(tierRanges(model.volume.tiers), total);
    const units = to - from;
    const flat = from === 0n ? r.flatFee : 0n;
    const amount = units * r.price + flat;
    return { amount, parts: [{ tier: r.index, units, unitPrice: formatPrice(r.price), flatFee: flat / NANO, amount }] };
  }
  const size = BigInt(model.package.size);
  const price = BigInt(model.package.price) * NANO;
  const ceil = (n: bigint) => (n + size - 1n) / size;
  const packages = ceil(to) - ceil(from);
  const amount = packages * price;
  return { amount, parts: [{ units: to - from, unitPrice: formatPrice(price), flatFee: 0n, packages, packageSize: size, amount }] };
}

/** The exact charge (nano-minor-units) for `units` billable units. */
export function charge(model: ChargeModel | undefined, units: bigint): bigint {
  return priceRange(model, units, 0n, units).amount;
}

/** The charge for `units` used of which `included` are free: `charge(units − included)`, never negative. */
export function chargeAfterIncluded(model: ChargeModel | undefined, units: bigint, included: bigint): bigint {
  return charge(model, units > included ? units - included : 0n);
}

/**
 * The line's unit price when all its units share one (perUnit, volume, a graduated line within
 * one tier); undefined when the line spans tiers or sells packages (see `describeParts`).
 */
export function uniformUnitPrice(model: ChargeModel | undefined, range: RangePrice): string | undefined {
  if (model === undefined) return '0';
  if ('package' in model) return undefined;
  const prices = new Set(range.parts.map((p) => p.unitPrice));
  if (prices.size === 1) return [...prices][0];
  if (prices.size === 0) {
    if ('perUnit' in model) return formatPrice(parsePrice(model.perUnit.unitPrice));
    return undefined;
  }
  return undefined;
}

/** A short human breakdown of a priced range, e.g. "1000 × 0 + 500 × 0.5 (tier 2) + flat 100". */
export function describeParts(range: RangePrice): string {
  return range.parts
    .map((p) => {
      if (p.packages !== undefined) return `${p.packages} package(s) of ${p.packageSize} × ${p.unitPrice}`;
      const tier = p.tier !== undefined ? ` (tier ${p.tier + 1})` : '';
      const flat = p.flatFee > 0n ? ` + flat ${p.flatFee}` : '';
      return `${p.units} × ${p.unitPrice}${tier}${flat}`;
    })
    .join(' + ');
}
