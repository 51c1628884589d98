import { defineErrors } from './errors.js';

/** Errors the policy runner raises itself, whatever the policies of a route are. */
export const SHARED_ERRORS = defineErrors({
  AUTH_REQUIRED: { status: 401, title: 'Unauthorized', description: "The route requires a credential and none was found; `WWW-Authenticate` lists every auth policy's challenge (RFC 9110 §11.6.1)." },
  CREDENTIALS_MISMATCH: { status: 401, title: 'Unauthorized', description: 'With `auth.mode: all`, the credentials presented belong to different consumers.' },
  INVALID_HEADER_VALUE: { status: 400, title: 'Invalid header value', description: 'A header value produced from request data (template, claim, capture) is not an RFC 9110 §5.5 field value.' },
});
