import { defineErrors } from '../errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { httpSignatureSchema } from './schema.js';

/** Stable codes of each way a signed request can fail (RFC 9421 §3.2 verification steps). */
export const HTTP_SIGNATURE_ERRORS = defineErrors({
  SIGNATURE_INVALID: { status: 401, title: 'Unauthorized', description: 'The HTTP message signature is malformed, names an algorithm other than its key\'s, covers a component the request lacks, or does not verify (RFC 9421 §3.2).' },
  SIGNATURE_COMPONENT_MISSING: { status: 401, title: 'Unauthorized', description: 'The signature does not cover a component the route requires (`requiredComponents`, or `content-digest` for a request with a body).' },
  SIGNATURE_KEY_UNKNOWN: { status: 401, title: 'Unauthorized', description: 'The signature\'s `keyid` names no registered signature key, an expired one, or one of an algorithm the route does not accept.' },
  SIGNATURE_EXPIRED: { status: 401, title: 'Unauthorized', description: 'The signature is older than `maxAgeSec` (plus the clock skew) or past its `expires`.' },
  SIGNATURE_CLOCK_SKEW: { status: 401, title: 'Unauthorized', description: 'The signature\'s `created` is further in the future than `clockSkewSec`: the signer\'s clock is ahead.' },
  SIGNATURE_REPLAYED: { status: 401, title: 'Unauthorized', description: 'The same signature was already accepted within its window (replay protection).' },
  CONTENT_DIGEST_MISMATCH: { status: 401, title: 'Unauthorized', description: 'The body does not match the signed `Content-Digest` (RFC 9530), or the field carries no sha-256 / sha-512 digest.' },
  SIGNATURE_BODY_TOO_LARGE: { status: 413, title: 'Content Too Large', description: 'The body of a signed request exceeds `maxBodyBytes`, so its Content-Digest cannot be checked.' },
  SIGNATURE_REPLAY_CHECK_UNAVAILABLE: { status: 503, title: 'Service Unavailable', description: 'The replay store (Redis) did not answer: the gateway cannot tell a replay apart, so it refuses (fails closed).' },
});

export const httpSignatureDefinition: PolicyMeta<typeof httpSignatureSchema> = {
  name: 'http-signature',
  summary: 'Verifies an HTTP Message Signature (RFC 9421, hmac-sha256 or ed25519) made with a key registered on a consumer, with replay protection.',
  priority: PRIORITY.auth,
  phases: ['access'],
  schema: httpSignatureSchema,
  errors: HTTP_SIGNATURE_ERRORS,
  authenticates: true,
  credentials: true,
};
