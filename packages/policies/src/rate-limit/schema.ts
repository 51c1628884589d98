import { distinctWindows, monthlyQuotaSchema, windowLimitSchema } from '@tollgate/model';
import { z } from 'zod';

export const rateLimitSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).default('default').describe('Policy name in `RateLimit`/`RateLimit-Policy` and in counter keys.'),
    limits: z.array(windowLimitSchema).max(8).default([]).describe('Rate limits, all enforced together (e.g. 10 per second and 1000 per hour).'),
    quota: monthlyQuotaSchema.optional(),
    by: z.enum(['consumer', 'credential', 'ip', 'header', 'route']).default('consumer').describe('What a bucket counts: the consumer (anonymous callers by client IP), the credential (each API key, or each JWT issuer + subject, separately; unauthenticated callers by client IP), the client IP (IPv6 grouped by /64), a header value, or the route as a whole.'),
    header: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/).optional().describe('Header whose value keys the bucket when `by` is `header` (a missing header is keyed by client IP).'),
    cost: z.number().int().min(0).max(1_000_000).default(1).describe('Units each request consumes (weighted routes).'),
    failMode: z.enum(['open', 'closed']).default('open').describe('Shared counter store unreachable: `open` keeps limiting per node in process; `closed` answers 503 LIMITS_UNAVAILABLE.'),
  })
  .refine((c) => c.limits.length > 0 || c.quota !== undefined, { message: 'set at least one of "limits" or "quota"', path: ['limits'] })
  .refine((c) => c.by !== 'header' || c.header !== undefined, { message: '"header" is required when "by" is "header"', path: ['header'] })
  .refine((c) => distinctWindows(c.limits), { message: 'two limits with the same window', path: ['limits'] })
  .describe('Rate limits (fixed windows) and a calendar-month quota, exact across gateway nodes through the shared counter store.');

export type RateLimitConfig = z.output<typeof rateLimitSchema>;
