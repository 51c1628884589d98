import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { RequestContext } from '../context.js';
import { jwtAuth } from './index.js';
import { jwtAuthSchema } from './schema.js';

const ISSUER = 'https://issuer.test';

async function setup() {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
  const config = jwtAuthSchema.parse({ issuers: [{ issuer: ISSUER, algorithms: ['ES256'], audiences: ['api'], jwks: { keys: [jwk] } }], anonymous: true });
  const policy = jwtAuth.build(config, { logger: { warn() {}, error() {} } });
  const token = (sub: string) =>
    new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setAudience('api').setSubject(sub).setExpirationTime('5m').sign(privateKey);
  return { policy, token };
}

function ctx(token: string): RequestContext {
  return new RequestContext('r', '127.0.0.1', 'GET', '/', { authorization: `Bearer ${token}` }, 'a', 'r', null);
}

describe('jwt-auth credential id', () => {
  it('names the credential by issuer and subject, so rate limits can count per token subject', async () => {
    const { policy, token } = await setup();
    const a = ctx(await token('alice'));
    const b = ctx(await token('bob'));
    expect(await policy.access?.(a)).toBeUndefined();
    expect(await policy.access?.(b)).toBeUndefined();
    expect(a.authenticated).toBe(true);
    expect(a.credential).toBe(`jwt:${ISSUER} alice`);
    expect(b.credential).toBe(`jwt:${ISSUER} bob`);
  });
});

describe('jwt-auth Istio-shaped options', () => {
  async function build(extra: Record<string, unknown>, issuerExtra: Record<string, unknown> = {}) {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1' };
    const config = jwtAuthSchema.parse({ issuers: [{ issuer: ISSUER, algorithms: ['RS256'], anyAudience: true, jwks: { keys: [jwk] }, ...issuerExtra }], anonymous: true, requiredClaims: [], ...extra });
    const policy = jwtAuth.build(config, { logger: { warn() {}, error() {} } });
    const token = (claims: Record<string, unknown> = {}, iss = ISSUER) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(iss).setSubject('alice').sign(privateKey);
    return { policy, token };
  }
  const upstream = (c: RequestContext) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(c.headers)) if (v !== undefined) out[k] = v;
    c.applyTo(out);
    return out;
  };
  const req = (headers: Record<string, string>, query: string | null = null) => new RequestContext('r', '127.0.0.1', 'GET', '/', headers, 'a', 'r', query);

  it('optional: no token passes as anonymous; an invalid or unknown-issuer token is still 401', async () => {
    const { policy, token } = await build({ optional: true });
    const none = req({});
    expect(await policy.access?.(none)).toBeUndefined();
    expect([none.authenticated, none.consumer, none.claims]).toEqual([true, null, null]);
    expect(await policy.access?.(req({ authorization: 'Bearer not.a.jwt' }))).toMatchObject({ status: 401 });
    expect(await policy.access?.(req({ authorization: `Bearer ${await token({}, 'https://elsewhere.test')}` }))).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIAL' } });
    const { policy: strict } = await build({});
    const c = req({});
    expect(await strict.access?.(c)).toBeUndefined();
    expect(c.authenticated).toBe(false); // the auth gate answers 401 AUTH_REQUIRED
  });

  it('anyAudience accepts tokens without aud; audiences are required otherwise', async () => {
    const { policy, token } = await build({});
    expect(await policy.access?.(req({ authorization: `Bearer ${await token()}` }))).toBeUndefined();
    expect(jwtAuthSchema.safeParse({ issuers: [{ issuer: ISSUER, algorithms: ['RS256'], jwksUri: 'https://x.test/jwks' }] }).success).toBe(false);
  });

  it('token.headers with a literal prefix and token.queryParams (Istio fromHeaders / fromParams); both are stripped', async () => {
    const { policy, token } = await build({ token: { headers: [{ name: 'x-jwt-assertion', prefix: 'Token ' }], queryParams: ['jwt'] } });
    const t = await token();
    const h = req({ 'x-jwt-assertion': `Token ${t}` });
    expect(await policy.access?.(h)).toBeUndefined();
    expect(h.claims?.sub).toBe('alice');
    expect(upstream(h)['x-jwt-assertion']).toBeUndefined();
    // Without the prefix the header carries no token: the request is unauthenticated, not refused.
    const noPrefix = req({ 'x-jwt-assertion': t });
    expect(await policy.access?.(noPrefix)).toBeUndefined();
    expect(noPrefix.authenticated).toBe(false);
    // The Authorization header is no longer read once `headers` is set.
    const auth = req({ authorization: `Bearer ${t}` });
    expect(await policy.access?.(auth)).toBeUndefined();
    expect(auth.authenticated).toBe(false);
    const q = req({}, `a=1&jwt=${t}`);
    expect(await policy.access?.(q)).toBeUndefined();
    expect([q.authenticated, q.query]).toEqual([true, 'a=1']);
  });

  it('payloadHeader carries the payload segment; per-issuer forwardToken and forwardClaims; client copies are removed', async () => {
    const { policy, token } = await build({ optional: true }, { payloadHeader: 'x-jwt-payload', forwardToken: true, forwardClaims: [{ claim: 'email', header: 'x-email' }] });
    const t = await token({ email: 'a@example.com' });
    const c = req({ authorization: `Bearer ${t}`, 'x-jwt-payload': 'forged', 'x-email': 'forged' });
    expect(await policy.access?.(c)).toBeUndefined();
    const out = upstream(c);
    expect(out['x-jwt-payload']).toBe(t.split('.')[1]);
    expect(JSON.parse(Buffer.from(out['x-jwt-payload'] as string, 'base64url').toString())).toMatchObject({ iss: ISSUER, sub: 'alice', email: 'a@example.com' });
    expect(out['x-email']).toBe('a@example.com');
    expect(out.authorization).toBe(`Bearer ${t}`);
    // A request without a token cannot smuggle the output headers upstream.
    const anon = req({ 'x-jwt-payload': 'forged', 'x-email': 'forged' });
    expect(await policy.access?.(anon)).toBeUndefined();
    expect(upstream(anon)).not.toHaveProperty('x-jwt-payload');
    expect(upstream(anon)).not.toHaveProperty('x-email');
  });
});
