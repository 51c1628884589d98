import { defineErrors } from '../errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { oauth2JwksSchema, oauth2TokenSchema } from './schema.js';

/**
 * Errors of the token endpoint. The body is the RFC 6749 §5.2 JSON (`error`, `error_description`)
 * that OAuth clients parse, with the stable `code` added as an extension member.
 */
export const OAUTH2_TOKEN_ERRORS = defineErrors({
  OAUTH_INVALID_REQUEST: { status: 400, title: 'Invalid token request', description: 'The token request is malformed: not a POST form, a parameter missing or repeated, or more than one client authentication method (RFC 6749 §5.2).' },
  OAUTH_INVALID_CLIENT: { status: 401, title: 'Invalid client', description: 'Client authentication failed: unknown or revoked client, or wrong secret (RFC 6749 §5.2); answered with a `WWW-Authenticate: Basic` challenge.' },
  OAUTH_INVALID_SCOPE: { status: 400, title: 'Invalid scope', description: 'A requested scope is malformed or not one the client (and its consumer) may have (RFC 6749 §5.2).' },
  OAUTH_UNSUPPORTED_GRANT_TYPE: { status: 400, title: 'Unsupported grant type', description: 'The grant type is not `client_credentials`, the only one the gateway issues (RFC 6749 §5.2).' },
  OAUTH_SIGNING_UNAVAILABLE: { status: 503, title: 'Service Unavailable', description: 'The gateway has no usable token-signing key yet (its signing-key store is unreachable); retry shortly.' },
});

export const OAUTH2_JWKS_ERRORS = defineErrors({
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed on this route', description: 'A route matches the path but not the method; `Allow` lists the methods that do (RFC 9110 §15.5.6).' },
});

export const oauth2TokenDefinition: PolicyMeta<typeof oauth2TokenSchema> = {
  name: 'oauth2-token',
  summary: 'The OAuth 2.0 client-credentials token endpoint (RFC 6749 §4.4), issuing RFC 9068 JWT access tokens signed with rotated Tollgate keys.',
  // After limits (so a rate limit protects the endpoint from secret guessing), before transforms.
  priority: PRIORITY.limits - 10,
  phases: ['access'],
  schema: oauth2TokenSchema,
  errors: OAUTH2_TOKEN_ERRORS,
};

export const oauth2JwksDefinition: PolicyMeta<typeof oauth2JwksSchema> = {
  name: 'oauth2-jwks',
  summary: "Publishes the token issuer's public signing keys as a JWK Set (RFC 7517).",
  priority: PRIORITY.limits - 10,
  phases: ['access'],
  schema: oauth2JwksSchema,
  errors: OAUTH2_JWKS_ERRORS,
};
