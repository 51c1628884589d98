import { defineErrors } from '../errors.js';

/** Errors of the claim requirements (`requiredScopes`, `claimValues`) shared by jwt-auth and acl. */
export const CLAIM_ERRORS = defineErrors({
  INSUFFICIENT_SCOPE: { status: 403, title: 'Forbidden', description: 'The verified token lacks a scope the route requires (RFC 6750 §3.1 `insufficient_scope`).' },
  CLAIM_MISMATCH: { status: 403, title: 'Forbidden', description: 'The verified token does not carry a claim value the route requires.' },
});
