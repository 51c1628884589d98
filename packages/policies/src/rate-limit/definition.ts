import { defineErrors } from '../errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { rateLimitSchema } from './schema.js';

/** Errors of every limiter: rate-limit policies and plan limits applied by the subscription policy. */
export const LIMIT_ERRORS = defineErrors({
  RATE_LIMITED: { status: 429, title: 'Too many requests', description: 'A rate-limit window is full; `Retry-After` says when to retry (RFC 6585 §4).' },
  QUOTA_EXCEEDED: { status: 429, title: 'Quota exceeded', description: "The plan's hard monthly quota is used up; it resets at the start of the next month in the plan's time zone." },
  LIMITS_UNAVAILABLE: { status: 503, title: 'Service unavailable', description: 'The shared counter store (Redis) cannot be reached and the limit fails closed.' },
});

export const rateLimitDefinition: PolicyMeta<typeof rateLimitSchema> = {
  name: 'rate-limit',
  summary: 'Fixed or sliding windows per consumer, credential, IP or header, counted across nodes in Redis.',
  priority: PRIORITY.limits,
  phases: ['access', 'response'],
  schema: rateLimitSchema,
  errors: LIMIT_ERRORS,
};
