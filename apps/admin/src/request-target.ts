import type { FastifyInstance } from 'fastify';
import { ProblemError } from './problem.js';


/**
 * Refuses a request target (path or query) holding an encoded U+0000 (NUL): 400 INVALID_REQUEST
 * before any handler passes the decoded value on. No name, id or filter has one, and PostgreSQL
 * refuses it in text (`GET /audit-log?action=a%00b` reached the driver and failed as a 500). The
 * HTTP parser already refuses a raw NUL byte (RFC 9110 §5.5). A preValidation hook: it runs after
 * authentication, so an unauthenticated client still gets 401 first.
 */
export function refuseNulInTarget(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const at = request.url.indexOf('%00');
    if (at === -1) return;
    const query = request.url.indexOf('?');
    throw new ProblemError('INVALID_REQUEST', 'the request target contains %00 (U+0000, NUL), which no path segment or query parameter may hold', {
      errors: [{ path: query !== -1 && at > query ? 'querystring' : 'params', code: 'nul_character', message: 'contains U+0000 (NUL)' }],
    });
  });
}
