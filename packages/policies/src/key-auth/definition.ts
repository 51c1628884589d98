import { defineErrors } from '../errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { keyAuthSchema } from './schema.js';

export const KEY_AUTH_ERRORS = defineErrors({
  INVALID_CREDENTIAL: { status: 401, title: 'Unauthorized', description: 'The credential is not valid: an unknown, revoked or expired API key, or a token that does not verify.' },
});

export const keyAuthDefinition: PolicyMeta<typeof keyAuthSchema> = {
  name: 'key-auth',
  summary: 'API keys from headers or query parameters, looked up by their SHA-256 in the consumer index.',
  priority: PRIORITY.auth,
  phases: ['access'],
  schema: keyAuthSchema,
  errors: KEY_AUTH_ERRORS,
  authenticates: true,
  credentials: true,
};
