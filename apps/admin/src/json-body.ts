import type { FastifyInstance, FastifyRequest } from 'fastify';
import { jsonStructureIssue } from '@tollgate/model';
import { ProblemError } from './problem.js';

/**
 * The admin API's `application/json` parser: Fastify's own (JSON.parse, prototype-poisoning
 * keys refused), then one linear pass over the accepted text refusing what JSON.parse would
 * silently accept: a name repeated in an object (last one wins in JSON.parse, while YAML bodies
 * refuse duplicates; RFC 8259 §4) and nesting beyond MAX_NESTING_DEPTH (recursive walks of the
 * value later would overflow the stack). Both are 400 INVALID_BODY naming the field path.
 */
export function registerJsonBodyParser(app: FastifyInstance, bodyLimit: number): void {
  const parse = app.getDefaultJsonParser('error', 'error') as (request: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => void;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    parse(request, body as string, (err, value) => {
      // A syntax error keeps Fastify's error (mapped to INVALID_BODY in error-handlers.ts).
      if (err) return done(err);
      const issue = jsonStructureIssue(body as string);
      if (issue === undefined) return done(null, value);
      const where = issue.path === '' ? '' : ` at ${issue.path}`;
      done(new ProblemError('INVALID_BODY', `the body is not acceptable JSON${where}: ${issue.message}`, { errors: [issue] }));
    });
  });
}
