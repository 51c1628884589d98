import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, call, consumer, doc, startStack, until, upstreams, type LifecycleStack } from './harness.js';

const CAROL = 'tg_carol_key_0123456789abcdefghij';
const DAVE = 'tg_dave_key_0123456789abcdefghijk';

/** Two versions of one product, `v1` the default, selected as `scheme` says. */
function product(name: string, versioning: string, basePath: string, extra = ''): string {
  return (
    doc('Api', `${name}-v1`, `product: ${name}\nversion: v1\nbasePath: ${basePath}\nstripBasePath: true\nversioning: { ${versioning}, default: true }\n${extra}routes: [{ name: all, destination: { upstream: one } }]`) +
    doc('Api', `${name}-v2`, `product: ${name}\nversion: v2\nbasePath: ${basePath}\nstripBasePath: true\nversioning: { ${versioning} }\n${extra}routes: [{ name: all, destination: { upstream: two } }]`)
  );
}

const upstreamOf = (a: { json(): Record<string, unknown> }) => a.json().upstream;

// Several versions of one API side by side on a real `tollgate start` (Postgres).
describe('API versions', () => {
  let s: LifecycleStack;

  beforeAll(async () => {
    s = await startStack();
    const subscriptions =
      doc('Plan', 'basic', '{}') +
      consumer('carol', CAROL) +
      consumer('dave', DAVE) +
      doc('Subscription', 'carol-all-versions', 'consumer: carol\nproduct: billing\nplan: basic\nstart: "2026-01-01T00:00:00Z"') +
      doc('Subscription', 'dave-v2-only', 'consumer: dave\napi: billing-v2\nplan: basic\nstart: "2026-01-01T00:00:00Z"');
    const r = await apply(
      s,
      upstreams(s) +
        product('orders', 'scheme: path', '/orders') +
        product('invoices', 'scheme: header, header: X-Api-Version', '/invoices') +
        product('catalog', 'scheme: mediaType', '/catalog') +
        product('billing', 'scheme: path', '/billing', 'subscriptionRequired: true\npolicies: [{ name: key-auth }]\n') +
        subscriptions,
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await until(s, '/v1/orders/ready', 200);
  }, 60_000);

  afterAll(async () => {
    await s?.close();
  });

  it('by path prefix: /v1 and /v2 side by side, the default without a prefix, an unknown version 404', async () => {
    const a = await call(s, '/v1/orders/7');
    expect(a.json()).toMatchObject({ upstream: 'one', url: '/7' });
    const b = await call(s, '/v2/orders/7');
    expect(b.json()).toMatchObject({ upstream: 'two', url: '/7' });
    expect(upstreamOf(await call(s, '/orders/7'))).toBe('one');
    const unknown = await call(s, '/v3/orders/7');
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    // Path versions need no Vary: the URL differs.
    expect(b.headers.get('vary')).toBeNull();
  });

  it('by a configured header: the value with or without "v", absent = default, unknown = 404, Vary set', async () => {
    const v2 = await call(s, '/invoices/1', { 'x-api-version': 'v2' });
    expect(upstreamOf(v2)).toBe('two');
    expect(v2.headers.get('vary')).toContain('x-api-version');
    expect(upstreamOf(await call(s, '/invoices/1', { 'x-api-version': '2' }))).toBe('two');
    expect(upstreamOf(await call(s, '/invoices/1', { 'x-api-version': 'V1' }))).toBe('one');
    const dflt = await call(s, '/invoices/1');
    expect(upstreamOf(dflt)).toBe('one');
    expect(dflt.headers.get('vary')).toContain('x-api-version');
    // The default header name is not this API's selector.
    expect(upstreamOf(await call(s, '/invoices/1', { 'accept-version': 'v2' }))).toBe('one');
    expect((await call(s, '/invoices/1', { 'x-api-version': 'v9' })).status).toBe(404);
  });

  it('by media-type parameter: Accept version=2, none = default, an unknown one 404, Vary: accept', async () => {
    const v2 = await call(s, '/catalog/items', { accept: 'application/json; version=2' });
    expect(upstreamOf(v2)).toBe('two');
    expect(v2.headers.get('vary')).toContain('accept');
    expect(upstreamOf(await call(s, '/catalog/items', { accept: 'text/html;q=0.5, application/json; version="v2"' }))).toBe('two');
    expect(upstreamOf(await call(s, '/catalog/items', { accept: 'application/json; version=1' }))).toBe('one');
    expect(upstreamOf(await call(s, '/catalog/items', { accept: 'application/json' }))).toBe('one');
    expect(upstreamOf(await call(s, '/catalog/items'))).toBe('one');
    const unknown = await call(s, '/catalog/items', { accept: 'application/json; version=7' });
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND', detail: 'no route for GET /catalog/items' });
  });

  it('subscriptions per product (every version) or per version', async () => {
    for (const path of ['/v1/billing/x', '/v2/billing/x', '/billing/x']) expect((await call(s, path, { apikey: CAROL })).status).toBe(200);
    expect((await call(s, '/v2/billing/x', { apikey: DAVE })).status).toBe(200);
    const refused = await call(s, '/v1/billing/x', { apikey: DAVE });
    expect(refused.status).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'SUBSCRIPTION_REQUIRED' });
  });

  it('refuses two default versions and a version clash with problem+json', async () => {
    const bad = await apply(s, doc('Api', 'orders-v3', 'product: orders\nversion: V2\nbasePath: /orders\nversioning: { scheme: path, default: true }\nroutes: [{ name: all, destination: { upstream: one } }]'));
    expect(bad.status).toBe(422);
    expect(bad.contentType).toContain('application/problem+json');
    const codes = (bad.body.errors as Array<{ code: string }>).map((e) => e.code);
    expect(codes).toEqual(expect.arrayContaining(['duplicate_version', 'duplicate_default_version']));
  });
});
