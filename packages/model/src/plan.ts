import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses a window such as `250ms`, `1s`, `10m`, `1h` or `1d` into milliseconds; null when invalid. */
export function parseWindow(s: string): number | null {
  const m = /^([1-9]\d{0,8})(ms|s|m|h|d)$/.exec(s);
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** Whether `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** One rate limit: `limit` requests (or cost units) per fixed `window`. */
export const windowLimitSchema = z
  .strictObject({
    limit: z.number().int().min(1).max(1e12).describe('Requests (or cost units) allowed per window.'),
    window: z
      .string()
      .refine((s) => parseWindow(s) !== null, 'must be a duration like "1s", "10m", "1h" or "1d"')
      .describe('Window length; windows are fixed and aligned to the Unix epoch, so every node agrees on them.'),
  })
  .describe('A rate limit: requests per window.');

/** A monthly quota aligned to calendar months of a time zone. */
export const monthlyQuotaSchema = z
  .strictObject({
    limit: z.number().int().min(1).max(1e15).describe('Requests (or cost units) per calendar month.'),
    timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone, e.g. "Europe/Berlin"').default('UTC').describe('Time zone whose calendar months the quota follows.'),
    overage: z.enum(['hard', 'allow']).default('hard').describe('`hard`: 429 once used up; `allow`: keep serving and count the overage (billed later).'),
    alertThresholds: z
      .array(z.number().int().min(1).max(99))
      .max(10)
      .optional()
      .describe(`Percentages of the quota at which a \`quota.threshold\` event is raised, once per subscription and month (default ${JSON.stringify([50, 80])}); \`quota.exhausted\` is always raised at 100 %.`),
  })
  .describe('A monthly quota aligned to calendar months.');

/** Quota alert thresholds of a plan without `alertThresholds` (percent). */
export const DEFAULT_QUOTA_ALERT_THRESHOLDS: readonly number[] = [50, 80];

/** Limits must not repeat a window length (which bucket would win is undefined). */
export function distinctWindows(limits: readonly { window: string }[]): boolean {
  return new Set(limits.map((l) => parseWindow(l.window))).size === limits.length;
}

/** Whole minor units of the plan's currency (cents for EUR/USD, yen for JPY): never floating point. */
const minorUnits = z.number().int().min(0).max(1e13);

/**
 * A unit price in minor units as a decimal string, so fractions of a cent per request ("0.05") are
 * exact: amounts are computed in integer arithmetic and rounded once per report line.
 */
export const unitPriceSchema = z
  .string()
  .regex(/^\d{1,12}(\.\d{1,9})?$/, 'must be a decimal number of minor units, e.g. "0.05" or "12"')
  .describe('Price of one unit in minor units of the currency, as a decimal string (up to 9 decimals), e.g. "0.05" = 0.05 cents.');

export const priceTierSchema = z
  .strictObject({
    upTo: z.number().int().min(1).max(1e15).nullable().describe('Last unit of the tier (inclusive); null for the last, unbounded tier.'),
    unitPrice: unitPriceSchema,
    flatFee: minorUnits.default(0).describe('Fixed amount charged once when any unit falls in this tier (minor units).'),
  })
  .describe('One pricing tier.');

/** Tiers must ascend and end with an unbounded tier. */
function tiersValid(tiers: readonly { upTo: number | null }[]): boolean {
  for (let i = 0; i < tiers.length; i++) {
    const t = tiers[i]?.upTo;
    const last = i === tiers.length - 1;
    if (last !== (t === null)) return false;
    const prev = i === 0 ? 0 : tiers[i - 1]?.upTo;
    if (t !== null && t !== undefined && typeof prev === 'number' && t <= prev) return false;
  }
  return true;
}
const tiers = z
  .array(priceTierSchema)
  .min(1)
  .max(32)
  .refine(tiersValid, 'tiers must have ascending "upTo" and end with one "upTo: null" tier')
  .describe('Tiers in ascending order of `upTo`; the last one has `upTo: null`.');

export const chargeModelSchema = z
  .union([
    z.strictObject({ perUnit: z.strictObject({ unitPrice: unitPriceSchema }).describe('Every billable unit past the included ones costs unitPrice.') }),
    z.strictObject({ graduated: z.strictObject({ tiers }).describe('Each unit is priced by the tier it falls in (like income tax brackets).') }),
    z.strictObject({ volume: z.strictObject({ tiers }).describe('All units are priced by the single tier the total falls in.') }),
    z.strictObject({
      package: z
        .strictObject({ size: z.number().int().min(1).max(1e12).describe('Units per package, e.g. 1000.'), price: minorUnits.describe('Price of one package (minor units); a started package is charged whole.') })
        .describe('Units are sold in packages; a started package is charged whole.'),
    }),
  ])
  .describe('How billable units past the included ones are charged: exactly one of perUnit, graduated, volume or package.');

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export const billingSchema = z
  .strictObject({
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "EUR"')
      .refine((c) => (Intl.supportedValuesOf('currency') as string[]).includes(c), 'must be an ISO 4217 currency code this runtime knows')
      .describe('ISO 4217 currency of every amount of the plan.'),
    timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone, e.g. "Europe/Berlin"').default('UTC').describe('Time zone whose calendar months are the billing periods.'),
    baseFee: minorUnits.default(0).describe('Fixed fee per month (minor units), prorated for a partial month.'),
    includedUnits: z.number().int().min(0).max(1e15).default(0).describe('Units included in the base fee each month, per metric, before the charge model applies.'),
    charge: chargeModelSchema.optional().describe('Charge for units past the included ones; omit when they are free.'),
    metrics: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a metric name (lower-case letters, digits and "_")'),
        z.strictObject({
          unit: z.string().min(1).max(32).optional().describe('Name of one unit on reports (default "request" for `requests`, else "unit").'),
          includedUnits: z.number().int().min(0).max(1e15).optional().describe('Included units of this metric per month (default: the plan\'s `includedUnits`).'),
          charge: chargeModelSchema.optional().describe('Charge model of this metric (default: the plan\'s `charge`).'),
        }),
      )
      .optional()
      .describe('Per-metric overrides, keyed by metric name (routes name their metric in `metering.metric`).'),
    billable: z
      .strictObject({
        statuses: z.array(z.enum(STATUS_CLASSES)).default(['2xx', '3xx']).describe('Status classes of upstream responses that are billable.'),
        gatewayResponses: z.boolean().default(false).describe('Also bill responses the gateway produced itself (429, 401, 502, ...) whose class is listed.'),
      })
      .default({ statuses: ['2xx', '3xx'], gatewayResponses: false })
      .describe('Which responses count towards the invoice; by default upstream 2xx and 3xx only.'),
  })
  .describe('Pricing of the plan. All money is in integer minor units of `currency`.');

export type BillingSpec = z.infer<typeof billingSchema>;
export type ChargeModel = z.infer<typeof chargeModelSchema>;
export type PriceTier = z.infer<typeof priceTierSchema>;

export const planSpecSchema = z
  .strictObject({
    limits: z.array(windowLimitSchema).max(8).default([]).describe('Rate limits of a subscriber, all enforced together (e.g. 10 per second and 1000 per hour).'),
    quota: monthlyQuotaSchema.optional(),
    failMode: z.enum(['open', 'closed']).default('open').describe('Shared counter store unreachable: `open` keeps limiting per node in process; `closed` answers 503 LIMITS_UNAVAILABLE.'),
    description: z.string().max(1024).optional().describe('Free text for operators.'),
    billing: billingSchema.optional(),
  })
  .refine((p) => distinctWindows(p.limits), { message: 'two limits with the same window', path: ['limits'] })
  .describe('A plan: the rate limits and monthly quota a subscription grants. `billing` prices it.');

export type PlanSpec = z.infer<typeof planSpecSchema>;
