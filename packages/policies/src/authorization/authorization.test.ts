import { describe, expect, it } from 'vitest';
import { RequestContext } from '../context.js';
import { validatePolicyConfig } from '../registry.js';
import { authorization } from './index.js';
import { PatternSet } from './match.js';
import { authorizationSchema } from './schema.js';

function build(config: unknown) {
  return authorization.build(authorizationSchema.parse(config), { logger: { warn() {}, error() {} } });
}

/** `host` is the gateway's normalized host (ctx.host); `hostHeader` the raw header (default: the same). */
function req(opts: { method?: string; path?: string; host?: string; hostHeader?: string; ip?: string; headers?: Record<string, string>; claims?: Record<string, unknown> | null } = {}) {
  const host = opts.host ?? 'api.example.com';
  const c = new RequestContext('r', opts.ip ?? '203.0.113.7', opts.method ?? 'GET', opts.path ?? '/', { host: opts.hostHeader ?? host, ...opts.headers }, 'a', 'r', null, host);
  if (opts.claims !== undefined) c.authenticate(null, opts.claims);
  return c;
}

const DENIED = { status: 403, body: { code: 'AUTHZ_DENIED' } };

describe('PatternSet (Istio value matching)', () => {
  it('exact, prefix*, *suffix and * (non-empty)', () => {
    const s = new PatternSet(['/exact', '/api/*', '*.json']);
    expect(['/exact', '/api/', '/api/x/y', '/a.json'].map((v) => s.matches(v))).toEqual([true, true, true, true]);
    expect(['/exact/', '/ap', '/a.jsonx'].map((v) => s.matches(v))).toEqual([false, false, false]);
    const any = new PatternSet(['*']);
    expect([any.matches('x'), any.matches('')]).toEqual([true, false]);
    expect(new PatternSet(['API.example.com'], true).matches('api.EXAMPLE.com')).toBe(true);
  });
});

describe('authorization', () => {
  it('an allow list that is empty admits nothing (Istio allow-nothing); [{}] admits everything', () => {
    expect(build({ allow: [] }).access?.(req())).toMatchObject(DENIED);
    expect(build({ allow: [{}] }).access?.(req())).toBeUndefined();
  });

  it('deny is evaluated before allow', () => {
    const p = build({ deny: [{ paths: ['/admin*'] }], allow: [{}] });
    expect(p.access?.(req({ path: '/admin/users' }))).toMatchObject(DENIED);
    expect(p.access?.(req({ path: '/orders' }))).toBeUndefined();
    // Without an allow list everything not denied passes.
    expect(build({ deny: [{ methods: ['DELETE'] }] }).access?.(req({ method: 'GET' }))).toBeUndefined();
  });

  it('principals: `iss/sub` of the verified token; `*` needs a token; notPrincipals ["*"] matches requests without one', () => {
    const p = build({ allow: [{ principals: ['https://issuer.test/alice'] }] });
    expect(p.access?.(req({ claims: { iss: 'https://issuer.test', sub: 'alice' } }))).toBeUndefined();
    expect(p.access?.(req({ claims: { iss: 'https://issuer.test', sub: 'bob' } }))).toMatchObject(DENIED);
    const any = build({ allow: [{ principals: ['*'] }] });
    expect(any.access?.(req())).toMatchObject(DENIED);
    expect(any.access?.(req({ claims: null }))).toMatchObject(DENIED);
    expect(any.access?.(req({ claims: { iss: 'i', sub: 's' } }))).toBeUndefined();
    const anon = build({ deny: [{ notPrincipals: ['*'], paths: ['/private*'] }] });
    expect(anon.access?.(req({ path: '/private/x' }))).toMatchObject(DENIED);
    expect(anon.access?.(req({ path: '/private/x', claims: { iss: 'i', sub: 's' } }))).toBeUndefined();
    expect(anon.access?.(req({ path: '/public' }))).toBeUndefined();
  });

  it('all conditions of a rule must hold; any rule may admit', () => {
    const p = build({ allow: [{ methods: ['GET'], paths: ['/read*'], hosts: ['api.example.com'] }, { methods: ['POST'], notPaths: ['/read*'] }] });
    expect(p.access?.(req({ method: 'GET', path: '/read/1' }))).toBeUndefined();
    expect(p.access?.(req({ method: 'GET', path: '/read/1', host: 'other.example.com' }))).toMatchObject(DENIED);
    expect(p.access?.(req({ method: 'GET', path: '/write' }))).toMatchObject(DENIED);
    expect(p.access?.(req({ method: 'POST', path: '/write' }))).toBeUndefined();
    expect(p.access?.(req({ method: 'POST', path: '/read/1' }))).toMatchObject(DENIED);
  });

  it("hosts compare the gateway's normalized host, never the raw Host header", () => {
    const p = build({ allow: [{ hosts: ['API.example.com'] }] });
    expect(p.access?.(req({ host: 'api.example.com', hostHeader: 'api.EXAMPLE.com' }))).toBeUndefined();
    expect(p.access?.(req({ host: 'api.example.com', hostHeader: 'api.example.com:8080' }))).toBeUndefined();
    expect(p.access?.(req({ host: 'other.example.com', hostHeader: 'api.example.com' }))).toMatchObject(DENIED);
    // A deny rule holds for every spelling the router matches as the same host.
    const deny = build({ deny: [{ hosts: ['admin.example.com.', '*.Internal.example.com'] }] });
    for (const header of ['admin.example.com', 'ADMIN.example.com', 'admin.example.com:80', 'admin.example.com.', 'admin.example.com:443']) {
      expect(deny.access?.(req({ host: 'admin.example.com', hostHeader: header }))).toMatchObject(DENIED);
    }
    expect(deny.access?.(req({ host: 'a.internal.example.com', hostHeader: 'A.INTERNAL.example.com.:8080' }))).toMatchObject(DENIED);
    expect(deny.access?.(req({ host: 'api.example.com' }))).toBeUndefined();
    // No host (HTTP/1.0 without Host): no value, so `hosts` fails and `notHosts` holds.
    expect(build({ allow: [{ notHosts: ['*'] }] }).access?.(req({ host: '', hostHeader: '' }))).toBeUndefined();
  });

  it('refuses host patterns with a port (the compared host never has one)', () => {
    for (const hosts of [['api.example.com:8080'], ['api.example.com:*'], ['[::1]:80']]) {
      const r = validatePolicyConfig('authorization', { deny: [{ hosts }] });
      expect(r.ok).toBe(false);
    }
    expect(validatePolicyConfig('authorization', { deny: [{ hosts: ['[::1]', '*.example.com', 'example.*'] }] }).ok).toBe(true);
  });

  it('claims: strings, list elements, nested paths, numbers; a missing claim fails values and passes notValues', () => {
    const p = build({ allow: [{ claims: [{ claim: 'groups', values: ['admins'] }, { claim: ['realm', 'level'], values: ['3'] }] }] });
    expect(p.access?.(req({ claims: { groups: ['users', 'admins'], realm: { level: 3 } } }))).toBeUndefined();
    expect(p.access?.(req({ claims: { groups: 'admins', realm: { level: 3 } } }))).toBeUndefined();
    expect(p.access?.(req({ claims: { groups: ['users'], realm: { level: 3 } } }))).toMatchObject(DENIED);
    expect(p.access?.(req({ claims: { groups: ['admins'] } }))).toMatchObject(DENIED);
    const not = build({ deny: [{ claims: [{ claim: 'tier', notValues: ['gold', 'silver'] }] }] });
    expect(not.access?.(req({ claims: { tier: 'gold' } }))).toBeUndefined();
    expect(not.access?.(req({ claims: { tier: 'free' } }))).toMatchObject(DENIED);
    expect(not.access?.(req({ claims: {} }))).toMatchObject(DENIED);
  });

  it('headers and client addresses (IPv4-mapped IPv6 compared as IPv4)', () => {
    const p = build({ allow: [{ headers: [{ name: 'X-Tenant', values: ['acme-*'] }], clientIps: ['10.0.0.0/8'] }] });
    expect(p.access?.(req({ ip: '10.1.2.3', headers: { 'x-tenant': 'acme-eu' } }))).toBeUndefined();
    expect(p.access?.(req({ ip: '::ffff:10.1.2.3', headers: { 'x-tenant': 'acme-eu' } }))).toBeUndefined();
    expect(p.access?.(req({ ip: '192.0.2.1', headers: { 'x-tenant': 'acme-eu' } }))).toMatchObject(DENIED);
    expect(p.access?.(req({ ip: '10.1.2.3' }))).toMatchObject(DENIED);
    expect(build({ deny: [{ notClientIps: ['10.0.0.0/8'] }] }).access?.(req({ ip: '192.0.2.1' }))).toMatchObject(DENIED);
  });

  it('schema: refuses a config that neither allows nor denies, bad CIDRs and empty value lists', () => {
    expect(validatePolicyConfig('authorization', {}).ok).toBe(false);
    expect(validatePolicyConfig('authorization', { allow: [{ clientIps: ['10.0.0.0/33'] }] })).toMatchObject({ ok: false, issues: [{ path: ['allow', 0, 'clientIps', 0] }] });
    expect(validatePolicyConfig('authorization', { allow: [{ paths: [] }] }).ok).toBe(false);
    expect(validatePolicyConfig('authorization', { deny: [{ claims: [{ claim: 'x' }] }] }).ok).toBe(false);
    expect(validatePolicyConfig('authorization', { allow: [] }).ok).toBe(true);
  });
});
