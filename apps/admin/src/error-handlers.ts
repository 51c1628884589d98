import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ApplyRejectedError, isDatabaseUnavailable, RecordNotFoundError, ResourceConflictError } from '@tollgate/stores';
import { ProblemError, sendProblem, type ProblemCode, type ProblemItem } from './problem.js';

/** Fastify's own error codes and the problem each becomes. */
const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_BODY',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_BODY',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

/** Seconds a client is asked to wait before retrying while the database is unavailable (RFC 9110 §10.2.3). */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Requests answered DATABASE_UNAVAILABLE: the audit hook does not try to write to the same unreachable database. */
export const databaseUnavailableRequests = new WeakSet<object>();

/**
 * Fastify's `frameworkErrors` hook: errors raised before a route is found (a path that is not
 * valid percent-encoding, an over-long path parameter) become problems like every other error.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  // No onRequest hook ran for this request, so the id header is set here.
  reply.header('x-request-id', request.id);
  if (error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    sendProblem(request, reply, 'INVALID_REQUEST', error.message);
    return;
  }
  request.log.error({ err: error }, 'framework error in admin API');
  sendProblem(request, reply, 'INTERNAL', 'an unexpected error occurred; the server log has details under this requestId');
}

/**
 * Makes every error an RFC 9457 problem: our own ProblemErrors, store conflicts, Fastify's
 * parser and validation errors, and anything unexpected (500, logged, never with a stack).
 */
export function registerErrorHandlers(app: FastifyInstance, server: 'admin' | 'portal' = 'admin'): void {
  app.setNotFoundHandler((request, reply) => sendProblem(request, reply, 'NOT_FOUND', `no ${server} route ${request.method} ${request.url.split('?')[0] ?? ''}`));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ProblemError) {
      return sendProblem(request, reply, error.code, error.message, { errors: error.errors, headers: error.headers });
    }
    if (error instanceof ResourceConflictError) {
      return error.reason === 'exists' ? sendProblem(request, reply, 'ALREADY_EXISTS', error.message) : sendProblem(request, reply, 'NOT_FOUND', error.message);
    }
    if (error instanceof RecordNotFoundError) return sendProblem(request, reply, 'NOT_FOUND', error.message);
    if (error instanceof ApplyRejectedError) {
      // Normally mapped by the route with document indexes; this is the fallback.
      return sendProblem(request, reply, 'INVALID_CONFIG', 'the resulting configuration does not compile', { errors: error.issues });
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const part = error.validationContext ?? 'request';
      const errors: ProblemItem[] = error.validation.map((v) => ({
        path: [part, ...v.instancePath.split('/').filter((s) => s !== '')].join('.'),
        code: String(v.keyword),
        message: v.message ?? 'invalid',
      }));
      return sendProblem(request, reply, 'INVALID_REQUEST', `invalid ${part}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { errors });
    }
    if (isDatabaseUnavailable(error)) {
      // Postgres down, restarting, partitioned or timed out: a temporary condition of the server, not
      // a bug; 503 with Retry-After tells clients and proxies to retry (RFC 9110 §15.6.4).
      databaseUnavailableRequests.add(request);
      request.log.warn({ err: error }, 'database unavailable');
      return sendProblem(request, reply, 'DATABASE_UNAVAILABLE', 'the database is unavailable (unreachable, restarting or timed out); retry later', { headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) } });
    }
    const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (mapped) return sendProblem(request, reply, mapped, error.message);
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendProblem(request, reply, 'INVALID_REQUEST', error.message);
    request.log.error({ err: error }, `unhandled error in ${server === 'admin' ? 'admin API' : 'developer portal'}`);
    // No message or stack of an unexpected error reaches the client; the request id links to the log.
    return sendProblem(request, reply, 'INTERNAL', 'an unexpected error occurred; the server log has details under this requestId');
  });
}
