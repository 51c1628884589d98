import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `250ms`, `1s`, `10m`, `1h`, `1d` into milliseconds; null when invalid. */
export function parseWindow(s: string): number | null {
  const m = /^([1-9]\d{0,8})(ms|s|m|h|d)$/.exec(s);
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const windowSchema = z.strictObject({
  limit: z.number().int().min(1).max(1e12).describe('Requests (or cost units) allowed per window.'),
  window: z
    .string()
    .refine((s) => parseWindow(s) !== null, 'must be a duration like "1s", "10m", "1h" or "1d"')
    .describe('Window length; windows are fixed and aligned to the Unix epoch, so every node agrees on them.'),
});

export const rateLimitSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).default('default').describe('Policy name in `RateLimit`/`RateLimit-Policy` and in counter keys.'),
    limits: z.array(windowSchema).max(8).default([]).describe('Rate limits, all enforced together (e.g. 10 per second and 1000 per hour).'),
    quota: z
      .strictObject({
        limit: z.number().int().min(1).max(1e15).describe('Requests (or cost units) per calendar month.'),
        timeZone: z.string().refine(validTimeZone, 'must be an IANA time zone, e.g. "Europe/Berlin"').default('UTC').describe('Time zone whose calendar months the quota follows.'),
        overage: z.enum(['hard', 'allow']).default('hard').describe('`hard`: 429 once used up; `allow`: keep serving and count the overage (billed later).'),
      })
      .optional()
      .describe('A monthly quota aligned to calendar months.'),
    by: z.enum(['consumer', 'ip', 'header', 'route']).default('consumer').describe('What a bucket counts: the consumer (anonymous callers by client IP), the client IP (IPv6 grouped by /64), a header value, or the route as a whole.'),
    header: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/).optional().describe('Header whose value keys the bucket when `by` is `header` (a missing header is keyed by client IP).'),
    cost: z.number().int().min(0).max(1_000_000).default(1).describe('Units each request consumes (weighted routes).'),
    failMode: z.enum(['open', 'closed']).default('open').describe('Shared counter store unreachable: `open` keeps limiting per node in process; `closed` answers 503 LIMITS_UNAVAILABLE.'),
  })
  .refine((c) => c.limits.length > 0 || c.quota !== undefined, { message: 'set at least one of "limits" or "quota"', path: ['limits'] })
  .refine((c) => c.by !== 'header' || c.header !== undefined, { message: '"header" is required when "by" is "header"', path: ['header'] })
  .refine((c) => new Set(c.limits.map((l) => parseWindow(l.window))).size === c.limits.length, { message: 'two limits with the same window', path: ['limits'] })
  .describe('Rate limits (fixed windows) and a calendar-month quota, exact across gateway nodes through the shared counter store.');

export type RateLimitConfig = z.output<typeof rateLimitSchema>;
