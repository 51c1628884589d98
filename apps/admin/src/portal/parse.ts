import type { z } from 'zod';
import { ProblemError, type ProblemCode, type ProblemItem } from '../problem.js';

/** The part of a portal request a schema checks, named as in the admin API's problems (Fastify's validation contexts). */
export type RequestPart = 'body' | 'params' | 'querystring';

/**
 * Validates one part of a portal request: a body that does not fit is 400 INVALID_BODY, a path or
 * query that does not is 400 INVALID_REQUEST; either way every issue is in `errors` with its field
 * path (`body.name`, `params.id`, `querystring.month`), so the portal's forms can mark the field.
 * `code` overrides the problem code (the admin API's small JSON bodies answer INVALID_REQUEST).
 */
export function parsePart<T>(schema: z.ZodType<T>, value: unknown, part: RequestPart, code?: ProblemCode): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors: ProblemItem[] = parsed.error.issues.map((i) => ({ path: [part, ...i.path.map(String)].join('.'), code: i.code, message: i.message }));
  throw new ProblemError(code ?? (part === 'body' ? 'INVALID_BODY' : 'INVALID_REQUEST'), `invalid ${part}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { errors });
}
