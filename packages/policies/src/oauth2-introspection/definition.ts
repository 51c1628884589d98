import { defineErrors } from '../errors.js';
import { CLAIM_ERRORS } from '../identity/errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { introspectionSchema } from './schema.js';

export const INTROSPECTION_ERRORS = defineErrors({
  INVALID_CREDENTIAL: { status: 401, title: 'Unauthorized', description: 'The credential is not valid: an unknown, revoked or expired API key, or a token that does not verify.' },
  TOKEN_EXPIRED: { status: 401, title: 'Unauthorized', description: 'The token verified but its `exp` has passed (RFC 7519 §4.1.4).' },
  INTROSPECTION_UNAVAILABLE: {
    status: 503,
    title: 'Service Unavailable',
    description: 'The RFC 7662 introspection endpoint could not judge the token (unreachable, timed out, refused the gateway’s client credentials or answered something that is not an introspection response).',
  },
});

export const introspectionDefinition: PolicyMeta<typeof introspectionSchema> = {
  name: 'oauth2-introspection',
  summary: 'Opaque access tokens judged by an external authorization server (RFC 7662 introspection), with a bounded positive and negative cache.',
  priority: PRIORITY.auth,
  phases: ['access'],
  schema: introspectionSchema,
  errors: { ...INTROSPECTION_ERRORS, ...CLAIM_ERRORS },
  authenticates: true,
  credentials: true,
};
