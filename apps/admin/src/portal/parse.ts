import type { z } from 'zod';
import { ProblemError, type ProblemItem } from '../problem.js';

/** The part of a portal request a schema checks, named as in the admin API's problems (Fastify's validation contexts). */
export type RequestPart = 'body' | 'params' | 'querystring';

/**
 * Validates one part of a portal or admin request: a body, path or query that does not fit is 400
 * INVALID_REQUEST (the body was read; INVALID_BODY is only for one that cannot be, see
 * PROBLEM_STATUS), with every issue in `errors` at its field path (`body.name`, `params.id`,
 * `querystring.month`), so the portal's forms can mark the field.
 */
export function parsePart<T>(schema: z.ZodType<T>, value: unknown, part: RequestPart): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors: ProblemItem[] = parsed.error.issues.map((i) => ({ path: [part, ...i.path.map(String)].join('.'), code: i.code, message: i.message }));
  throw new ProblemError('INVALID_REQUEST', `invalid ${part}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { errors });
}
