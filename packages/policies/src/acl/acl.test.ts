import { describe, expect, it } from 'vitest';
import { RequestContext } from '../context.js';
import { withAuthGate, authGate, runAccess } from '../runner.js';
import { acl } from './index.js';
import { aclSchema } from './schema.js';

function build(config: unknown) {
  return acl.build(aclSchema.parse(config), { logger: { warn() {}, error() {} } });
}

function as(groups: string[] | null, claims: Record<string, unknown> | null = null) {
  const c = new RequestContext('r', '127.0.0.1', 'GET', '/', {}, 'a', 'r', null);
  if (groups !== null) c.authenticate({ name: 'c', customId: null, groups }, claims);
  return c;
}

describe('acl', () => {
  it('allow list admits members only; anonymous callers have no groups', () => {
    const p = build({ allowGroups: ['gold'] });
    expect(p.access?.(as(['gold', 'x']))).toBeUndefined();
    expect(p.access?.(as(['silver']))).toMatchObject({ status: 403, body: { code: 'ACL_DENIED' } });
    expect(p.access?.(as(null))).toMatchObject({ status: 403 });
  });

  it('deny wins over allow', () => {
    const p = build({ allowGroups: ['gold'], denyGroups: ['banned'] });
    expect(p.access?.(as(['gold', 'banned']))).toMatchObject({ status: 403, body: { code: 'ACL_DENIED' } });
    expect(build({ denyGroups: ['banned'] }).access?.(as(['gold']))).toBeUndefined();
  });

  it('scope and claim requirements answer 403 with the RFC 6750 insufficient_scope challenge', () => {
    const p = build({ requiredScopes: ['orders:write'], claimValues: [{ claim: 'tier', equals: 'pro' }] });
    expect(p.access?.(as([], { scope: 'orders:read orders:write', tier: 'pro' }))).toBeUndefined();
    expect(p.access?.(as([], { scp: ['orders:write'], tier: 'pro' }))).toBeUndefined();
    expect(p.access?.(as([], { scope: 'orders:read', tier: 'pro' }))).toMatchObject({ status: 403, body: { code: 'INSUFFICIENT_SCOPE' }, headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="orders:write"' } });
    expect(p.access?.(as([], { scope: 'orders:write', tier: 'free' }))).toMatchObject({ status: 403, body: { code: 'CLAIM_MISMATCH' } });
    expect(p.access?.(as([]))).toMatchObject({ status: 403 });
  });

  it('schema refuses an empty acl', () => {
    expect(aclSchema.safeParse({}).success).toBe(false);
  });
});

describe('auth gate', () => {
  const noCred = (challenge: string) => (c: RequestContext) => void c.challenge(challenge);
  const okAuth = (c: RequestContext) => void c.authenticate({ name: 'x', customId: null, groups: [] });
  it('is inserted after the last authentication policy only', () => {
    const a = () => undefined;
    const steps = withAuthGate(['ip-restriction', 'key-auth', 'jwt-auth', 'acl'], [a, a, a, a], (n) => n.endsWith('-auth'));
    expect(steps).toHaveLength(5);
    expect(steps[3]).toBe(authGate);
    expect(withAuthGate(['ip-restriction'], [a], () => false)).toEqual([a]);
  });

  it('401 with every challenge when no auth policy found a credential; passes when one authenticated', () => {
    const c = new RequestContext('r', '127.0.0.1', 'GET', '/', {}, 'a', 'r', null);
    const steps = withAuthGate(['key-auth', 'jwt-auth'], [noCred('ApiKey realm="t"'), noCred('Bearer realm="t"')] as never, () => true);
    expect(runAccess(steps, c)).toMatchObject({ status: 401, body: { code: 'AUTH_REQUIRED' }, headers: { 'www-authenticate': 'ApiKey realm="t", Bearer realm="t"' } });
    const c2 = new RequestContext('r', '127.0.0.1', 'GET', '/', {}, 'a', 'r', null);
    expect(runAccess(withAuthGate(['key-auth', 'jwt-auth'], [noCred('ApiKey'), okAuth] as never, () => true), c2)).toBeUndefined();
  });
});
