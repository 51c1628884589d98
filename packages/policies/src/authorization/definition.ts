import { defineErrors } from '../errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { authorizationSchema } from './schema.js';

export const AUTHORIZATION_ERRORS = defineErrors({
  AUTHZ_DENIED: { status: 403, title: 'Forbidden', description: 'An authorization rule (Istio AuthorizationPolicy semantics) denies the request, or no ALLOW rule matches.' },
});

export const authorizationDefinition: PolicyMeta<typeof authorizationSchema> = {
  name: 'authorization',
  summary: 'ALLOW / DENY rules over principals, claims, source addresses, methods and paths (Istio AuthorizationPolicy semantics).',
  priority: PRIORITY.authorization,
  phases: ['access'],
  schema: authorizationSchema,
  errors: AUTHORIZATION_ERRORS,
};
