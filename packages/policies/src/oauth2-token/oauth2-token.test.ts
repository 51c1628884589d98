import { createHash, generateKeyPairSync } from 'node:crypto';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { parseResourcesYaml } from '@tollgate/model';
import { RequestContext } from '../context.js';
import { IdentityIndex } from '../identity/index.js';
import { jwtAuth } from '../jwt-auth/index.js';
import { jwtAuthSchema } from '../jwt-auth/schema.js';
import type { PolicyReply } from '../types.js';
import { oauth2Jwks, oauth2Token } from './index.js';
import { oauth2JwksSchema, oauth2TokenSchema } from './schema.js';
import type { TokenSigner } from './signer.js';

const SECRET = 'tgcs_the-client-secret-0123456789';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer: TokenSigner = {
  issuer: 'https://gw.test',
  signingKey: () => ({ kid: 'tgk_1', alg: 'ES256', privateKey }),
  verificationKey: (kid) => (kid === 'tgk_1' ? publicKey : undefined),
  jwks: () => ({ keys: [{ ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'tgk_1' }] }),
  refresh: () => undefined,
};

function identity(clients = [{ id: 'ocl_1', consumer: 'acme', secretHash: sha(SECRET), scopes: ['orders:read', 'orders:write', 'not:allowed'] }]): IdentityIndex {
  const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { scopes: [orders:read, orders:write] }
`);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return new IdentityIndex(r.resources, [], undefined, clients);
}

const holder = { current: identity() };
const deps = { logger: { warn() {}, error() {} }, identity: holder, tokenSigner: signer };
const token = oauth2Token.build(oauth2TokenSchema.parse({ audience: 'api://orders' }), deps);

function request(body: string, headers: Record<string, string> = {}, method = 'POST'): RequestContext {
  const c = new RequestContext('r', '127.0.0.1', method, '/token', { 'content-type': 'application/x-www-form-urlencoded', ...headers }, 'a', 'r', null);
  c.readBody = async () => ({ ok: true, body: Buffer.from(body) });
  return c;
}
const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
const json = (r: PolicyReply | undefined) => JSON.parse(String(r?.body)) as Record<string, unknown>;

describe('oauth2-token', () => {
  it('issues a verifiable RFC 9068 token with the granted scopes (client ∩ consumer), no-store', async () => {
    const r = await token.access?.(request('grant_type=client_credentials', basic('ocl_1', SECRET)));
    expect(r?.status).toBe(200);
    expect(r?.headers).toMatchObject({ 'cache-control': 'no-store', pragma: 'no-cache' });
    const body = json(r);
    // `not:allowed` is the client's but not the consumer's: never granted.
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'orders:read orders:write' });
    const { payload, protectedHeader } = await jwtVerify(String(body.access_token), publicKey, { issuer: 'https://gw.test', audience: 'api://orders', typ: 'at+jwt' });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: 'tgk_1' });
    expect(payload).toMatchObject({ sub: 'ocl_1', client_id: 'ocl_1', scope: 'orders:read orders:write' });
  });

  it('answers each RFC 6749 §5.2 error', async () => {
    const cases: Array<[RequestContext, number, string]> = [
      [request('grant_type=client_credentials', basic('ocl_1', 'wrong')), 401, 'invalid_client'],
      [request('grant_type=client_credentials', basic('ocl_2', SECRET)), 401, 'invalid_client'],
      [request('grant_type=client_credentials&client_id=ocl_1'), 401, 'invalid_client'],
      [request('grant_type=authorization_code&code=x', basic('ocl_1', SECRET)), 400, 'unsupported_grant_type'],
      [request('scope=orders:read', basic('ocl_1', SECRET)), 400, 'invalid_request'],
      [request('grant_type=client_credentials&grant_type=client_credentials', basic('ocl_1', SECRET)), 400, 'invalid_request'],
      [request(`grant_type=client_credentials&client_secret=${SECRET}`, basic('ocl_1', SECRET)), 400, 'invalid_request'],
      [request('grant_type=client_credentials&scope=not:allowed', basic('ocl_1', SECRET)), 400, 'invalid_scope'],
      [request('grant_type=client_credentials&scope=bad"scope', basic('ocl_1', SECRET)), 400, 'invalid_scope'],
      [request('grant_type=client_credentials', { ...basic('ocl_1', SECRET), 'content-type': 'application/json' }), 400, 'invalid_request'],
      [request('', {}, 'GET'), 400, 'invalid_request'],
    ];
    for (const [c, status, error] of cases) {
      const r = await token.access?.(c);
      expect(r?.status, error).toBe(status);
      expect(json(r).error).toBe(error);
      expect(String(r?.body)).not.toContain(SECRET);
      if (error === 'invalid_client') expect(r?.headers?.['www-authenticate']).toBe('Basic realm="tollgate"');
    }
  });

  it('answers 503 without a signing key, and invalid_client once the client is revoked (gone from the index)', async () => {
    const noKey = oauth2Token.build(oauth2TokenSchema.parse({ audience: 'a' }), { ...deps, tokenSigner: { ...signer, signingKey: () => undefined } });
    const r = await noKey.access?.(request('grant_type=client_credentials', basic('ocl_1', SECRET)));
    expect(r?.status).toBe(503);
    expect(json(r)).toMatchObject({ code: 'OAUTH_SIGNING_UNAVAILABLE' });
    holder.current = identity([]);
    expect((await token.access?.(request('grant_type=client_credentials', basic('ocl_1', SECRET))))?.status).toBe(401);
    holder.current = identity();
  });

  it('issues tokens that jwt-auth `issuer: tollgate` accepts as the consumer, and refuses once the client is revoked', async () => {
    const access = String(json(await token.access?.(request('grant_type=client_credentials', basic('ocl_1', SECRET)))).access_token);
    const verifier = jwtAuth.build(jwtAuthSchema.parse({ issuers: [{ issuer: 'tollgate', audiences: ['api://orders'] }] }), deps);
    const ctx = new RequestContext('r', '127.0.0.1', 'GET', '/', { authorization: `Bearer ${access}` }, 'a', 'r', null);
    expect(await verifier.access?.(ctx)).toBeUndefined();
    expect(ctx.consumer?.name).toBe('acme');
    expect(ctx.credential).toBe('oauth-client:ocl_1');
    holder.current = identity([]);
    const again = new RequestContext('r', '127.0.0.1', 'GET', '/', { authorization: `Bearer ${access}` }, 'a', 'r', null);
    expect(await verifier.access?.(again)).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIAL' } });
    holder.current = identity();
    // Without the gateway's signer the issuer is unknown to this policy: its tokens are refused, never accepted.
    const blind = jwtAuth.build(jwtAuthSchema.parse({ issuers: [{ issuer: 'tollgate', audiences: ['api://orders'] }] }), { ...deps, tokenSigner: undefined });
    const c3 = new RequestContext('r', '127.0.0.1', 'GET', '/', { authorization: `Bearer ${access}` }, 'a', 'r', null);
    expect(await blind.access?.(c3)).toMatchObject({ status: 401 });
  });

  it('jwt-auth refuses keys, algorithms or typ on the tollgate issuer, and requires algorithms elsewhere', () => {
    expect(jwtAuthSchema.safeParse({ issuers: [{ issuer: 'tollgate', audiences: ['a'], algorithms: ['HS256'], secrets: ['x'.repeat(32)] }] }).success).toBe(false);
    expect(jwtAuthSchema.safeParse({ issuers: [{ issuer: 'https://x', audiences: ['a'], jwksUri: 'https://x/jwks' }] }).success).toBe(false);
    expect(jwtAuthSchema.safeParse({ issuers: [{ issuer: 'tollgate', audiences: ['a'] }] }).success).toBe(true);
  });
});

describe('oauth2-jwks', () => {
  it('publishes the public keys, GET only', () => {
    const p = oauth2Jwks.build(oauth2JwksSchema.parse(undefined), deps);
    const r = p.access?.(new RequestContext('r', '127.0.0.1', 'GET', '/', {}, 'a', 'r', null)) as PolicyReply;
    expect(r.headers).toMatchObject({ 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=60' });
    expect(JSON.parse(String(r.body))).toEqual({ keys: [expect.objectContaining({ kty: 'EC', kid: 'tgk_1' })] });
    expect(String(r.body)).not.toContain('"d"');
    expect((p.access?.(new RequestContext('r', '127.0.0.1', 'POST', '/', {}, 'a', 'r', null)) as PolicyReply).status).toBe(405);
  });
});
