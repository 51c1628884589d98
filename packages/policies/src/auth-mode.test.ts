import { createHash } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { parseResourcesYaml } from '@tollgate/model';
import { RequestContext } from './context.js';
import { IdentityIndex } from './identity/index.js';
import { jwtAuth } from './jwt-auth/index.js';
import { jwtAuthSchema } from './jwt-auth/schema.js';
import { keyAuth } from './key-auth/index.js';
import { keyAuthSchema } from './key-auth/schema.js';
import { lifecyclePreview } from './lifecycle/index.js';
import { runAccess, withAuthGate, type AccessStep, type AuthMode } from './runner.js';

// `auth.mode` of a route: real key-auth and jwt-auth instances, combined by the runner.

const ISSUER = 'https://issuer.test';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const ACME_KEY = 'tg_acme_key_0123456789abcdef0123';
const GLOBEX_KEY = 'tg_globex_key_0123456789abcdef01';

async function setup(mode: AuthMode) {
  const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec:
  keys: [{ name: k1, hash: "${sha(ACME_KEY)}" }]
  jwtSubjects: [{ issuer: "${ISSUER}", subject: alice }]
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: globex }
spec:
  keys: [{ name: k1, hash: "${sha(GLOBEX_KEY)}" }]
  jwtSubjects: [{ issuer: "${ISSUER}", subject: bob }]
`);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const deps = { logger: { warn() {}, error() {} }, identity: { current: new IdentityIndex(r.resources, []) } };
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1' };
  const key = keyAuth.build(keyAuthSchema.parse({}), deps);
  const jwt = jwtAuth.build(jwtAuthSchema.parse({ issuers: [{ issuer: ISSUER, algorithms: ['RS256'], audiences: ['api'], jwks: { keys: [jwk] } }] }), deps);
  const names = ['key-auth', 'jwt-auth'];
  const steps = withAuthGate(names, [key.access!.bind(key), jwt.access!.bind(jwt)] as AccessStep[], (n) => n.endsWith('-auth'), mode);
  const token = (sub: string) => new SignJWT({ scope: 'read' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setAudience('api').setSubject(sub).setExpirationTime('5m').sign(privateKey);
  const run = async (headers: Record<string, string>) => {
    const c = new RequestContext('r', '127.0.0.1', 'GET', '/', headers, 'a', 'r', null);
    const reply = await runAccess(steps, c);
    const upstream: Record<string, string | string[]> = { ...headers };
    c.applyTo(upstream);
    return { c, reply, upstream };
  };
  return { run, token, deps };
}

describe('auth mode all (AND)', () => {
  it('both credentials of the same consumer: authenticated as that consumer, with the JWT claims, both credentials stripped', async () => {
    const { run, token } = await setup('all');
    const { c, reply, upstream } = await run({ apikey: ACME_KEY, authorization: `Bearer ${await token('alice')}` });
    expect(reply).toBeUndefined();
    expect(c.authenticated).toBe(true);
    expect(c.consumer?.name).toBe('acme');
    expect(c.claims?.scope).toBe('read');
    expect(c.credential).toBe(`key:${sha(ACME_KEY).slice(0, 16)}`);
    expect(upstream.apikey).toBeUndefined();
    expect(upstream.authorization).toBeUndefined();
    expect(upstream['x-consumer-name']).toBe('acme');
  });

  it('one credential missing: 401 AUTH_REQUIRED with the missing scheme challenged', async () => {
    const { run, token } = await setup('all');
    const onlyKey = await run({ apikey: ACME_KEY });
    expect(onlyKey.reply).toMatchObject({ status: 401, body: { code: 'AUTH_REQUIRED' } });
    expect(onlyKey.reply?.headers?.['www-authenticate']).toContain('Bearer');
    expect(onlyKey.c.authenticated).toBe(false);
    const onlyJwt = await run({ authorization: `Bearer ${await token('alice')}` });
    expect(onlyJwt.reply).toMatchObject({ status: 401, body: { code: 'AUTH_REQUIRED' } });
    expect(onlyJwt.reply?.headers?.['www-authenticate']).toContain('ApiKey');
    const none = await run({});
    expect(none.reply?.headers?.['www-authenticate']).toMatch(/ApiKey.*Bearer/);
  });

  it('one credential invalid: that policy\'s 401', async () => {
    const { run, token } = await setup('all');
    expect((await run({ apikey: 'tg_unknown_key_xxxxxxxxxxxxxxxx', authorization: `Bearer ${await token('alice')}` })).reply).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIAL' } });
    expect((await run({ apikey: ACME_KEY, authorization: 'Bearer not.a.jwt' })).reply).toMatchObject({ status: 401 });
  });

  it('valid credentials of two different consumers: 401 CREDENTIALS_MISMATCH, no consumer', async () => {
    const { run, token } = await setup('all');
    const { c, reply } = await run({ apikey: GLOBEX_KEY, authorization: `Bearer ${await token('alice')}` });
    expect(reply).toMatchObject({ status: 401, body: { code: 'CREDENTIALS_MISMATCH' } });
    expect(reply?.headers?.['www-authenticate']).toBeDefined();
    expect(c.authenticated).toBe(false);
  });

  it('lifecycle-preview (an auth-gate policy, not a credential policy) is not required to accept a credential', async () => {
    const { deps } = await setup('all');
    const preview = lifecyclePreview.build(lifecyclePreview.schema.parse({ consumers: ['acme'] }), deps);
    const key = keyAuth.build(keyAuthSchema.parse({}), deps);
    const steps = withAuthGate(['key-auth', 'lifecycle-preview'], [key.access!.bind(key), preview.access!.bind(preview)] as AccessStep[], () => true, 'all', (n) => n === 'key-auth');
    const ok = new RequestContext('r', '127.0.0.1', 'GET', '/', { apikey: ACME_KEY }, 'a', 'r', null);
    expect(await runAccess(steps, ok)).toBeUndefined();
    expect(ok.consumer?.name).toBe('acme');
    const other = new RequestContext('r', '127.0.0.1', 'GET', '/', { apikey: GLOBEX_KEY }, 'a', 'r', null);
    expect((await runAccess(steps, other))?.status).toBe(404);
  });
});

describe('auth mode any (default) is unchanged', () => {
  it('the first accepted credential decides; a second credential (even of another consumer) is ignored and stripped', async () => {
    for (const mode of ['any', undefined] as const) {
      const { run, token } = await setup(mode ?? 'any');
      const { c, reply, upstream } = await run({ apikey: GLOBEX_KEY, authorization: `Bearer ${await token('alice')}` });
      expect(reply).toBeUndefined();
      expect(c.consumer?.name).toBe('globex');
      expect(upstream.authorization).toBeUndefined();
      const one = await run({ authorization: `Bearer ${await token('alice')}` });
      expect(one.reply).toBeUndefined();
      expect(one.c.consumer?.name).toBe('acme');
    }
  });
});
