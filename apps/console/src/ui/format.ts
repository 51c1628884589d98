/** Formatting shared by the screens: numbers, dates, durations and money in minor units. */

const integer = new Intl.NumberFormat('en-US');

export const formatNumber = (n: number): string => integer.format(n);

export const formatPercent = (share: number): string => `${(share * 100).toFixed(share > 0 && share < 0.01 ? 2 : 1)} %`;

export function formatDateTime(iso: string | undefined, seconds = false): string {
  if (iso === undefined) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: seconds ? 'medium' : 'short', timeZone: 'UTC' }) + ' UTC';
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 3_600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3_600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}

/** Amount in integer minor units of an ISO 4217 currency (cents for EUR), as the billing API stores money. */
export function formatMoney(minor: number, currency: string): string {
  try {
    const f = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
    return f.format(minor / 10 ** digits);
  } catch {
    return `${minor} ${currency} (minor units)`;
  }
}

/** A unit price given as a decimal string of minor units ("0.05" = 0.05 cents), in major units. */
export function formatUnitPrice(minor: string, currency: string): string {
  try {
    const f = new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: 8 });
    const digits = new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    return f.format(Number(minor) / 10 ** digits);
  } catch {
    return `${minor} ${currency} (minor units)`;
  }
}

/** The current month as YYYY-MM (UTC). */
export function thisMonth(now = new Date()): string {
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}
