import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashPasswordSync, parseResourcesYaml } from '@tollgate/model';
import { RequestContext } from '../context.js';
import { IdentityIndex } from '../identity/index.js';
import { keyAuth } from '../key-auth/index.js';
import { keyAuthSchema } from '../key-auth/schema.js';
import { runAccess, withAuthGate, type AccessStep, type AuthMode } from '../runner.js';
import { basicAuth, parseBasic } from './index.js';
import { basicAuthSchema } from './schema.js';
import { VerifiedCredentials, verifiedCredentials } from './verified-cache.js';

const ALICE_HASH = hashPasswordSync('alice-secret-pw');

function index(aliceHash = ALICE_HASH): IdentityIndex {
  const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec:
  customId: cust-1
  groups: [gold]
  basicAuth: [{ username: alice, passwordHash: "${aliceHash}" }]
`);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return new IdentityIndex(r.resources);
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const ctx = (headers: Record<string, string> = {}) => new RequestContext('r', '127.0.0.1', 'GET', '/', headers, 'a', 'r', null);
function forwarded(c: RequestContext, from: Record<string, string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { ...from };
  c.applyTo(out);
  return out;
}

describe('basic-auth', () => {
  const holder = { current: index() };
  const policy = basicAuth.build(basicAuthSchema.parse({}), { logger: { warn() {}, error() {} }, identity: holder });

  it('authenticates a user name and password, removes the header, sets identity headers', async () => {
    const h = { authorization: basic('alice', 'alice-secret-pw'), accept: '*/*' };
    const c = ctx(h);
    expect(await policy.access?.(c)).toBeUndefined();
    expect(c.consumer).toMatchObject({ name: 'acme', customId: 'cust-1' });
    expect(c.credential).toBe('basic:alice');
    expect(forwarded(c, h)).toEqual({ accept: '*/*', 'x-consumer-name': 'acme', 'x-consumer-id': 'cust-1', 'x-consumer-groups': 'gold' });
  });

  it('refuses a wrong password, an unknown user and malformed credentials with 401 and a Basic challenge', async () => {
    for (const a of [basic('alice', 'wrong-password'), basic('mallory', 'alice-secret-pw'), 'Basic !!!', 'Basic ' + Buffer.from('no-colon').toString('base64'), 'basic ' + Buffer.from(':pw').toString('base64')]) {
      const c = ctx({ authorization: a });
      const r = await policy.access?.(c);
      expect(r).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIAL' }, headers: { 'www-authenticate': 'Basic realm="tollgate", charset="UTF-8"' } });
      expect(JSON.stringify(r)).not.toMatch(/secret|wrong-password/);
      expect(c.consumer).toBeNull();
    }
  });

  it('finds no credential in another scheme: challenges, leaves the header to other policies', async () => {
    const c = ctx({ authorization: 'Bearer abc' });
    expect(await policy.access?.(c)).toBeUndefined();
    expect(c.authenticated).toBe(false);
    expect(forwarded(c, { authorization: 'Bearer abc' })).toEqual({ authorization: 'Bearer abc' });
  });

  it('pays scrypt once per credential, and a changed stored hash invalidates the cached verdict at once', async () => {
    const before = verifiedCredentials.verifications;
    for (let i = 0; i < 5; i++) expect(await policy.access?.(ctx({ authorization: basic('alice', 'alice-secret-pw') }))).toBeUndefined();
    expect(verifiedCredentials.verifications - before).toBeLessThanOrEqual(1);
    holder.current = index(hashPasswordSync('alice-new-password'));
    expect(await policy.access?.(ctx({ authorization: basic('alice', 'alice-secret-pw') }))).toMatchObject({ status: 401 });
    expect(await policy.access?.(ctx({ authorization: basic('alice', 'alice-new-password') }))).toBeUndefined();
    holder.current = index();
  });

  it('a user name two consumers claim authenticates nobody (logged), rather than picking one', async () => {
    const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: a }
spec: { basicAuth: [{ username: bob, passwordHash: "${ALICE_HASH}" }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: b }
spec: { basicAuth: [{ username: bob, passwordHash: "${ALICE_HASH}" }] }
`);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const warnings: unknown[] = [];
    const logger = { warn: (o: unknown) => void warnings.push(o), error() {} };
    const p = basicAuth.build(basicAuthSchema.parse({}), { logger, identity: { current: new IdentityIndex(r.resources, [], logger) } });
    expect(await p.access?.(ctx({ authorization: basic('bob', 'alice-secret-pw') }))).toMatchObject({ status: 401 });
    expect(warnings).toEqual([expect.objectContaining({ what: 'username', key: 'bob' })]);
  });

  it('parses the scheme case-insensitively and keeps colons in the password (RFC 7617 §2)', () => {
    expect(parseBasic(basic('u', 'a:b:c').replace('Basic', 'BASIC'))).toEqual({ kind: 'credentials', username: 'u', password: 'a:b:c' });
    expect(parseBasic('Digest x')).toEqual({ kind: 'none' });
  });
});

describe('VerifiedCredentials', () => {
  it('shares one scrypt run between concurrent requests and bounds its entries', async () => {
    const cache = new VerifiedCredentials({ max: 2 });
    const results = await Promise.all([1, 2, 3].map(() => cache.verify('alice', 'alice-secret-pw', ALICE_HASH)));
    expect(results).toEqual([true, true, true]);
    expect(cache.verifications).toBe(1);
    await cache.verify('a', 'x', undefined);
    await cache.verify('b', 'y', undefined);
    // alice was evicted by the two newer entries (max 2): verified again.
    expect(await cache.verify('alice', 'alice-secret-pw', ALICE_HASH)).toBe(true);
    expect(cache.verifications).toBe(4);
  });

  it('never accepts an unknown user, even with the dummy hash cached', async () => {
    const cache = new VerifiedCredentials();
    expect(await cache.verify('ghost', 'pw', undefined)).toBe(false);
    expect(cache.verify('ghost', 'pw', undefined)).toBe(false);
  });
});

describe('basic-auth with other credential policies (auth.mode)', () => {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const KEY = 'tg_key_of_acme_0123456789abcdef';
  const OTHER_KEY = 'tg_key_of_globex_0123456789abcd';
  function steps(mode: AuthMode) {
    const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec:
  keys: [{ name: k, hash: "${sha(KEY)}" }]
  basicAuth: [{ username: alice, passwordHash: "${ALICE_HASH}" }]
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: globex }
spec: { keys: [{ name: k, hash: "${sha(OTHER_KEY)}" }] }
`);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const deps = { logger: { warn() {}, error() {} }, identity: { current: new IdentityIndex(r.resources) } };
    const key = keyAuth.build(keyAuthSchema.parse({}), deps);
    const basicP = basicAuth.build(basicAuthSchema.parse({}), deps);
    return withAuthGate(['key-auth', 'basic-auth'], [key.access!.bind(key), basicP.access!.bind(basicP)] as AccessStep[], (n) => n.endsWith('-auth'), mode);
  }
  const run = (mode: AuthMode, headers: Record<string, string>) => runAccess(steps(mode), ctx(headers));

  it('any: either credential authenticates; none answers AUTH_REQUIRED with both challenges', async () => {
    expect(await run('any', { authorization: basic('alice', 'alice-secret-pw') })).toBeUndefined();
    expect(await run('any', { apikey: KEY })).toBeUndefined();
    expect(await run('any', {})).toMatchObject({ status: 401, body: { code: 'AUTH_REQUIRED' }, headers: { 'www-authenticate': 'ApiKey realm="tollgate", Basic realm="tollgate", charset="UTF-8"' } });
  });

  it('all: both of one consumer pass; a missing one is AUTH_REQUIRED; two consumers are CREDENTIALS_MISMATCH', async () => {
    expect(await run('all', { apikey: KEY, authorization: basic('alice', 'alice-secret-pw') })).toBeUndefined();
    expect(await run('all', { apikey: KEY })).toMatchObject({ status: 401, body: { code: 'AUTH_REQUIRED' } });
    expect(await run('all', { apikey: OTHER_KEY, authorization: basic('alice', 'alice-secret-pw') })).toMatchObject({ status: 401, body: { code: 'CREDENTIALS_MISMATCH' } });
    expect(await run('all', { apikey: KEY, authorization: basic('alice', 'nope-nope') })).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIAL' } });
  });
});
