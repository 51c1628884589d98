import type { z } from 'zod';
import { YamlText } from '../documents.js';
import { parsePart } from '../portal/parse.js';
import { ProblemError } from '../problem.js';

/** Refuses a YAML body on an endpoint that takes JSON only: 415, as for any other media type it does not take (RFC 9110 §15.5.16). */
export function requireJsonBody(body: unknown): void {
  if (body instanceof YamlText) throw new ProblemError('UNSUPPORTED_MEDIA_TYPE', 'this endpoint takes a JSON body (application/json)');
}

/**
 * Validates a small JSON body with its zod schema (route schemas leave bodies to handlers, see
 * build-admin.ts); a missing body counts as `{}`. Issues are 400 INVALID_REQUEST at `body.<field>`
 * (the body was read; a value in it is wrong: see PROBLEM_STATUS for the rule).
 */
export function readBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  requireJsonBody(body);
  return parsePart(schema, body ?? {}, 'body') as z.infer<S>;
}
