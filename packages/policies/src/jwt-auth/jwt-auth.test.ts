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
