import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RequestContext } from '../context.js';
import { validatePolicyConfig } from '../registry.js';
import type { PolicyDeps, PolicyReply } from '../types.js';
import { requestValidation } from './index.js';
import { requestValidationSchema } from './schema.js';

const deps: PolicyDeps = { logger: { warn: () => undefined, error: () => undefined } };

function build(config: unknown) {
  return requestValidation.build(requestValidationSchema.parse(config), deps);
}

function ctx(method: string, path: string, query: string | null, headers: Record<string, string> = {}, body?: string | Buffer[]): RequestContext {
  const c = new RequestContext('r1', '127.0.0.1', method, path, headers, 'api', 'route', query);
  if (body !== undefined) c.bodySource = { stream: Readable.from(typeof body === 'string' ? [Buffer.from(body)] : body), maxBytes: 1024 * 1024 };
  return c;
}

async function run(config: unknown, c: RequestContext): Promise<PolicyReply | undefined> {
  return build(config).access?.(c) ?? undefined;
}

const ORDERS = {
  pathTemplate: '/orders/{orderId}/items/{itemNo}',
  parameters: [
    { name: 'orderId', in: 'path', required: true, schema: { type: 'string', pattern: '^ord_' } },
    { name: 'itemNo', in: 'path', required: true, schema: { type: 'integer', format: 'int32' } },
    { name: 'limit', in: 'query', schema: { type: 'integer', maximum: 100 } },
    { name: 'tags', in: 'query', schema: { type: 'array', items: { type: 'string', enum: ['a', 'b'] } } },
    { name: 'ids', in: 'query', explode: false, schema: { type: 'array', items: { type: 'integer' } } },
    { name: 'X-Trace', in: 'header', required: true, schema: { type: 'string', format: 'uuid' } },
    { name: 'session', in: 'cookie', schema: { type: 'string', minLength: 4 } },
  ],
};
const TRACE = { 'x-trace': '0d1f4d5e-8a8b-4c4b-9d7c-2f0e6f1b2a3c' };

describe('request-validation: parameters', () => {
  it('passes a valid request (path parameters read at the end of the path, under any base path)', async () => {
    expect(await run(ORDERS, ctx('GET', '/v1/shop/orders/ord_1/items/7', 'limit=5&tags=a&tags=b&ids=1,2', { ...TRACE, cookie: 'x=1; session=abcd' }))).toBeUndefined();
  });

  it.each([
    ['/orders/1/items/7', 'limit=5', TRACE, 'path.orderId'],
    ['/orders/ord_1/items/x', null, TRACE, 'path.itemNo'],
    ['/orders/ord_1/items/99999999999', null, TRACE, 'path.itemNo'],
    ['/orders/ord_1/items/1', 'limit=abc', TRACE, 'query.limit'],
    ['/orders/ord_1/items/1', 'limit=101', TRACE, 'query.limit'],
    ['/orders/ord_1/items/1', 'tags=a&tags=c', TRACE, 'query.tags[1]'],
    ['/orders/ord_1/items/1', 'ids=1,x', TRACE, 'query.ids[1]'],
    ['/orders/ord_1/items/1', null, {}, 'header.x-trace'],
    ['/orders/ord_1/items/1', null, { 'x-trace': 'nope' }, 'header.x-trace'],
    ['/orders/ord_1/items/1', null, { ...TRACE, cookie: 'session=ab' }, 'cookie.session'],
  ] as const)('%s?%s → 400 naming %s', async (path, query, headers, field) => {
    const r = await run(ORDERS, ctx('GET', path, query, { ...headers }));
    expect(r).toMatchObject({ status: 400, body: { code: 'REQUEST_INVALID', errors: [{ field }] } });
  });

  it('refuses a config whose schema does not compile, or names a path parameter not in the template', () => {
    const bad = validatePolicyConfig('request-validation', { parameters: [{ name: 'x', in: 'query', schema: { type: 'nonsense' } }] });
    expect(bad).toMatchObject({ ok: false, issues: [{ path: ['parameters', 0, 'schema'] }] });
    const path = validatePolicyConfig('request-validation', { pathTemplate: '/a/{b}', parameters: [{ name: 'c', in: 'path' }] });
    expect(path).toMatchObject({ ok: false, issues: [{ path: ['parameters', 0, 'name'] }] });
  });
});

describe('request-validation: bodies', () => {
  const BODY = {
    body: {
      required: true,
      content: {
        'application/json': { schema: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } }, additionalProperties: false } },
        'application/x-www-form-urlencoded': { schema: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, age: { type: 'integer' } } } },
        'application/xml': {},
      },
    },
    maxBodyBytes: 64,
  };
  const json = (body: string) => ({ 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });

  it('validates JSON and keeps the bytes read for forwarding', async () => {
    const c = ctx('POST', '/p', null, json('{"name":"x"}'), '{"name":"x"}');
    expect(await run(BODY, c)).toBeUndefined();
    expect(c.bufferedBody?.toString()).toBe('{"name":"x"}');
  });

  it('names the failing body field as a JSON pointer', async () => {
    const cases: Array<[string, string]> = [
      ['{}', '/body/name'],
      ['{"name":1}', '/body/name'],
      ['{"name":"x","tags":[1]}', '/body/tags/0'],
      ['{"name":"x","other":1}', '/body/other'],
      ['{"name":', '/body'],
    ];
    for (const [body, field] of cases) {
      const r = await run(BODY, ctx('POST', '/p', null, json(body), body));
      expect(r, body).toMatchObject({ status: 400, body: { errors: [{ field }] } });
    }
  });

  it('reads chunked bodies, coerces form fields, accepts unvalidated media types, refuses others', async () => {
    const chunked = { 'content-type': 'application/json', 'transfer-encoding': 'chunked' };
    expect(await run(BODY, ctx('POST', '/p', null, chunked, [Buffer.from('{"na'), Buffer.from('me":"x"}')]))).toBeUndefined();
    const form = { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '14' };
    expect(await run(BODY, ctx('POST', '/p', null, form, 'name=a&age=12'))).toBeUndefined();
    expect(await run(BODY, ctx('POST', '/p', null, form, 'name=a&age=x'))).toMatchObject({ status: 400, body: { errors: [{ field: '/body/age' }] } });
    expect(await run(BODY, ctx('POST', '/p', null, { 'content-type': 'application/xml', 'content-length': '3' }, '<a/'))).toBeUndefined();
    expect(await run(BODY, ctx('POST', '/p', null, { 'content-type': 'text/plain', 'content-length': '1' }, 'x'))).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  });

  it('answers 400 for a missing required body and 413 past maxBodyBytes', async () => {
    expect(await run(BODY, ctx('POST', '/p', null, {}))).toMatchObject({ status: 400, body: { errors: [{ field: '/body', message: 'a request body is required' }] } });
    const big = `{"name":"${'x'.repeat(100)}"}`;
    expect(await run(BODY, ctx('POST', '/p', null, json(big), big))).toMatchObject({ status: 413, body: { code: 'BODY_TOO_LARGE' } });
  });
});
