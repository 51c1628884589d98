import { defineErrors } from '../errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { basicAuthSchema } from './schema.js';

export const BASIC_AUTH_ERRORS = defineErrors({
  INVALID_CREDENTIAL: { status: 401, title: 'Unauthorized', description: 'The credential is not valid: an unknown, revoked or expired API key, or a token that does not verify.' },
});

export const basicAuthDefinition: PolicyMeta<typeof basicAuthSchema> = {
  name: 'basic-auth',
  summary: 'HTTP Basic user names and passwords (RFC 7617), verified against per-consumer scrypt hashes with a verified-credential cache.',
  priority: PRIORITY.auth,
  phases: ['access'],
  schema: basicAuthSchema,
  errors: BASIC_AUTH_ERRORS,
  authenticates: true,
  credentials: true,
};
