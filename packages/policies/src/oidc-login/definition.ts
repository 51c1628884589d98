import { defineErrors } from '../errors.js';
import { SHARED_ERRORS } from '../shared-errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { oidcLoginSchema } from './schema.js';

export const OIDC_LOGIN_ERRORS = defineErrors({
  OIDC_LOGIN_FAILED: { status: 401, title: 'Unauthorized', description: 'The login callback failed: missing or mismatched state, an error returned by the provider, or a code the provider refused.' },
  OIDC_PROVIDER_UNAVAILABLE: { status: 503, title: 'Service Unavailable', description: 'The OpenID Provider did not answer (discovery, token or refresh request): the login cannot be completed now.' },
});

export const oidcLoginDefinition: PolicyMeta<typeof oidcLoginSchema> = {
  name: 'oidc-login',
  summary: 'OpenID Connect browser login (authorization code + PKCE) with an encrypted session cookie, refresh and logout.',
  priority: PRIORITY.auth,
  phases: ['access', 'response'],
  schema: oidcLoginSchema,
  errors: { ...OIDC_LOGIN_ERRORS, INVALID_HEADER_VALUE: SHARED_ERRORS.INVALID_HEADER_VALUE },
  authenticates: true,
  credentials: true,
};
