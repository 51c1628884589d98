import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { announceConsumer, authReply, quoted, stripIdentityHeaders } from '../identity/consumer-headers.js';
import { IdentityIndex } from '../identity/index.js';
import { invalidHeaderReplies, isFieldValue } from '../header-value.js';
import type { PolicyContext, PolicyDefinition, PolicyReply, PolicyResponse } from '../types.js';
import { OIDC_LOGIN_ERRORS as E, oidcLoginDefinition } from './definition.js';
import { isUnreachable, ProviderHandle } from './provider.js';
import { oidcLoginSchema, type OidcLoginConfig } from './schema.js';
import { readCookie, SealedCookie, withoutCookies } from './sealed-cookie.js';

/** What the session cookie holds (sealed: the browser can neither read nor change it). */
interface Session {
  readonly iss: string;
  readonly sub: string;
  readonly claims: Record<string, unknown>;
  /** Access token and its expiry (epoch seconds). */
  readonly at: string;
  readonly atExp: number;
  readonly rt?: string;
  /** Absolute end of the session (epoch seconds); refreshes never extend it. */
  readonly exp: number;
}

/** A login in progress (state cookie): RFC 6749 `state`, RFC 7636 verifier, OIDC nonce, where to return. */
interface LoginState {
  readonly s: string;
  readonly v: string;
  readonly n: string;
  readonly r: string;
  readonly exp: number;
}

/** Lifetime of a login in progress, in seconds (the user must finish at the provider within it). */
const LOGIN_TTL_SEC = 600;
/** How long the result of one refresh is shared by concurrent requests of the same session, in ms. */
const REFRESH_SHARE_MS = 30_000;

/** `oidc-login`: OpenID Connect authorization code flow with PKCE for browser apps. */
export const oidcLogin: PolicyDefinition<typeof oidcLoginSchema> = {
  ...oidcLoginDefinition,
  build(config, deps) {
    const identity = deps.identity ?? { current: IdentityIndex.EMPTY };
    const names = config.consumerHeaders;
    const provider = new ProviderHandle(config);
    const sessions = new SealedCookie(config.sessionSecret, 'oidc session');
    const logins = new SealedCookie(config.sessionSecret, 'oidc login');
    const loginCookie = `${config.cookieName}_login`;
    const ourCookies = new Set([config.cookieName, loginCookie]);
    const callbackPath = new URL(config.redirectUri).pathname;
    const scope = [...new Set(['openid', ...config.scopes])].join(' ');
    const challenge = `OIDC realm=${quoted('tollgate')}`;
    const unavailable = authReply(E.OIDC_PROVIDER_UNAVAILABLE, 'the identity provider cannot be reached; try again shortly', undefined, { 'retry-after': '5' });
    const badHeader = invalidHeaderReplies(config.forwardClaims.map((f) => f.header));
    /** Set-Cookie values to add to the response of a request whose session was refreshed. */
    const pending = new WeakMap<PolicyContext, string>();
    /** Refreshes in flight or just done, by refresh-token digest: a burst of requests refreshes once. */
    const refreshes = new Map<string, { at: number; result: Promise<Session | null> }>();

    // Secure whenever the browser reached us over TLS: on our listener, or at a trusted proxy that says so.
    const overTls = (ctx: PolicyContext): boolean => ctx.secure || (ctx.trustForwarding && String(ctx.headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim().toLowerCase() === 'https');
    const cookie = (ctx: PolicyContext, name: string, value: string, maxAgeSec: number): string => `${name}=${value}; Path=/; Max-Age=${maxAgeSec}; HttpOnly; SameSite=Lax${overTls(ctx) ? '; Secure' : ''}`;
    const fail = (detail: string): PolicyReply => authReply(E.OIDC_LOGIN_FAILED, detail);
    const nowSec = () => Math.floor((deps.now ?? Date.now)() / 1000);

    const sessionFrom = (tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers, previous: Session | null): Session => {
      const claims = (tokens.claims() as Record<string, unknown> | undefined) ?? previous?.claims ?? {};
      const t = nowSec();
      return {
        iss: String(claims.iss ?? previous?.iss ?? config.issuer),
        sub: String(claims.sub ?? previous?.sub ?? ''),
        claims,
        at: tokens.access_token,
        atExp: t + (typeof tokens.expires_in === 'number' ? tokens.expires_in : 300),
        ...(tokens.refresh_token !== undefined ? { rt: tokens.refresh_token } : previous?.rt !== undefined ? { rt: previous.rt } : {}),
        exp: previous?.exp ?? t + config.sessionTtlSec,
      };
    };

    const refresh = (s: Session): Promise<Session | null> => {
      const key = createHash('sha256').update(s.rt ?? '').digest('base64url');
      const t = Date.now();
      for (const [k, v] of refreshes) if (t - v.at > REFRESH_SHARE_MS) refreshes.delete(k);
      const known = refreshes.get(key);
      if (known !== undefined) return known.result;
      const result = (async () => {
        try {
          const tokens = await client.refreshTokenGrant(await provider.configuration(), s.rt as string);
          return sessionFrom(tokens, s);
        } catch (err) {
          if (isUnreachable(err)) throw err;
          return null; // refused (revoked, expired refresh token): log in again
        }
      })();
      refreshes.set(key, { at: t, result });
      result.catch(() => refreshes.delete(key));
      return result;
    };

    const startLogin = async (ctx: PolicyContext): Promise<PolicyReply> => {
      let cfg: client.Configuration;
      try {
        cfg = await provider.configuration();
      } catch (err) {
        deps.logger.warn({ err: { message: (err as Error).message }, issuer: config.issuer }, 'oidc-login: provider unreachable');
        return unavailable;
      }
      const verifier = client.randomPKCECodeVerifier();
      const state: LoginState = { s: client.randomState(), v: verifier, n: client.randomNonce(), r: ctx.query !== null ? `${ctx.path}?${ctx.query}` : ctx.path, exp: nowSec() + LOGIN_TTL_SEC };
      const url = client.buildAuthorizationUrl(cfg, { redirect_uri: config.redirectUri, scope, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: state.s, nonce: state.n });
      return { status: 302, headers: { location: url.href, 'set-cookie': cookie(ctx, loginCookie, logins.seal(state), LOGIN_TTL_SEC), 'cache-control': 'no-store' }, body: '' };
    };

    const finishLogin = async (ctx: PolicyContext): Promise<PolicyReply> => {
      const sealed = readCookie(ctx.headers.cookie, loginCookie);
      const state = sealed !== undefined ? logins.open<LoginState>(sealed) : null;
      if (state === null || state.exp < nowSec()) return fail('no login in progress in this browser (or it expired); start again');
      const current = new URL(config.redirectUri);
      current.search = ctx.query ?? '';
      try {
        const cfg = await provider.configuration();
        const tokens = await client.authorizationCodeGrant(cfg, current, { pkceCodeVerifier: state.v, expectedState: state.s, expectedNonce: state.n, idTokenExpected: true });
        let session = sessionFrom(tokens, null);
        // OIDC Core §5.4: with an access token, providers may keep profile claims out of the ID
        // token and serve them at userinfo; its `sub` must be the ID token's (checked by the library).
        if (config.userinfo && cfg.serverMetadata().userinfo_endpoint !== undefined) {
          const info = await client.fetchUserInfo(cfg, tokens.access_token, session.sub);
          session = { ...session, claims: { ...info, ...session.claims } };
        }
        // Only a path of this site: the return target came from our own sealed cookie, but never follow elsewhere.
        const target = state.r.startsWith('/') && !state.r.startsWith('//') ? state.r : '/';
        return { status: 302, headers: { location: target, 'set-cookie': cookie(ctx, config.cookieName, sessions.seal(session), Math.max(1, session.exp - nowSec())), 'cache-control': 'no-store' }, body: '' };
      } catch (err) {
        if (isUnreachable(err)) return unavailable;
        const code = err instanceof client.AuthorizationResponseError ? err.error : err instanceof client.ResponseBodyError ? err.error : 'invalid_response';
        deps.logger.warn({ error: code, issuer: config.issuer }, 'oidc-login: login callback refused');
        return fail(`the login did not complete (${code})`);
      }
    };

    const logout = async (ctx: PolicyContext): Promise<PolicyReply> => {
      let location = config.postLogoutRedirectUri ?? '/';
      try {
        const cfg = await provider.configuration();
        if (cfg.serverMetadata().end_session_endpoint !== undefined) location = client.buildEndSessionUrl(cfg, { client_id: config.clientId, ...(config.postLogoutRedirectUri ? { post_logout_redirect_uri: config.postLogoutRedirectUri } : {}) }).href;
      } catch {
        // The local session ends whatever the provider's state.
      }
      return { status: 302, headers: { location, 'set-cookie': cookie(ctx, config.cookieName, '', 0), 'cache-control': 'no-store' }, body: '' };
    };

    const admit = (ctx: PolicyContext, s: Session): PolicyReply | undefined => {
      for (const f of config.forwardClaims) {
        const v = s.claims[f.claim];
        if (v === undefined) continue;
        const text = typeof v === 'string' ? v : JSON.stringify(v);
        if (!isFieldValue(text)) return badHeader.get(f.header);
        ctx.setUpstreamHeader(f.header, text);
      }
      const consumer = identity.current.bySubject(s.iss, s.sub) ?? null;
      announceConsumer(ctx, consumer, names, s.claims, `oidc:${s.iss} ${s.sub}`);
      ctx.setUpstreamHeader(config.subjectHeader, s.sub);
      if (config.forwardAccessToken) ctx.setUpstreamHeader('authorization', `Bearer ${s.at}`);
      return undefined;
    };

    const judge = async (ctx: PolicyContext): Promise<PolicyReply | undefined> => {
      if (ctx.path === callbackPath) return finishLogin(ctx);
      if (config.logoutPath !== undefined && ctx.path === config.logoutPath) return logout(ctx);
      const sealed = readCookie(ctx.headers.cookie, config.cookieName);
      let session = sealed !== undefined ? sessions.open<Session>(sealed) : null;
      const t = nowSec();
      if (session !== null && session.exp <= t) session = null;
      if (session !== null && session.atExp <= t) {
        if (session.rt === undefined) session = null;
        else {
          try {
            const renewed = await refresh(session);
            if (renewed !== null) pending.set(ctx, cookie(ctx, config.cookieName, sessions.seal(renewed), Math.max(1, renewed.exp - t)));
            session = renewed;
          } catch (err) {
            deps.logger.warn({ err: { message: (err as Error).message }, issuer: config.issuer }, 'oidc-login: refresh failed, provider unreachable');
            return unavailable;
          }
        }
      }
      if (session !== null) return admit(ctx, session);
      if (isNavigation(ctx)) return startLogin(ctx);
      ctx.challenge(challenge);
      return undefined;
    };

    return {
      access(ctx: PolicyContext) {
        stripIdentityHeaders(ctx, names);
        ctx.removeUpstreamHeader(config.subjectHeader);
        for (const f of config.forwardClaims) ctx.removeUpstreamHeader(f.header);
        // The session is the gateway's: the upstream never sees it (nor the login state).
        if (ctx.headers.cookie !== undefined) {
          const rest = withoutCookies(ctx.headers.cookie, ourCookies);
          if (rest === null) ctx.removeUpstreamHeader('cookie');
          else ctx.setUpstreamHeader('cookie', rest);
        }
        if (ctx.authenticated) return undefined;
        return judge(ctx);
      },
      response(ctx: PolicyContext, res: PolicyResponse) {
        const set = pending.get(ctx);
        if (set === undefined) return undefined;
        const prev = res.headers['set-cookie'];
        res.headers['set-cookie'] = prev === undefined ? [set] : [...(Array.isArray(prev) ? prev : [prev]), set];
        return undefined;
      },
    };
  },
};

/** A top-level browser navigation, which can follow a redirect to the provider (others get 401). */
function isNavigation(ctx: PolicyContext): boolean {
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return false;
  const accept = ctx.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

export type { OidcLoginConfig };
