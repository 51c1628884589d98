/**
 * Exact money arithmetic. Amounts are integers of minor units (cents); unit prices are decimal
 * strings of minor units with up to 9 decimals (see `unitPriceSchema` in @tollgate/model), held
 * here as bigint counts of nano-minor-units (10^-9 of a minor unit). Nothing is ever a float.
 */

/** Decimals a unit price may have; prices are scaled by 10^PRICE_DECIMALS to integers. */
export const PRICE_DECIMALS = 9;
/** One minor unit in nano-minor-units. */
export const NANO = 10n ** BigInt(PRICE_DECIMALS);

const DECIMAL = /^(\d+)(?:\.(\d{1,9}))?$/;

/** Parses a decimal string of minor units ("0.05", "12") into nano-minor-units. Throws on anything else. */
export function parsePrice(price: string): bigint {
  const m = DECIMAL.exec(price);
  if (!m) throw new Error(`not a decimal price: ${JSON.stringify(price)}`);
  const frac = (m[2] ?? '').padEnd(PRICE_DECIMALS, '0');
  return BigInt(m[1] as string) * NANO + BigInt(frac);
}

/** The canonical decimal string of a nano-minor-unit amount: no trailing zeros, no trailing dot ("0.05", "12"). */
export function formatPrice(nano: bigint): string {
  if (nano < 0n) return `-${formatPrice(-nano)}`;
  const whole = nano / NANO;
  const frac = (nano % NANO).toString().padStart(PRICE_DECIMALS, '0').replace(/0+$/, '');
  return frac === '' ? whole.toString() : `${whole}.${frac}`;
}

/**
 * Rounds nano-minor-units to whole minor units, half up (away from zero for the non-negative
 * amounts billing produces): 0.5 cent becomes 1 cent, 0.4999999999 cent becomes 0. This is the
 * only rounding a report does, once per report line.
 */
export function roundHalfUp(nano: bigint): bigint {
  if (nano < 0n) return -roundHalfUp(-nano);
  return (nano + NANO / 2n) / NANO;
}

/** `numerator / denominator` rounded half up, for non-negative integers (prorated base fees). */
export function divideHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new Error('division by a non-positive number');
  return (2n * numerator + denominator) / (2n * denominator);
}

/** Number of minor-unit decimals of an ISO 4217 currency (2 for EUR, 0 for JPY, 3 for KWD). */
export function currencyDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/**
 * Minor units as a major-unit decimal string for display ("1234" EUR → "12.34", JPY → "1234"),
 * computed on integers so no amount is ever misprinted by a float.
 */
export function formatMajor(minor: bigint, currency: string): string {
  const digits = currencyDigits(currency);
  const sign = minor < 0n ? '-' : '';
  const abs = minor < 0n ? -minor : minor;
  const scale = 10n ** BigInt(digits);
  const whole = (abs / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  if (digits === 0) return `${sign}${whole}`;
  return `${sign}${whole}.${(abs % scale).toString().padStart(digits, '0')}`;
}

/** A bigint as a JSON-safe number; refuses values a double cannot hold exactly. */
export function toSafeNumber(n: bigint): number {
  const v = Number(n);
  if (!Number.isSafeInteger(v)) throw new Error(`amount ${n} exceeds the exactly representable range`);
  return v;
}
