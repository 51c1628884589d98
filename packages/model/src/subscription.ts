import { z } from 'zod';
import { resourceName } from './common.js';

export const subscriptionSpecSchema = z
  .strictObject({
    consumer: resourceName.describe('The subscribing Consumer.'),
    api: resourceName.optional().describe('The Api subscribed to; omit for every API.'),
    plan: resourceName.describe('The Plan whose limits and quota apply.'),
    start: z.iso.datetime({ offset: true }).describe('RFC 3339 time from which the subscription is active.'),
    end: z.iso.datetime({ offset: true }).optional().describe('RFC 3339 time at which it ends (exclusive); omit for open-ended.'),
  })
  .refine((s) => s.end === undefined || Date.parse(s.end) > Date.parse(s.start), { message: '"end" must be after "start"', path: ['end'] })
  .describe('A subscription: a consumer on a plan for one API (or all), from start to an optional end.');

export type SubscriptionSpec = z.infer<typeof subscriptionSpecSchema>;
