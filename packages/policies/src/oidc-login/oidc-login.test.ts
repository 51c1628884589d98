import { describe, expect, it } from 'vitest';
import { RequestContext } from '../context.js';
import { oidcLogin } from './index.js';
import { oidcLoginSchema } from './schema.js';

// The flow itself is tested against a real provider in test/auth/oidc-login.test.ts; these cover
// what needs no provider (the issuer here does not answer).
const config = oidcLoginSchema.parse({
  issuer: 'http://127.0.0.1:9/',
  clientId: 'c',
  clientSecret: 's',
  redirectUri: 'https://app.test/app/callback',
  sessionSecret: 'session-secret-0123456789-abcdefghijkl',
  logoutPath: '/app/logout',
  postLogoutRedirectUri: 'https://app.test/bye',
  allowInsecureHttp: true,
  providerTimeoutMs: 200,
});
const policy = oidcLogin.build(config, { logger: { warn() {}, error() {} } });

function ctx(path: string, headers: Record<string, string> = {}, opts: { secure?: boolean; trust?: boolean } = {}) {
  const c = new RequestContext('r', '127.0.0.1', 'GET', path, headers, 'a', 'r', null, 'app.test');
  c.secure = opts.secure ?? false;
  c.trustForwarding = opts.trust ?? false;
  return c;
}

describe('oidc-login', () => {
  it('logout clears the session even when the provider is unreachable; Secure only over TLS', async () => {
    const plain = (await policy.access?.(ctx('/app/logout'))) as { status: number; headers: Record<string, string> };
    expect(plain.status).toBe(302);
    expect(plain.headers.location).toBe('https://app.test/bye');
    expect(plain.headers['set-cookie']).toBe('tg_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax');
    const tls = (await policy.access?.(ctx('/app/logout', {}, { secure: true }))) as { headers: Record<string, string> };
    expect(tls.headers['set-cookie']).toMatch(/; Secure$/);
    const proxied = (await policy.access?.(ctx('/app/logout', { 'x-forwarded-proto': 'https' }, { trust: true }))) as { headers: Record<string, string> };
    expect(proxied.headers['set-cookie']).toMatch(/; Secure$/);
    // An untrusted peer cannot claim TLS.
    const spoofed = (await policy.access?.(ctx('/app/logout', { 'x-forwarded-proto': 'https' }))) as { headers: Record<string, string> };
    expect(spoofed.headers['set-cookie']).not.toMatch(/Secure/);
  });

  it('the gateway cookies never reach the upstream; client copies of the identity headers are removed', async () => {
    const c = ctx('/app/page', { accept: 'application/json', cookie: 'theme=dark; tg_session=abc; tg_session_login=def', 'x-user-sub': 'root' });
    expect(await policy.access?.(c)).toBeUndefined();
    expect(c.challenges).toEqual(['OIDC realm="tollgate"']);
    const out: Record<string, string | string[]> = { cookie: 'theme=dark; tg_session=abc; tg_session_login=def', 'x-user-sub': 'root' };
    c.applyTo(out);
    expect(out).toEqual({ cookie: 'theme=dark' });
  });

  it('a navigation without a session while the provider is down is 503 OIDC_PROVIDER_UNAVAILABLE', async () => {
    const r = (await policy.access?.(ctx('/app/page', { accept: 'text/html' }))) as { status: number; body: { code: string } };
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('OIDC_PROVIDER_UNAVAILABLE');
  });

  it('refuses an http issuer unless allowInsecureHttp', () => {
    expect(oidcLoginSchema.safeParse({ ...config, allowInsecureHttp: false }).success).toBe(false);
  });
});
