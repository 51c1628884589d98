import { z } from 'zod';

/**
 * An HTTP field (header) name in a policy config: an RFC 9110 §5.1 token, lower-cased, because
 * field names compare case-insensitively and the gateway reads request headers lower-cased.
 */
export const fieldName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP field name (RFC 9110 §5.1)')
  .transform((s) => s.toLowerCase());
