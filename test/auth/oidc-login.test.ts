import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';
import { freePort } from '../support/ports.js';

// A real OpenID Provider (the `oidc-provider` package) in this process, in front of which the
// gateway runs the authorization code flow with PKCE. Its interaction step (login + consent)
// is answered automatically for the account "alice", as a user clicking through would.
const CLIENT_SECRET = 'oidc-client-secret-0123456789-abcdefghij';
const SESSION_SECRET = 'oidc-session-secret-0123456789-abcdefghij';
const ACCESS_TOKEN_TTL_SEC = 2;

let up: RecordingUpstream;
let gw: RunningGateway;
let source: TestConfigSource;
let provider: Provider;
let providerServer: Server;
let issuer: string;
let app: string;
const issuedTokens: string[] = [];

/** A browser: one cookie jar per origin, redirects followed by hand so each hop can be checked. */
class Browser {
  readonly jar = new Map<string, Map<string, string>>();

  cookies(origin: string): Map<string, string> {
    let j = this.jar.get(origin);
    if (j === undefined) this.jar.set(origin, (j = new Map()));
    return j;
  }

  async get(url: string, accept = 'text/html'): Promise<Response> {
    const u = new URL(url);
    const cookie = [...this.cookies(u.origin)].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(u, { redirect: 'manual', headers: { accept, ...(cookie ? { cookie } : {}) } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/max-age=0/i.test(c) || value === '') this.cookies(u.origin).delete(name);
      else this.cookies(u.origin).set(name, value);
    }
    return res;
  }

  /** Follows redirects from `url` until a non-redirect answer; returns it and every hop's URL. */
  async follow(url: string, max = 12): Promise<{ res: Response; hops: string[] }> {
    const hops: string[] = [];
    let next = url;
    for (let i = 0; i < max; i++) {
      hops.push(next);
      const res = await this.get(next);
      const loc = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || loc === null) return { res, hops };
      await res.arrayBuffer();
      next = new URL(loc, next).href;
    }
    throw new Error(`too many redirects: ${hops.join(' -> ')}`);
  }
}

function config(providerIssuer = issuer): string {
  return (
    upstreamYaml('svc', [up.origin]) +
    apiYaml(
      'webapp',
      `basePath: /app
policies:
  - name: oidc-login
    config:
      issuer: "${providerIssuer}"
      clientId: tollgate
      clientSecret: "${CLIENT_SECRET}"
      redirectUri: "${app}/app/callback"
      sessionSecret: "${SESSION_SECRET}"
      scopes: [openid, email, profile]
      logoutPath: /app/logout
      postLogoutRedirectUri: "${app}/app/bye"
      forwardClaims: [{ claim: email, header: x-user-email }]
      forwardAccessToken: true
      allowInsecureHttp: true
routes: [{ name: all, destination: { upstream: svc } }]`,
    ) +
    apiYaml(
      'down',
      `basePath: /down
policies:
  - name: oidc-login
    config: { issuer: "http://127.0.0.1:${downPort}", clientId: x, clientSecret: y, redirectUri: "${app}/down/callback", sessionSecret: "${SESSION_SECRET}", allowInsecureHttp: true, providerTimeoutMs: 1000 }
routes: [{ name: all, destination: { upstream: svc } }]`,
    ) +
    `---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: alice-co }
spec: { groups: [staff], jwtSubjects: [{ issuer: "${providerIssuer}", subject: alice }] }
`
  );
}
let downPort: number;

beforeAll(async () => {
  up = await startUpstream('svc');
  source = new TestConfigSource(yamlResources(upstreamYaml('svc', [up.origin])));
  gw = await startTestGateway(source);
  app = `http://127.0.0.1:${gw.port}`;
  downPort = await freePort();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  provider = new Provider(issuer, {
    clients: [{ client_id: 'tollgate', client_secret: CLIENT_SECRET, redirect_uris: [`${app}/app/callback`], post_logout_redirect_uris: [`${app}/app/bye`], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }],
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, email: `${id}@example.test`, name: 'Alice Example' }) }),
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    issueRefreshToken: async () => true,
    ttl: { AccessToken: ACCESS_TOKEN_TTL_SEC, IdToken: 3600, RefreshToken: 3600, Session: 3600, Grant: 3600, Interaction: 600, AuthorizationCode: 60 },
    cookies: { keys: ['provider-cookie-key-0123456789'] },
    // A signing key made for this run (no committed key, no development default).
    jwks: { keys: [{ ...(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as Record<string, string>), kid: 'test-rs256', alg: 'RS256', use: 'sig' }] },
  });
  provider.on('access_token.saved', (t: { jti: string }) => issuedTokens.push(t.jti));
  const callback = provider.callback();
  providerServer = createServer(async (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      const details = await provider.interactionDetails(req, res);
      const grant = new provider.Grant({ accountId: 'alice', clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId: 'alice' }, consent: { grantId } }, { mergeWithLastSubmission: false });
      return;
    }
    callback(req, res);
  });
  await new Promise<void>((r) => providerServer.listen(port, '127.0.0.1', r));
  source.set(yamlResources(config()));
  const deadline = Date.now() + 10_000;
  while ((await fetch(`${app}/app/x`, { headers: { accept: 'application/json' } })).status === 404) {
    if (Date.now() > deadline) throw new Error('the oidc route never installed');
    await new Promise((r) => setTimeout(r, 50));
  }
}, 30_000);

afterAll(async () => {
  await gw?.close();
  await up?.close();
  providerServer?.closeAllConnections();
  await new Promise<void>((r) => (providerServer ? providerServer.close(() => r()) : r()));
});

describe('oidc-login against a real OpenID Provider', () => {
  const browser = new Browser();

  it('a browser is sent to the provider with PKCE (S256), state and nonce, and returns logged in', async () => {
    const first = await browser.get(`${app}/app/page?x=1`);
    expect(first.status).toBe(302);
    const auth = new URL(first.headers.get('location')!);
    expect(auth.origin).toBe(issuer);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('state')).toBeTruthy();
    expect(auth.searchParams.get('nonce')).toBeTruthy();
    expect(auth.searchParams.get('redirect_uri')).toBe(`${app}/app/callback`);
    expect(first.headers.getSetCookie()[0]).toMatch(/^tg_session_login=[^;]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/);

    const before = up.received.length;
    const { res, hops } = await browser.follow(auth.href);
    expect(hops.some((h) => h.startsWith(`${app}/app/callback?code=`))).toBe(true);
    expect(hops.at(-1)).toBe(`${app}/app/page?x=1`);
    expect(res.status, await res.text()).toBe(200);
    const session = browser.cookies(app).get('tg_session');
    expect(session).toBeTruthy();
    // Sealed: the browser cannot read the identity or the tokens in it.
    expect(Buffer.from(session!, 'base64url').toString('latin1')).not.toContain('alice');
    const h = up.received[before]?.headers ?? {};
    expect(h['x-user-sub']).toBe('alice');
    expect(h['x-user-email']).toBe('alice@example.test');
    expect(h.authorization).toMatch(/^Bearer .+/);
    // A Consumer that declared this issuer and subject is the caller (identity headers, plans, limits).
    expect(h['x-consumer-name']).toBe('alice-co');
    expect(h['x-consumer-groups']).toBe('staff');
    // The upstream never sees the gateway's cookies.
    expect(h.cookie ?? '').not.toContain('tg_session');
  });

  it('the session cookie is HttpOnly and SameSite; an altered cookie is no session', async () => {
    const b = new Browser();
    const { res } = await b.follow(`${app}/app/one`);
    expect(res.status).toBe(200);
    const tampered = new Browser();
    const value = b.cookies(app).get('tg_session')!;
    tampered.cookies(app).set('tg_session', value.slice(0, -4) + (value.endsWith('AAAA') ? 'BBBB' : 'AAAA'));
    const api = await tampered.get(`${app}/app/one`, 'application/json');
    expect(api.status).toBe(401);
    expect(((await api.json()) as { code: string }).code).toBe('AUTH_REQUIRED');
    expect(api.headers.get('www-authenticate')).toBe('OIDC realm="tollgate"');
    const nav = await tampered.get(`${app}/app/one`);
    expect(nav.status).toBe(302);
  });

  it('an expired access token is refreshed with the refresh token; the new session cookie is set on the answer', async () => {
    const b = new Browser();
    expect((await b.follow(`${app}/app/r`)).res.status).toBe(200);
    const firstToken = up.received.at(-1)?.headers.authorization;
    const old = b.cookies(app).get('tg_session');
    // Poll (no fixed sleep): once the access token expired, the next request refreshes it.
    const deadline = Date.now() + 15_000;
    let refreshed = false;
    while (!refreshed && Date.now() < deadline) {
      const r = await b.get(`${app}/app/r`);
      expect(r.status).toBe(200);
      refreshed = b.cookies(app).get('tg_session') !== old;
      if (!refreshed) await new Promise((res) => setTimeout(res, 200));
    }
    expect(refreshed).toBe(true);
    expect(up.received.at(-1)?.headers['x-user-sub']).toBe('alice');
    expect(up.received.at(-1)?.headers.authorization).not.toBe(firstToken);
  });

  it('a callback without the login in progress, or with a wrong state, is 401 OIDC_LOGIN_FAILED', async () => {
    const stranger = new Browser();
    const r = await stranger.get(`${app}/app/callback?code=abc&state=xyz`);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { code: string }).code).toBe('OIDC_LOGIN_FAILED');
    const b = new Browser();
    const start = await b.get(`${app}/app/s`);
    expect(start.status).toBe(302);
    const forged = await b.get(`${app}/app/callback?code=abc&state=not-the-state&iss=${encodeURIComponent(issuer)}`);
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { code: string }).code).toBe('OIDC_LOGIN_FAILED');
  });

  it('logout clears the session and sends the browser to the provider\'s end_session_endpoint', async () => {
    const b = new Browser();
    expect((await b.follow(`${app}/app/l`)).res.status).toBe(200);
    const out = await b.get(`${app}/app/logout`);
    expect(out.status).toBe(302);
    const loc = new URL(out.headers.get('location')!);
    expect(loc.origin).toBe(issuer);
    expect(loc.searchParams.get('client_id')).toBe('tollgate');
    expect(loc.searchParams.get('post_logout_redirect_uri')).toBe(`${app}/app/bye`);
    expect(out.headers.getSetCookie()[0]).toMatch(/^tg_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax$/);
    expect(b.cookies(app).has('tg_session')).toBe(false);
    expect((await b.get(`${app}/app/l`, 'application/json')).status).toBe(401);
  });

  it('a provider that does not answer is 503 OIDC_PROVIDER_UNAVAILABLE', async () => {
    const r = await new Browser().get(`${app}/down/page`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { code: string }).code).toBe('OIDC_PROVIDER_UNAVAILABLE');
    expect(r.headers.get('retry-after')).toBe('5');
  });

  it('no secret or session in the logs', () => {
    const logs = JSON.stringify(gw.logs);
    expect(logs).not.toContain(CLIENT_SECRET);
    expect(logs).not.toContain(SESSION_SECRET);
    for (const b of browser.jar.values()) for (const v of b.values()) if (v.length > 20) expect(logs).not.toContain(v);
  });
});
