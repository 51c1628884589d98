import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { SignJWT } from 'jose';
import { quoted } from '../identity/consumer-headers.js';
import { IdentityIndex, type OAuthClientEntry } from '../identity/index.js';
import type { ErrorSpec, PolicyContext, PolicyDefinition, PolicyReply } from '../types.js';
import { problemReply } from '../errors.js';
import { OAUTH2_JWKS_ERRORS, OAUTH2_TOKEN_ERRORS as E, oauth2JwksDefinition, oauth2TokenDefinition } from './definition.js';
import { oauth2JwksSchema, oauth2TokenSchema } from './schema.js';

/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** RFC 6749 §5.1/§5.2: token responses and their errors must not be cached. */
const NO_STORE = Object.freeze({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' });

/** An RFC 6749 §5.2 error response, with the stable code as an extension member. */
function oauthError(spec: ErrorSpec, error: string, description: string, extra: Record<string, string> = {}): PolicyReply {
  return Object.freeze({ status: spec.status, headers: Object.freeze({ ...NO_STORE, ...extra }), body: JSON.stringify({ error, error_description: description, code: spec.code }) });
}

/** RFC 6749 §2.3.1: Basic credentials of a client are form-urlencoded before base64. */
function formDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

type ClientAuth = { readonly ok: true; readonly id: string; readonly secret: string; readonly viaBasic: boolean } | { readonly ok: false; readonly reply: PolicyReply };

/** Constant-time comparison of a presented secret with the stored SHA-256 digest (hex). */
function secretMatches(secret: string, digestHex: string): boolean {
  const presented = createHash('sha256').update(secret).digest();
  const stored = Buffer.from(digestHex, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

/** `oauth2-token`: the client-credentials token endpoint (RFC 6749 §4.4) issuing RFC 9068 access tokens. */
export const oauth2Token: PolicyDefinition<typeof oauth2TokenSchema> = {
  ...oauth2TokenDefinition,
  build(config, deps) {
    const identity = deps.identity ?? { current: IdentityIndex.EMPTY };
    const signer = deps.tokenSigner;
    const audience = typeof config.audience === 'string' ? config.audience : [...config.audience];
    const challenge = `Basic realm=${quoted(config.realm)}`;
    const R = Object.freeze({
      method: oauthError(E.OAUTH_INVALID_REQUEST, 'invalid_request', 'the token endpoint takes POST requests only (RFC 6749 §3.2)', { allow: 'POST' }),
      form: oauthError(E.OAUTH_INVALID_REQUEST, 'invalid_request', 'the body must be application/x-www-form-urlencoded (RFC 6749 §4.4.2)'),
      tooLarge: oauthError(E.OAUTH_INVALID_REQUEST, 'invalid_request', `the body is larger than ${config.maxBodyBytes} bytes`),
      repeated: oauthError(E.OAUTH_INVALID_REQUEST, 'invalid_request', 'a parameter is repeated (RFC 6749 §3.2)'),
      noGrant: oauthError(E.OAUTH_INVALID_REQUEST, 'invalid_request', 'grant_type is missing'),
      twoMethods: oauthError(E.OAUTH_INVALID_REQUEST, 'invalid_request', 'use one client authentication method: HTTP Basic or client_secret in the body, not both (RFC 6749 §2.3)'),
      grant: oauthError(E.OAUTH_UNSUPPORTED_GRANT_TYPE, 'unsupported_grant_type', 'only the client_credentials grant is supported'),
      // RFC 6749 §5.2: 401 with a challenge for the scheme the client used (Basic); we send it always.
      client: oauthError(E.OAUTH_INVALID_CLIENT, 'invalid_client', 'client authentication failed', { 'www-authenticate': challenge }),
      scope: oauthError(E.OAUTH_INVALID_SCOPE, 'invalid_scope', 'a requested scope is not valid for this client'),
      signing: oauthError(E.OAUTH_SIGNING_UNAVAILABLE, 'temporarily_unavailable', 'no signing key is available; try again shortly', { 'retry-after': '5' }),
    });

    function clientAuth(ctx: PolicyContext, form: URLSearchParams): ClientAuth {
      const header = ctx.headers.authorization;
      const bodyId = form.get('client_id');
      const bodySecret = form.get('client_secret');
      if (typeof header === 'string' && /^basic /i.test(header)) {
        if (bodySecret !== null) return { ok: false, reply: R.twoMethods };
        const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        const id = colon > 0 ? formDecode(decoded.slice(0, colon)) : undefined;
        const secret = colon > 0 ? formDecode(decoded.slice(colon + 1)) : undefined;
        if (id === undefined || secret === undefined || (bodyId !== null && bodyId !== id)) return { ok: false, reply: R.client };
        return { ok: true, id, secret, viaBasic: true };
      }
      if (bodyId === null || bodySecret === null) return { ok: false, reply: R.client };
      return { ok: true, id: bodyId, secret: bodySecret, viaBasic: false };
    }

    function grantedScopes(client: OAuthClientEntry, requested: string | null): string[] | undefined {
      // RFC 6749 §3.3: without `scope`, the default is every scope the client may have.
      if (requested === null) return [...client.scopes];
      const wanted = requested.split(' ').filter((s) => s !== '');
      if (wanted.length === 0 || wanted.some((s) => !SCOPE_TOKEN.test(s) || !client.scopes.has(s))) return undefined;
      return [...new Set(wanted)];
    }

    async function issue(ctx: PolicyContext): Promise<PolicyReply> {
      const type = String(ctx.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/x-www-form-urlencoded' || ctx.readBody === undefined) return R.form;
      const read = await ctx.readBody(config.maxBodyBytes);
      if (!read.ok) return read.reason === 'too_large' ? R.tooLarge : R.form;
      const form = new URLSearchParams(read.body.toString('utf8'));
      // RFC 6749 §3.2: request parameters must not be included more than once.
      for (const k of new Set(form.keys())) if (form.getAll(k).length > 1) return R.repeated;
      const grant = form.get('grant_type');
      if (grant === null) return R.noGrant;
      if (grant !== 'client_credentials') return R.grant;
      const auth = clientAuth(ctx, form);
      if (!auth.ok) return auth.reply;
      const client = identity.current.byClientId(auth.id);
      // Unknown, revoked (gone from the index) and wrong secret all look the same to the caller.
      if (client === undefined || !secretMatches(auth.secret, client.secretHash)) return R.client;
      const scopes = grantedScopes(client, form.get('scope'));
      if (scopes === undefined) return R.scope;
      const key = signer?.signingKey();
      if (signer === undefined || key === undefined) return R.signing;
      const now = Math.floor(Date.now() / 1000);
      // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti; `sub` is the client for this grant.
      const claims: Record<string, unknown> = { client_id: client.clientId, jti: randomUUID() };
      if (scopes.length > 0) claims.scope = scopes.join(' ');
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
        .setIssuer(signer.issuer)
        .setSubject(client.clientId)
        .setAudience(audience)
        .setIssuedAt(now)
        .setExpirationTime(now + config.tokenTtlSec)
        .sign(key.privateKey);
      // The consumer is named in the access log and metering (no identity headers: nothing is forwarded).
      ctx.authenticate(client.consumer, null, `oauth-client:${client.clientId}`);
      const body: Record<string, unknown> = { access_token: token, token_type: 'Bearer', expires_in: config.tokenTtlSec };
      if (scopes.length > 0) body.scope = scopes.join(' ');
      return { status: 200, headers: NO_STORE, body: JSON.stringify(body) };
    }

    return {
      access(ctx: PolicyContext) {
        if (ctx.method !== 'POST') return R.method;
        return issue(ctx);
      },
    };
  },
};

/** `oauth2-jwks`: the token issuer's public keys as a JWK Set. */
export const oauth2Jwks: PolicyDefinition<typeof oauth2JwksSchema> = {
  ...oauth2JwksDefinition,
  build(config, deps) {
    const signer = deps.tokenSigner;
    const headers = Object.freeze({ 'content-type': 'application/jwk-set+json', 'cache-control': `public, max-age=${config.maxAgeSec}` });
    const method = problemReply(OAUTH2_JWKS_ERRORS.METHOD_NOT_ALLOWED, 'the JWK Set is read with GET', { headers: { allow: 'GET, HEAD' } });
    return {
      access(ctx: PolicyContext) {
        if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return method;
        return { status: 200, headers, body: JSON.stringify(signer?.jwks() ?? { keys: [] }) };
      },
    };
  },
};
