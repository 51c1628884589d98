import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResourcesYaml, redactSecrets, REDACTED_SECRET, restoreSecrets } from '@tollgate/model';
import { RequestContext } from '../context.js';
import { IdentityIndex } from '../identity/index.js';
import { oauth2Introspection } from './index.js';
import { Introspector } from './introspector.js';
import { introspectionSchema } from './schema.js';

/** A real RFC 7662 endpoint on loopback: tokens it knows, whether it is up, what it was sent. */
const as = { tokens: new Map<string, Record<string, unknown>>(), up: true, delayMs: 0, calls: [] as Array<{ auth: string | undefined; body: string }> };
let server: Server;
let endpoint: string;

function read(req: IncomingMessage): Promise<string> {
  return new Promise((r) => {
    let s = '';
    req.on('data', (c: Buffer) => (s += c.toString()));
    req.on('end', () => r(s));
  });
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await read(req);
    as.calls.push({ auth: req.headers.authorization, body });
    if (!as.up) return void res.writeHead(500).end();
    if (as.delayMs > 0) await new Promise((r) => setTimeout(r, as.delayMs));
    const form = new URLSearchParams(body);
    const basicOk = req.headers.authorization === `Basic ${Buffer.from('gateway:s3cret+/=').toString('base64')}` || req.headers.authorization === `Basic ${Buffer.from('gateway:s3cret%2B%2F%3D').toString('base64')}`;
    const postOk = form.get('client_id') === 'gateway' && form.get('client_secret') === 's3cret+/=';
    if (!basicOk && !postOk) return void res.writeHead(401, { 'www-authenticate': 'Basic' }).end();
    const t = as.tokens.get(form.get('token') ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(t ?? { active: false }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const now = () => Math.floor(Date.now() / 1000);
const ctx = (token?: string) => new RequestContext('r', '127.0.0.1', 'GET', '/', token !== undefined ? { authorization: `Bearer ${token}` } : {}, 'a', 'r', null);

function build(extra: Record<string, unknown> = {}) {
  const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { customId: cust-1, jwtSubjects: [{ issuer: "https://as.test", subject: user-1 }] }
`);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const config = introspectionSchema.parse({ endpoint, clientId: 'gateway', clientSecret: 's3cret+/=', issuer: 'https://as.test', audiences: ['api://orders'], ...extra });
  return oauth2Introspection.build(config, { logger: { warn() {}, error() {} }, identity: { current: new IdentityIndex(r.resources) } });
}

describe('oauth2-introspection', () => {
  it('authenticates an active token, maps sub to a consumer, keeps the claims, removes the token', async () => {
    as.tokens.set('tok-ok', { active: true, sub: 'user-1', iss: 'https://as.test', aud: ['api://orders'], scope: 'orders:read', exp: now() + 300 });
    const c = ctx('tok-ok');
    expect(await build().access?.(c)).toBeUndefined();
    expect(c.consumer?.name).toBe('acme');
    expect(c.claims).toMatchObject({ scope: 'orders:read' });
    const out: Record<string, string | string[]> = { authorization: 'Bearer tok-ok' };
    c.applyTo(out);
    expect(out.authorization).toBeUndefined();
    // RFC 6749 §2.3.1 Basic client authentication: id and secret form-urlencoded first.
    expect(as.calls.at(-1)?.auth).toBe(`Basic ${Buffer.from('gateway:s3cret%2B%2F%3D').toString('base64')}`);
    expect(as.calls.at(-1)?.body).toContain('token_type_hint=access_token');
  });

  it('sends client_secret_post credentials in the body when asked', async () => {
    expect(await build({ clientAuthMethod: 'client_secret_post', cacheMaxEntries: 0 }).access?.(ctx('tok-ok'))).toBeUndefined();
    expect(as.calls.at(-1)?.auth).toBeUndefined();
  });

  it('refuses inactive, wrong-issuer, wrong-audience, expired, unmapped tokens and missing scopes with their codes', async () => {
    as.tokens.set('tok-iss', { active: true, sub: 'user-1', iss: 'https://evil.test', aud: 'api://orders' });
    as.tokens.set('tok-aud', { active: true, sub: 'user-1', iss: 'https://as.test', aud: 'api://other' });
    as.tokens.set('tok-exp', { active: true, sub: 'user-1', iss: 'https://as.test', aud: 'api://orders', exp: now() - 5 });
    as.tokens.set('tok-who', { active: true, sub: 'nobody', iss: 'https://as.test', aud: 'api://orders' });
    const p = build();
    const cases: Array<[string, number, string]> = [
      ['tok-unknown', 401, 'INVALID_CREDENTIAL'],
      ['tok-iss', 401, 'INVALID_CREDENTIAL'],
      ['tok-aud', 401, 'INVALID_CREDENTIAL'],
      ['tok-exp', 401, 'TOKEN_EXPIRED'],
      ['tok-who', 401, 'INVALID_CREDENTIAL'],
    ];
    for (const [t, status, code] of cases) {
      const r = await p.access?.(ctx(t));
      expect(r, t).toMatchObject({ status, body: { code }, headers: { 'www-authenticate': expect.stringMatching(/^Bearer realm="tollgate", error="invalid_token"/) } });
    }
    expect(await build({ requiredScopes: ['orders:write'] }).access?.(ctx('tok-ok'))).toMatchObject({ status: 403, body: { code: 'INSUFFICIENT_SCOPE' } });
  });

  it('challenges when there is no token (the auth gate answers 401 AUTH_REQUIRED)', async () => {
    const c = ctx();
    expect(await build().access?.(c)).toBeUndefined();
    expect(c.authenticated).toBe(false);
  });

  it('answers 503 INTROSPECTION_UNAVAILABLE when the endpoint is down, slow or refuses the gateway, and caches none of it', async () => {
    const p = build({ timeoutMs: 200 });
    as.up = false;
    expect(await p.access?.(ctx('tok-down'))).toMatchObject({ status: 503, body: { code: 'INTROSPECTION_UNAVAILABLE' }, headers: { 'retry-after': '5' } });
    as.up = true;
    as.delayMs = 500;
    expect(await p.access?.(ctx('tok-down'))).toMatchObject({ status: 503 });
    as.delayMs = 0;
    expect(await build({ clientSecret: 'wrong' }).access?.(ctx('tok-ok'))).toMatchObject({ status: 503, body: { code: 'INTROSPECTION_UNAVAILABLE' } });
    const unreachable = build({ endpoint: 'http://127.0.0.1:9/introspect' });
    expect(await unreachable.access?.(ctx('tok-ok'))).toMatchObject({ status: 503 });
    // Up again: the next request is judged (nothing was cached).
    as.tokens.set('tok-down', { active: true, sub: 'user-1', iss: 'https://as.test', aud: 'api://orders' });
    expect(await p.access?.(ctx('tok-down'))).toBeUndefined();
  });

  it('never puts the client secret in an export: it is a redacted secret slot', () => {
    const api = { apiVersion: 'tollgate.dev/v1', kind: 'Api', metadata: { name: 'a' }, spec: { policies: [{ name: 'oauth2-introspection', config: { endpoint, clientId: 'gateway', clientSecret: 's3cret+/=' } }] } };
    const red = redactSecrets(api);
    expect(JSON.stringify(red)).not.toContain('s3cret');
    expect(JSON.stringify(red)).toContain(REDACTED_SECRET);
    expect(restoreSecrets(red, api)).toEqual(api);
  });
});

describe('Introspector cache', () => {
  const opts = (o: Partial<ConstructorParameters<typeof Introspector>[0]> = {}) => ({ endpoint, clientId: 'gateway', clientSecret: 's3cret+/=', clientAuthMethod: 'client_secret_basic' as const, tokenTypeHint: 'access_token', timeoutMs: 1000, cacheMaxEntries: 100, cacheTtlMs: 60_000, negativeCacheTtlMs: 60_000, ...o });
  const log = { warn() {}, error() {} };

  it('asks once for a token (active or not), merging concurrent requests', async () => {
    const i = new Introspector(opts(), log);
    as.tokens.set('c-1', { active: true, sub: 'user-1', exp: now() + 300 });
    await Promise.all([i.introspect('c-1'), i.introspect('c-1'), i.introspect('c-1')]);
    await i.introspect('c-1');
    await i.introspect('c-none');
    await i.introspect('c-none');
    expect(i.calls).toBe(2);
  });

  it('never keeps an active answer past the token exp, nor past cacheTtlMs', async () => {
    const i = new Introspector(opts({ cacheTtlMs: 60_000 }), log);
    as.tokens.set('c-short', { active: true, sub: 'user-1', exp: now() + 1 });
    await i.introspect('c-short');
    await new Promise((r) => setTimeout(r, 1100));
    as.tokens.set('c-short', { active: false });
    expect(await i.introspect('c-short')).toEqual({ active: false });
    expect(i.calls).toBe(2);
    const j = new Introspector(opts({ cacheTtlMs: 100 }), log);
    as.tokens.set('c-ttl', { active: true, sub: 'user-1' });
    await j.introspect('c-ttl');
    await new Promise((r) => setTimeout(r, 150));
    await j.introspect('c-ttl');
    expect(j.calls).toBe(2);
  });

  it('is bounded: the least recently used answer is evicted', async () => {
    const i = new Introspector(opts({ cacheMaxEntries: 2 }), log);
    for (const t of ['e-1', 'e-2', 'e-3', 'e-1']) await i.introspect(t);
    expect(i.calls).toBe(4);
  });
});
