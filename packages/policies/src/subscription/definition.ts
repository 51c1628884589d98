import { defineErrors } from '../errors.js';
import { LIMIT_ERRORS } from '../rate-limit/definition.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { subscriptionPolicySchema } from './schema.js';

export const SUBSCRIPTION_ERRORS = defineErrors({
  CONSUMER_REQUIRED: { status: 403, title: 'Forbidden', description: 'The route meters usage per consumer and the caller was not identified.' },
  SUBSCRIPTION_REQUIRED: { status: 403, title: 'Forbidden', description: 'The consumer has no active subscription to a plan covering this API.' },
});

export const subscriptionDefinition: PolicyMeta<typeof subscriptionPolicySchema> = {
  name: 'subscription',
  summary: "Requires an active subscription and applies its plan's rate limits and quota.",
  priority: PRIORITY.limits,
  phases: ['access', 'response'],
  schema: subscriptionPolicySchema,
  errors: { ...SUBSCRIPTION_ERRORS, ...LIMIT_ERRORS },
};
