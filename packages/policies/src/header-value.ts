import { isFieldValue } from '@tollgate/model';
import { problemOf } from './errors.js';
import { SHARED_ERRORS } from './shared-errors.js';
import type { PolicyProblem, PolicyReply } from './types.js';

export { isFieldValue };

/** Stable code of a request whose data would produce an invalid header value (see {@link invalidHeaderReply}). */
export const INVALID_HEADER_VALUE = SHARED_ERRORS.INVALID_HEADER_VALUE.code;

/**
 * The problem of a header value produced from request data (a template over the query, a header,
 * a path capture, a JWT claim ...) that is not an RFC 9110 §5.5 field value: CR, LF, NUL or another
 * control character. Sending it would split the header (request injection on a raw WebSocket
 * handshake) or make the HTTP client throw; the request is refused instead, before anything
 * reaches the upstream. The value is never echoed. Built once per configured header name.
 */
export function invalidHeaderProblem(header: string): PolicyProblem {
  return Object.freeze(problemOf(SHARED_ERRORS.INVALID_HEADER_VALUE, `the value produced for the header ${header} from the request is not a valid HTTP field value (RFC 9110 §5.5: no CR, LF, NUL or other control characters)`));
}

/** The 400 reply refusing a request whose data produced an invalid value for `header`. */
export function invalidHeaderReply(header: string): PolicyReply {
  return Object.freeze({ status: SHARED_ERRORS.INVALID_HEADER_VALUE.status, body: invalidHeaderProblem(header) });
}

/** Frozen replies per header name, made when a policy is built (nothing allocated per request). */
export function invalidHeaderReplies(names: Iterable<string>): ReadonlyMap<string, PolicyReply> {
  const m = new Map<string, PolicyReply>();
  for (const n of names) m.set(n, invalidHeaderReply(n));
  return m;
}
