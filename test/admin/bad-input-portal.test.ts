import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal, PORTAL_ORIGIN, signUpDeveloper, startBadInputWorld, type BadCase, type BadInputWorld, type Developer } from './bad-input-harness.js';

/**
 * Bad input on the developer portal's API (`/api/…` on the portal listener): every refusal is an
 * RFC 9457 problem with a stable code and, where a field is at fault, its path; a refused change
 * changes nothing (keys, OAuth clients, signature keys, subscriptions, accounts).
 */

const long = (n: number) => 'a'.repeat(n);
const ED25519_KEY = '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo';

/** Without a session: sign-up, sign-in, verification, password reset, the catalogue. */
const ANONYMOUS: BadCase[] = [
  { what: 'sign-up: email of wrong type', method: 'POST', url: '/api/sign-up', payload: { email: 1, password: 'long enough password' }, status: 400, code: 'INVALID_REQUEST', path: 'body.email' },
  { what: 'sign-up: no password', method: 'POST', url: '/api/sign-up', payload: { email: 'x@example.com' }, status: 400, code: 'INVALID_REQUEST', path: 'body.password' },
  { what: 'sign-up: unknown field', method: 'POST', url: '/api/sign-up', payload: { email: 'x@example.com', password: 'long enough password', role: 'admin' }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'sign-up: over-long display name', method: 'POST', url: '/api/sign-up', payload: { email: 'x@example.com', password: 'long enough password', displayName: long(101) }, status: 400, code: 'INVALID_REQUEST', path: 'body.displayName' },
  { what: 'sign-up: not an address', method: 'POST', url: '/api/sign-up', payload: { email: 'nobody', password: 'long enough password' }, status: 400, code: 'INVALID_REQUEST', path: 'body.email' },
  { what: 'sign-up: short password', method: 'POST', url: '/api/sign-up', payload: { email: 'x@example.com', password: 'short' }, status: 400, code: 'INVALID_REQUEST', path: 'body.password' },
  { what: 'sign-up: NUL in the display name', method: 'POST', url: '/api/sign-up', payload: { email: 'x@example.com', password: 'long enough password', displayName: 'a\u0000' }, status: 400, code: 'INVALID_BODY', path: 'displayName' },
  { what: 'sign-up: invalid JSON', method: 'POST', url: '/api/sign-up', payload: '{"email":', status: 400, code: 'INVALID_BODY' },
  { what: 'sign-up: empty body', method: 'POST', url: '/api/sign-up', payload: '', status: 400, code: 'INVALID_BODY' },
  { what: 'sign-up: no body', method: 'POST', url: '/api/sign-up', contentType: null, status: 400, code: 'INVALID_REQUEST' },
  { what: 'sign-up: display name in ISO-8859-1', method: 'POST', url: '/api/sign-up', payload: Buffer.from('{"email":"x@example.com","password":"long enough password","displayName":"José"}', 'latin1'), status: 400, code: 'INVALID_BODY' },
  { what: 'sign-up: YAML', method: 'POST', url: '/api/sign-up', payload: 'email: x@example.com', contentType: 'application/yaml', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { what: 'sign-up: text/plain', method: 'POST', url: '/api/sign-up', payload: 'x', contentType: 'text/plain', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { what: 'sign-up: body over 64 KiB', method: 'POST', url: '/api/sign-up', payload: { email: 'x@example.com', password: long(70_000) }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { what: 'sign-in: password of wrong type', method: 'POST', url: '/api/session', payload: { email: 'x@example.com', password: 12345678 }, status: 400, code: 'INVALID_REQUEST', path: 'body.password' },
  { what: 'sign-in: empty password', method: 'POST', url: '/api/session', payload: { email: 'x@example.com', password: '' }, status: 400, code: 'INVALID_REQUEST', path: 'body.password' },
  { what: 'sign-in: unknown account', method: 'POST', url: '/api/session', payload: { email: 'nobody@example.com', password: 'long enough password' }, status: 401, code: 'UNAUTHORIZED' },
  { what: 'verify: short token', method: 'POST', url: '/api/verify', payload: { token: 'x' }, status: 400, code: 'INVALID_REQUEST', path: 'body.token' },
  { what: 'verify: unknown token', method: 'POST', url: '/api/verify', payload: { token: long(43) }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'verify: token array', method: 'POST', url: '/api/verify', payload: { token: [long(43)] }, status: 400, code: 'INVALID_REQUEST', path: 'body.token' },
  { what: 'reset: email of wrong type', method: 'POST', url: '/api/password-reset', payload: { email: null }, status: 400, code: 'INVALID_REQUEST', path: 'body.email' },
  { what: 'reset confirm: unknown token', method: 'POST', url: '/api/password-reset/confirm', payload: { token: long(43), password: 'long enough password' }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'reset confirm: short password', method: 'POST', url: '/api/password-reset/confirm', payload: { token: long(43), password: 'x' }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'catalogue: bad name', method: 'GET', url: '/api/catalogue/Bad_Name/openapi.json', status: 400, code: 'INVALID_REQUEST', path: 'params.name' },
  { what: 'catalogue: not UTF-8', method: 'GET', url: '/api/catalogue/%FF/openapi.json', status: 400, code: 'INVALID_REQUEST' },
  { what: 'catalogue: NUL', method: 'GET', url: '/api/catalogue/a%00/openapi.json', status: 400, code: 'INVALID_REQUEST' },
  { what: 'catalogue: over-long name', method: 'GET', url: `/api/catalogue/${long(300)}/openapi.json`, status: 400, code: 'INVALID_REQUEST' },
  { what: 'catalogue: missing API', method: 'GET', url: '/api/catalogue/ghost/openapi.json', status: 404, code: 'NOT_FOUND' },
  { what: 'catalogue: missing API with a dotted name', method: 'GET', url: '/api/catalogue/shop.v2/openapi.json', status: 404, code: 'NOT_FOUND' },
  { what: 'unknown route', method: 'GET', url: '/api/nothing', status: 404, code: 'NOT_FOUND' },
];

/** A signed-in, active developer: keys, subscriptions, invoices, OAuth clients, signature keys. */
const SIGNED_IN: BadCase[] = [
  { what: 'keys: name of wrong type', method: 'POST', url: '/api/keys', payload: { name: 5 }, status: 400, code: 'INVALID_REQUEST', path: 'body.name' },
  { what: 'keys: no name', method: 'POST', url: '/api/keys', payload: {}, status: 400, code: 'INVALID_REQUEST', path: 'body.name' },
  { what: 'keys: blank name', method: 'POST', url: '/api/keys', payload: { name: '   ' }, status: 400, code: 'INVALID_REQUEST', path: 'body.name' },
  { what: 'keys: over-long name', method: 'POST', url: '/api/keys', payload: { name: long(65) }, status: 400, code: 'INVALID_REQUEST', path: 'body.name' },
  { what: 'keys: unknown field', method: 'POST', url: '/api/keys', payload: { name: 'k', consumer: 'acme' }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'keys: invalid JSON', method: 'POST', url: '/api/keys', payload: '{', status: 400, code: 'INVALID_BODY' },
  { what: 'keys: no body', method: 'POST', url: '/api/keys', contentType: null, status: 400, code: 'INVALID_REQUEST' },
  { what: 'keys: revoke a bad id', method: 'DELETE', url: '/api/keys/123', status: 400, code: 'INVALID_REQUEST', path: 'params.id' },
  { what: 'keys: revoke an over-long id', method: 'DELETE', url: `/api/keys/key_${'0'.repeat(300)}`, status: 400, code: 'INVALID_REQUEST' },
  { what: 'keys: revoke a not-UTF-8 id', method: 'DELETE', url: '/api/keys/%FF', status: 400, code: 'INVALID_REQUEST' },
  { what: 'keys: revoke a missing key', method: 'DELETE', url: '/api/keys/key_0123456789abcdef', status: 404, code: 'NOT_FOUND' },
  { what: 'subscribe: no plan', method: 'POST', url: '/api/subscriptions', payload: {}, status: 400, code: 'INVALID_REQUEST', path: 'body.plan' },
  { what: 'subscribe: unknown when', method: 'POST', url: '/api/subscriptions', payload: { plan: 'basic', when: 'someday' }, status: 400, code: 'INVALID_REQUEST', path: 'body.when' },
  { what: 'subscribe: plan of wrong type', method: 'POST', url: '/api/subscriptions', payload: { plan: ['basic'] }, status: 400, code: 'INVALID_REQUEST', path: 'body.plan' },
  { what: 'subscribe: plan not offered', method: 'POST', url: '/api/subscriptions', payload: { plan: 'gold' }, status: 404, code: 'NOT_FOUND' },
  { what: 'invoice: no month', method: 'GET', url: '/api/invoice', status: 400, code: 'INVALID_REQUEST', path: 'querystring.month' },
  { what: 'invoice: month 13', method: 'GET', url: '/api/invoice?month=2026-13', status: 400, code: 'INVALID_REQUEST', path: 'querystring.month' },
  { what: 'invoice: unknown format', method: 'GET', url: '/api/invoice?month=2026-01&format=xlsx', status: 400, code: 'INVALID_REQUEST', path: 'querystring.format' },
  { what: 'invoice: unknown key', method: 'GET', url: '/api/invoice?month=2026-01&consumer=acme', status: 400, code: 'INVALID_REQUEST' },
  { what: 'oauth: scopes not an array', method: 'POST', url: '/api/oauth-clients', payload: { name: 'c', scopes: 'read' }, status: 400, code: 'INVALID_REQUEST', path: 'body.scopes' },
  { what: 'oauth: no name', method: 'POST', url: '/api/oauth-clients', payload: {}, status: 400, code: 'INVALID_REQUEST', path: 'body.name' },
  { what: 'oauth: scope not granted', method: 'POST', url: '/api/oauth-clients', payload: { name: 'c', scopes: ['admin'] }, status: 400, code: 'INVALID_REQUEST', path: 'body.scopes' },
  { what: 'oauth: revoke a bad id', method: 'DELETE', url: '/api/oauth-clients/ocl_XYZ', status: 400, code: 'INVALID_REQUEST', path: 'params.id' },
  { what: 'oauth: revoke a missing client', method: 'DELETE', url: '/api/oauth-clients/ocl_0123456789abcdef', status: 404, code: 'NOT_FOUND' },
  { what: 'signature key: unknown algorithm', method: 'POST', url: '/api/signature-keys', payload: { keyId: 'k1', algorithm: 'rsa', publicKey: 'x' }, status: 400, code: 'INVALID_REQUEST', path: 'body.algorithm' },
  { what: 'signature key: short secret', method: 'POST', url: '/api/signature-keys', payload: { keyId: 'k1', algorithm: 'hmac-sha256', secret: 'short' }, status: 400, code: 'INVALID_REQUEST', path: 'body.secret' },
  { what: 'signature key: not an Ed25519 key', method: 'POST', url: '/api/signature-keys', payload: { keyId: 'k1', algorithm: 'ed25519', publicKey: 'not-a-key' }, status: 400, code: 'INVALID_REQUEST', path: 'body.publicKey' },
  { what: 'signature key: id with a space', method: 'POST', url: '/api/signature-keys', payload: { keyId: 'a b', algorithm: 'ed25519', publicKey: ED25519_KEY }, status: 400, code: 'INVALID_REQUEST', path: 'body.keyId' },
  { what: 'signature key: bad expiry', method: 'POST', url: '/api/signature-keys', payload: { keyId: 'k1', algorithm: 'ed25519', publicKey: ED25519_KEY, expiresAt: 'never' }, status: 400, code: 'INVALID_REQUEST', path: 'body.expiresAt' },
  { what: 'signature key: id taken by another consumer', method: 'POST', url: '/api/signature-keys', payload: { keyId: 'acme-key', algorithm: 'ed25519', publicKey: ED25519_KEY }, status: 409, code: 'ALREADY_EXISTS' },
  { what: 'signature key: remove a missing one', method: 'DELETE', url: '/api/signature-keys/nope', status: 404, code: 'NOT_FOUND' },
  { what: 'signature key: remove an over-long id', method: 'DELETE', url: `/api/signature-keys/${long(300)}`, status: 400, code: 'INVALID_REQUEST' },
  { what: 'signature key: remove a not-UTF-8 id', method: 'DELETE', url: '/api/signature-keys/%FF', status: 400, code: 'INVALID_REQUEST' },
  { what: 'signature key: remove a NUL id', method: 'DELETE', url: '/api/signature-keys/a%00', status: 400, code: 'INVALID_REQUEST' },
];

describe('bad input on the developer portal API (postgres)', () => {
  let world: BadInputWorld;
  let dev: Developer;
  beforeAll(async () => {
    world = await startBadInputWorld();
    // A signature key id another consumer holds, and a plan offered only with approval.
    const acme = { apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: 'acme' }, spec: { scopes: ['read'], signatureKeys: [{ keyId: 'acme-key', algorithm: 'ed25519', publicKey: ED25519_KEY }] } };
    expect((await world.adminCall({ method: 'PUT', url: '/consumers/acme', payload: acme })).statusCode).toBe(200);
    dev = await signUpDeveloper(world, 'dev@example.com', 'a long enough password');
  });
  afterAll(async () => {
    await world?.close();
  });

  /** Each case refused, and nothing changed by it (compared to the state before each case). */
  async function expectEachRefused(cases: BadCase[], send: (c: BadCase) => ReturnType<Developer['call']>): Promise<void> {
    const extra = [`/consumers/${dev.consumer}/keys`, `/consumers/${dev.consumer}/oauth-clients`];
    let before = await world.snapshot(extra);
    for (const c of cases) {
      expectRefusal(c, await send(c));
      const after = await world.snapshot(extra);
      expect.soft(after, `${c.what}: the refused request changed something`).toBe(before);
      before = after;
    }
  }

  it('anonymous requests with bad bodies, tokens and names are 4xx problems and change nothing', async () => {
    const anonymous = (c: BadCase) =>
      world.portal.inject({
        method: c.method,
        url: c.url,
        headers: { host: 'portal.test', origin: PORTAL_ORIGIN, ...(c.contentType === null ? {} : { 'content-type': c.contentType ?? 'application/json' }) },
        ...(c.payload !== undefined ? { payload: typeof c.payload === 'string' || Buffer.isBuffer(c.payload) ? c.payload : JSON.stringify(c.payload) } : {}),
      });
    await expectEachRefused(ANONYMOUS, anonymous);
  });

  it("a developer's bad bodies, ids and queries are 4xx problems and change nothing", async () => {
    await expectEachRefused(SIGNED_IN, (c) => dev.call(c));
  });
});
