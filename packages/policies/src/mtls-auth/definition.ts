import { defineErrors } from '../errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { mtlsAuthSchema } from './schema.js';

export const MTLS_AUTH_ERRORS = defineErrors({
  CERTIFICATE_UNKNOWN: { status: 401, title: 'Unauthorized', description: 'The client certificate verified against the configured CA but matches no consumer (by fingerprint, subject or subjectAltName), or matches a selector two consumers claim.' },
});

export const mtlsAuthDefinition: PolicyMeta<typeof mtlsAuthSchema> = {
  name: 'mtls-auth',
  summary: 'Identifies the consumer by the client certificate the TLS listener verified (mutual TLS), by fingerprint, subject or SAN.',
  priority: PRIORITY.auth,
  phases: ['access'],
  schema: mtlsAuthSchema,
  errors: MTLS_AUTH_ERRORS,
  authenticates: true,
  credentials: true,
};
