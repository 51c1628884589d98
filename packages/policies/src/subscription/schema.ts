import { planSpecSchema, resourceName } from '@tollgate/model';
import { z } from 'zod';

/**
 * Config of the `subscription` policy. The compiler generates it for every API that requires a
 * subscription or is named by one (from the Subscription and Plan resources); operators do not
 * write it by hand.
 */
export const subscriptionPolicySchema = z
  .strictObject({
    usagePath: z.string().nullable().default(null).describe('Full request path answered with the caller\'s own usage (GET), or null.'),
    required: z.boolean().default(false).describe('Refuse consumers without an active subscription (403 SUBSCRIPTION_REQUIRED).'),
    subscriptions: z
      .array(
        z.strictObject({
          name: resourceName,
          consumer: resourceName,
          start: z.iso.datetime({ offset: true }),
          end: z.iso.datetime({ offset: true }).optional(),
          plan: z.strictObject({ name: resourceName, spec: planSpecSchema }),
        }),
      )
      .default([])
      .describe('Subscriptions that apply to this API, with their plans.'),
  })
  .describe('Generated from Subscription and Plan resources: subscription check and plan limits.');

export type SubscriptionPolicyConfig = z.output<typeof subscriptionPolicySchema>;
