import { defineErrors } from '../errors.js';
import type { PolicyMeta } from '../types.js';
import { responseCacheSchema } from './schema.js';

/** After authentication and limits (so cached answers are still counted), before transforms. */
export const RESPONSE_CACHE_PRIORITY = 100;

export const RESPONSE_CACHE_ERRORS = defineErrors({
  NOT_CACHED: { status: 504, title: 'Not cached', description: 'The request says `only-if-cached` and no usable stored response exists (RFC 9111 §5.2.1.7).' },
});

export const responseCacheDefinition: PolicyMeta<typeof responseCacheSchema> = {
  name: 'response-cache',
  summary: 'Shared HTTP cache (RFC 9111) in memory and Redis, keyed per route, with purge.',
  priority: RESPONSE_CACHE_PRIORITY,
  phases: ['access', 'response'],
  schema: responseCacheSchema,
  errors: RESPONSE_CACHE_ERRORS,
};
