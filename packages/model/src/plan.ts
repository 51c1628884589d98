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
  })
  .describe('A monthly quota aligned to calendar months.');

/** Limits must not repeat a window length (which bucket would win is undefined). */
export function distinctWindows(limits: readonly { window: string }[]): boolean {
  return new Set(limits.map((l) => parseWindow(l.window))).size === limits.length;
}

export const planSpecSchema = z
  .strictObject({
    limits: z.array(windowLimitSchema).max(8).default([]).describe('Rate limits of a subscriber, all enforced together (e.g. 10 per second and 1000 per hour).'),
    quota: monthlyQuotaSchema.optional(),
    failMode: z.enum(['open', 'closed']).default('open').describe('Shared counter store unreachable: `open` keeps limiting per node in process; `closed` answers 503 LIMITS_UNAVAILABLE.'),
    description: z.string().max(1024).optional().describe('Free text for operators.'),
  })
  .refine((p) => distinctWindows(p.limits), { message: 'two limits with the same window', path: ['limits'] })
  .describe('A plan: the rate limits and monthly quota a subscription grants. Pricing is not part of this version.');

export type PlanSpec = z.infer<typeof planSpecSchema>;
