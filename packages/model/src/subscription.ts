import { z } from 'zod';
import { resourceName } from './common.js';

/** Dates and times compared before the plan's zone is known: a date as its UTC midnight (±14 h). */
function comparable(value: string): number {
  return Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
}

export const subscriptionSpecSchema = z
  .strictObject({
    consumer: resourceName.describe('The subscribing Consumer.'),
    api: resourceName.optional().describe('The Api (one version) subscribed to; omit (and omit `product`) for every API.'),
    product: resourceName.optional().describe('The product subscribed to: every Api version whose `product` (default its name) is this. Exclusive with `api`.'),
    plan: resourceName.describe('The Plan whose limits and quota apply.'),
    start: z
      .union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'must be an RFC 3339 time (2026-12-01T00:00:00+01:00) or a date (2026-12-01)' })
      .describe("RFC 3339 time from which the subscription is active, or a date (`2026-12-01`): the start of that day in the plan's time zone (its billing zone, else its quota's, else UTC), stored as that instant."),
    end: z
      .union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'must be an RFC 3339 time or a date (2026-12-01)' })
      .optional()
      .describe("RFC 3339 time at which it ends (exclusive), or a date: the start of that day in the plan's time zone; omit for open-ended."),
  })
  .refine((s) => s.end === undefined || comparable(s.end) > comparable(s.start), { message: '"end" must be after "start"', path: ['end'] })
  .refine((s) => s.api === undefined || s.product === undefined, { message: 'give at most one of "api" and "product"', path: ['product'] })
  .describe('A subscription: a consumer on a plan for one API version, one product (all its versions) or all APIs, from start to an optional end.');

export type SubscriptionSpec = z.infer<typeof subscriptionSpecSchema>;
