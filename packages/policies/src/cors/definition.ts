import { defineErrors } from '../errors.js';
import type { PolicyMeta } from '../types.js';
import { corsSchema } from './schema.js';

/** Before authentication: a preflight carries no credential (Fetch §3.2.2), so it must be answered first. */
export const CORS_PRIORITY = 2500;

export const CORS_ERRORS = defineErrors({
  CORS_FORBIDDEN: { status: 403, title: 'CORS request refused', description: 'A preflight or cross-origin request from an origin, method or header the policy does not allow.' },
});

export const corsDefinition: PolicyMeta<typeof corsSchema> = {
  name: 'cors',
  summary: 'Answers CORS preflights and adds the CORS response headers for allowed origins (Fetch standard).',
  priority: CORS_PRIORITY,
  phases: ['access', 'response'],
  schema: corsSchema,
  errors: CORS_ERRORS,
};
