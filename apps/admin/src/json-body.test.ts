import { describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { parseSliced, registerJsonBodyParser, SLICED_PARSE_CHARS, type Parse } from './json-body.js';
import { ProblemError } from './problem.js';

/** A bare Fastify app with the admin's JSON parser: echoes the parsed body, or the error it got. */
async function echoApp(): Promise<FastifyInstance> {
  const app = Fastify();
  registerJsonBodyParser(app, 64 * 1024 * 1024);
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _request, reply) => {
    const problem = err instanceof ProblemError ? { code: err.code, status: err.status, errors: err.errors } : { code: err.code, status: err.statusCode };
    return reply.code(problem.status ?? 500).send({ ...problem, message: err.message });
  });
  app.post('/', async (request) => ({ body: request.body }));
  await app.ready();
  return app;
}

/** A JSON array of `n` Api-like documents: with n = 2,000 about 300 KB, past the sliced threshold. */
const docs = (n: number) => Array.from({ length: n }, (_, i) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Api', metadata: { name: `api-${i}`, labels: { 'tier,]': 'x"y' } }, spec: { hosts: ['a.example'], basePath: `/svc${i}`, routes: [{ name: 'r', match: [{ path: { prefix: '/' } }] }] } }));

const post = (app: FastifyInstance, payload: string) => app.inject({ method: 'POST', url: '/', headers: { 'content-type': 'application/json' }, payload });

describe('admin JSON body parser, large bodies (#16)', () => {
  it('gives a large array the same value as JSON.parse', async () => {
    const app = await echoApp();
    const text = ` \n${JSON.stringify(docs(2_000), null, 1)}\n `;
    expect(text.length).toBeGreaterThan(SLICED_PARSE_CHARS);
    const res = await post(app, text);
    expect(res.statusCode).toBe(200);
    expect(res.json().body).toEqual(JSON.parse(text));
    await app.close();
  });

  it('parses a large body that is not an array (a List) in one piece, to the same value', async () => {
    const app = await echoApp();
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs(2_000) });
    const res = await post(app, text);
    expect(res.statusCode).toBe(200);
    expect(res.json().body).toEqual(JSON.parse(text));
    await app.close();
  });

  it('refuses a repeated name deep in a large body with its path, as for a small one', async () => {
    const app = await echoApp();
    const text = JSON.stringify(docs(2_000)).replace('"basePath":"/svc1500"', '"basePath":"/svc1500","basePath":"/x"');
    const res = await post(app, text);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_BODY', errors: [{ code: 'duplicate_key', path: '[1500].spec.basePath' }] });
    await app.close();
  });

  it('keeps Fastify\'s errors for a syntax error or a prototype-poisoning key in one element', async () => {
    const app = await echoApp();
    const good = JSON.stringify(docs(2_000));
    for (const bad of [good.replace('"/svc1200"', '"/svc1200" 1'), good.replace('"/svc1200"', '"/svc1200",'), `${good.slice(0, -1)},]`, good.replace('"basePath":"/svc1200"', '"__proto__":{"x":1}')]) {
      const res = await post(app, bad);
      expect(res.statusCode, bad.slice(-20)).toBe(400);
      // The code error-handlers.ts maps to INVALID_BODY, as for a small body.
      expect(res.json().code).toBe('FST_ERR_CTP_INVALID_JSON_BODY');
    }
    await app.close();
  });

  it('lets the event loop turn between elements', async () => {
    const parse = Fastify().getDefaultJsonParser('error', 'error') as Parse;
    const text = JSON.stringify(docs(1_000));
    let turns = 0;
    let stop = false;
    const tick = () => {
      turns++;
      if (!stop) setImmediate(tick);
    };
    setImmediate(tick);
    // A slice budget of 0 ms: a turn after every step. The one-piece path would give 0 turns.
    const value = await parseSliced(parse, {} as FastifyRequest, text, 0);
    stop = true;
    expect(value).toEqual(JSON.parse(text));
    expect(turns).toBeGreaterThanOrEqual(1_000);
  });
});
