import { ClaimRequirements } from '../identity/claims.js';
import { announceConsumer, authReply, quoted, stripIdentityHeaders } from '../identity/consumer-headers.js';
import { IdentityIndex } from '../identity/index.js';
import { TokenReader } from '../jwt-auth/token.js';
import type { PolicyContext, PolicyDefinition, PolicyReply } from '../types.js';
import { INTROSPECTION_ERRORS, introspectionDefinition } from './definition.js';
import { introspectors, IntrospectionUnavailableError, type Introspection } from './introspector.js';
import { introspectionSchema } from './schema.js';

/** Whether `aud` (a string or an array of them, RFC 7662 §2.2) names one of `audiences`. */
function audienceMatches(aud: unknown, audiences: ReadonlySet<string>): boolean {
  if (typeof aud === 'string') return audiences.has(aud);
  return Array.isArray(aud) && aud.some((a) => typeof a === 'string' && audiences.has(a));
}

/** `oauth2-introspection`: opaque bearer tokens judged by an RFC 7662 endpoint, cached. */
export const oauth2Introspection: PolicyDefinition<typeof introspectionSchema> = {
  ...introspectionDefinition,
  build(config, deps) {
    const identity = deps.identity ?? { current: IdentityIndex.EMPTY };
    const introspector = introspectors.get(
      {
        endpoint: config.endpoint,
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        clientAuthMethod: config.clientAuthMethod,
        tokenTypeHint: config.tokenTypeHint,
        timeoutMs: config.timeoutMs,
        cacheMaxEntries: config.cacheMaxEntries,
        cacheTtlMs: config.cacheTtlSec * 1000,
        negativeCacheTtlMs: config.negativeCacheTtlSec * 1000,
      },
      deps.logger,
    );
    const reader = new TokenReader(config);
    const requirements = new ClaimRequirements(config.requiredScopes, config.claimValues);
    const audiences = new Set(config.audiences);
    const issuerName = config.issuer ?? config.endpoint;
    const names = config.consumerHeaders;
    const challenge = `Bearer realm=${quoted(config.realm)}`;
    // RFC 6750 §3.1: invalid_token for a token that is expired, revoked, malformed or otherwise invalid.
    const bad = (detail: string): PolicyReply => authReply(INTROSPECTION_ERRORS.INVALID_CREDENTIAL, detail, `${challenge}, error="invalid_token", error_description=${quoted(detail)}`);
    const R = Object.freeze({
      inactive: bad('the token is not active'),
      tooLong: bad('the token is too long'),
      wrongIssuer: bad('the token was issued by another issuer'),
      wrongAudience: bad('the token is not meant for this audience'),
      notYet: bad('the token is not valid yet'),
      unmapped: bad('the token maps to no consumer'),
      expired: authReply(INTROSPECTION_ERRORS.TOKEN_EXPIRED, 'the token has expired', `${challenge}, error="invalid_token", error_description="the token has expired"`),
      // Neither the caller's fault (401) nor a bug (500): the gateway cannot judge the token now.
      unavailable: authReply(INTROSPECTION_ERRORS.INTROSPECTION_UNAVAILABLE, 'the token cannot be checked now: the authorization server is unavailable', undefined, { 'retry-after': '5' }),
    });

    const judge = (ctx: PolicyContext, answer: Introspection): PolicyReply | undefined => {
      if (!answer.active) return R.inactive;
      const claims = answer.claims;
      // A cached answer never outlives the token; checked again here so the cache cannot be wrong.
      const nowSec = Date.now() / 1000;
      if (typeof claims.exp === 'number' && claims.exp <= nowSec) return R.expired;
      if (typeof claims.nbf === 'number' && claims.nbf > nowSec) return R.notYet;
      if (config.issuer !== undefined && claims.iss !== config.issuer) return R.wrongIssuer;
      if (audiences.size > 0 && !audienceMatches(claims.aud, audiences)) return R.wrongAudience;
      const subject = claims[config.consumerClaim];
      const index = identity.current;
      const consumer = typeof subject === 'string' ? (index.bySubject(issuerName, subject) ?? index.byCustomId(subject)) : undefined;
      if (consumer === undefined && !config.anonymous) return R.unmapped;
      announceConsumer(ctx, consumer ?? null, names, claims, typeof subject === 'string' ? `introspection:${issuerName} ${subject}` : null);
      return requirements.check(claims);
    };

    return {
      access(ctx: PolicyContext) {
        stripIdentityHeaders(ctx, names);
        const found = reader.read(ctx);
        if (found !== undefined && !config.forwardToken) reader.strip(ctx, found);
        if (ctx.authenticated) return undefined;
        if (found === undefined) {
          ctx.challenge(challenge);
          return undefined;
        }
        if (Buffer.byteLength(found.token) > config.maxTokenBytes) return R.tooLong;
        let answer: Introspection | Promise<Introspection>;
        try {
          answer = introspector.introspect(found.token);
        } catch {
          return R.unavailable;
        }
        if (!(answer instanceof Promise)) return judge(ctx, answer);
        return answer.then(
          (a) => judge(ctx, a),
          (err: unknown) => {
            if (err instanceof IntrospectionUnavailableError) return R.unavailable;
            deps.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'oauth2-introspection: unexpected failure');
            return R.unavailable;
          },
        );
      },
    };
  },
};
