import { defineErrors } from '../errors.js';
import { CLAIM_ERRORS } from '../identity/errors.js';
import { SHARED_ERRORS } from '../shared-errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { jwtAuthSchema } from './schema.js';

export const JWT_AUTH_ERRORS = defineErrors({
  INVALID_CREDENTIAL: { status: 401, title: 'Unauthorized', description: 'The credential is not valid: an unknown, revoked or expired API key, or a token that does not verify.' },
  TOKEN_EXPIRED: { status: 401, title: 'Unauthorized', description: 'The token verified but its `exp` has passed (RFC 7519 §4.1.4).' },
  JWKS_UNAVAILABLE: { status: 503, title: 'Service Unavailable', description: "The issuer's signing keys cannot be fetched and the cached set is older than `jwksStaleMs`." },
});

export const jwtAuthDefinition: PolicyMeta<typeof jwtAuthSchema> = {
  name: 'jwt-auth',
  summary: 'Verifies a JWT against pinned issuers, algorithms and audiences and maps it to a consumer.',
  priority: PRIORITY.auth,
  phases: ['access'],
  schema: jwtAuthSchema,
  errors: { ...JWT_AUTH_ERRORS, ...CLAIM_ERRORS, INVALID_HEADER_VALUE: SHARED_ERRORS.INVALID_HEADER_VALUE },
  authenticates: true,
  credentials: true,
};
