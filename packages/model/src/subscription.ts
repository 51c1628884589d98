import { z } from 'zod';
import { resourceName } from './common.js';

export const subscriptionSpecSchema = z
  .strictObject({
    consumer: resourceName.describe('The subscribing Consumer.'),
    api: resourceName.optional().describe('The Api (one version) subscribed to; omit (and omit `product`) for every API.'),
    product: resourceName.optional().describe('The product subscribed to: every Api version whose `product` (default its name) is this. Exclusive with `api`.'),
    plan: resourceName.describe('The Plan whose limits and quota apply.'),
    start: z.iso.datetime({ offset: true }).describe('RFC 3339 time from which the subscription is active.'),
    end: z.iso.datetime({ offset: true }).optional().describe('RFC 3339 time at which it ends (exclusive); omit for open-ended.'),
  })
  .refine((s) => s.end === undefined || Date.parse(s.end) > Date.parse(s.start), { message: '"end" must be after "start"', path: ['end'] })
  .refine((s) => s.api === undefined || s.product === undefined, { message: 'give at most one of "api" and "product"', path: ['product'] })
  .describe('A subscription: a consumer on a plan for one API version, one product (all its versions) or all APIs, from start to an optional end.');

export type SubscriptionSpec = z.infer<typeof subscriptionSpecSchema>;
