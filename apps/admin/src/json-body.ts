import type { FastifyInstance, FastifyRequest } from 'fastify';
import { jsonStructureIssue, jsonStructureSteps, type ConfigIssue } from '@tollgate/model';
import { runSliced } from '@tollgate/compiler';
import { bodyText } from './body-text.js';
import { ProblemError } from './problem.js';

/**
 * Bodies from this many characters on are checked and parsed in slices with turns of the event
 * loop between them. In embedded mode (`tollgate start all`) the gateway serves requests from
 * the admin's event loop, and a 4 MB apply body (10,000 Apis) parsed and checked in one piece
 * held every request for 100-280 ms (#16). Smaller bodies take a few ms: parsed in one go.
 */
export const SLICED_PARSE_CHARS = 256 * 1024;

/** Fastify's JSON parser (`getDefaultJsonParser`), callback form. */
export type Parse = (request: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => void;

/**
 * The admin API's `application/json` parser: the body as strict UTF-8 (bodyText), then Fastify's own (JSON.parse, prototype-poisoning
 * keys refused), then one linear pass over the accepted text refusing what JSON.parse would
 * silently accept: a name repeated in an object (last one wins in JSON.parse, while YAML bodies
 * refuse duplicates; RFC 8259 §4), nesting beyond MAX_NESTING_DEPTH (recursive walks of the
 * value later would overflow the stack) and U+0000 (PostgreSQL stores none). All are 400
 * INVALID_BODY naming the field path.
 *
 * A large body is scanned first (in slices) and, when it is one array, parsed an element at a
 * time with Fastify's parser; an element it refuses sends the whole text through the one-piece
 * path, so errors read exactly as for a small body. The result is the same value either way.
 */
export function registerJsonBodyParser(app: FastifyInstance, bodyLimit: number): void {
  const parse = app.getDefaultJsonParser('error', 'error') as Parse;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    let text: string;
    try {
      text = bodyText(request, body as Buffer);
    } catch (err) {
      return done(err as Error);
    }
    if (text.length < SLICED_PARSE_CHARS) return parseWhole(parse, request, text, done);
    parseSliced(parse, request, text).then(
      (value) => done(null, value),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  });
}

/** The one-piece path: parse, then the structure check. */
function parseWhole(parse: Parse, request: FastifyRequest, text: string, done: (err: Error | null, value?: unknown) => void): void {
  parse(request, text, (err, value) => {
    // A syntax error keeps Fastify's error (mapped to INVALID_BODY in error-handlers.ts).
    if (err) return done(err);
    const issue = jsonStructureIssue(text);
    if (issue === undefined) return done(null, value);
    done(structureProblem(issue));
  });
}

function structureProblem(issue: ConfigIssue): ProblemError {
  const where = issue.path === '' ? '' : ` at ${issue.path}`;
  return new ProblemError('INVALID_BODY', `the body is not acceptable JSON${where}: ${issue.message}`, { errors: [issue] });
}

const wholeAsync = (parse: Parse, request: FastifyRequest, text: string): Promise<unknown> =>
  new Promise((resolve, reject) => parseWhole(parse, request, text, (err, value) => (err ? reject(err) : resolve(value))));

/**
 * The sliced path: the structure scan, then one element of a top-level array at a time, with a
 * turn of the event loop about every `sliceMs` of work. Same value and errors as the one-piece path.
 */
export async function parseSliced(parse: Parse, request: FastifyRequest, text: string, sliceMs?: number): Promise<unknown> {
  const { issue, elements } = await runSliced(jsonStructureSteps(text), sliceMs);
  // An issue counts only in text JSON.parse accepts (a syntax error is reported first), and a
  // body that is not one array (a List object, one document) is parsed in one piece.
  if (issue !== undefined || elements === undefined) return wholeAsync(parse, request, text);
  const values = await runSliced(parseElements(parse, request, text, elements), sliceMs);
  return values ?? wholeAsync(parse, request, text);
}

/** Each element with Fastify's parser, one step per element; undefined when one is refused. */
function* parseElements(parse: Parse, request: FastifyRequest, text: string, elements: ReadonlyArray<[number, number]>): Generator<void, unknown[] | undefined> {
  const values: unknown[] = [];
  for (const [start, end] of elements) {
    let failed = false;
    parse(request, text.slice(start, end), (err, value) => {
      if (err) failed = true;
      else values.push(value);
    });
    if (failed) return undefined;
    yield;
  }
  return values;
}
