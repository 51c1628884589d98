import { createPublicKey, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type FlattenedJWSInput, type JSONWebKeySet, type JWK, type JWSHeaderParameters, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { invalidHeaderReplies, isFieldValue } from '../header-value.js';
import { ClaimRequirements } from '../identity/claims.js';
import { announceConsumer, authReply, stripIdentityHeaders } from '../identity/consumer-headers.js';
import { IdentityIndex } from '../identity/index.js';
import type { ErrorSpec, PolicyContext, PolicyDefinition, PolicyReply } from '../types.js';
import { JwksRegistry, JwksUnavailableError, type RemoteJwks } from './jwks.js';
import type { TokenSigner } from '../oauth2-token/signer.js';
import { jwtAuthSchema, TOLLGATE_ISSUER, type IssuerConfig, type JwtAuthConfig } from './schema.js';
import { TokenReader, type FoundToken } from './token.js';
import { jwtAuthDefinition, JWT_AUTH_ERRORS } from './definition.js';

type VerifyKey = Awaited<ReturnType<ReturnType<typeof createLocalJWKSet>>> | Uint8Array | KeyObject;

/** Most keys tried for one token when several match its header (same kid or no kid). */
const MAX_CANDIDATE_KEYS = 8;

/** One issuer, compiled: verify options and a key getter over its inline, PEM, HMAC and remote keys. */
class CompiledIssuer {
  readonly options: JWTVerifyOptions;
  /** Whether this issuer's tokens go upstream (the issuer's `forwardToken`, else the policy's). */
  readonly forward: boolean;
  /** Claims sent upstream as headers: the policy's, then the issuer's. */
  readonly forwardClaims: ReadonlyArray<{ claim: string; header: string }>;
  readonly payloadHeader: string | undefined;
  readonly #local: ReturnType<typeof createLocalJWKSet> | null;
  /** PEM keys declared without a `kid`: they match a token whatever its `kid`. */
  readonly #anyKid: ReturnType<typeof createLocalJWKSet> | null;
  readonly #remote: RemoteJwks | null;
  readonly #secrets: readonly Uint8Array[];

  /** The gateway's own issuer (`issuer: tollgate`): keys from the token signer, consumer from the token's client_id. */
  readonly own: boolean;
  readonly #signer: TokenSigner | undefined;

  constructor(i: IssuerConfig, config: JwtAuthConfig, registry: JwksRegistry, signer: TokenSigner | undefined) {
    this.own = i.issuer === TOLLGATE_ISSUER;
    this.#signer = signer;
    this.options = Object.freeze({
      issuer: this.own ? (signer?.issuer ?? TOLLGATE_ISSUER) : i.issuer,
      // anyAudience: Istio accepts a jwtRule's tokens whatever their `aud` when `audiences` is empty.
      ...(i.anyAudience ? {} : { audience: [...i.audiences] }),
      // Tollgate signs with ES256 only, and types its tokens at+jwt (RFC 9068 §2.1).
      algorithms: this.own ? ['ES256'] : [...(i.algorithms ?? [])],
      // `iss` and `aud` are required by setting them; `exp` by default (jose checks it only when present).
      requiredClaims: this.own ? [...new Set([...config.requiredClaims, 'exp', 'client_id'])] : [...config.requiredClaims],
      clockTolerance: config.clockToleranceSec,
      ...(this.own ? { typ: 'at+jwt' } : i.typ !== undefined ? { typ: i.typ } : {}),
    });
    const keys: JWK[] = [...((i.jwks?.keys ?? []) as JWK[])];
    const anyKid: JWK[] = [];
    for (const k of i.publicKeys ?? []) {
      const jwk = createPublicKey(k.pem).export({ format: 'jwk' }) as JWK;
      if (k.kid !== undefined) keys.push({ ...jwk, kid: k.kid });
      else anyKid.push(jwk);
    }
    this.#local = keys.length > 0 ? createLocalJWKSet({ keys } as JSONWebKeySet) : null;
    this.#anyKid = anyKid.length > 0 ? createLocalJWKSet({ keys: anyKid } as JSONWebKeySet) : null;
    this.#remote = i.jwksUri !== undefined ? registry.get(i.jwksUri, { timeoutMs: i.jwksTimeoutMs, maxAgeMs: i.jwksMaxAgeMs, staleMs: i.jwksStaleMs, cooldownMs: i.jwksCooldownMs }) : null;
    this.#secrets = (i.secrets ?? []).map((s) => new TextEncoder().encode(s));
    this.forward = i.forwardToken ?? config.forwardToken;
    this.forwardClaims = Object.freeze([...config.forwardClaims, ...i.forwardClaims]);
    this.payloadHeader = i.payloadHeader;
  }

  /**
   * jose key getter. Only keys the operator configured are ever used: the token's `jwk`, `jku`
   * and `x5u` headers are ignored (RFC 8725 §3.10), and `alg` was already checked against the
   * pinned list by jose before this runs.
   */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<VerifyKey> => {
    if (this.own) {
      // Fail closed: without the gateway's signer no token of its own issuer can be judged.
      if (this.#signer === undefined) throw new JwksUnavailableError('tollgate');
      const key = typeof header.kid === 'string' ? this.#signer.verificationKey(header.kid) : undefined;
      if (key !== undefined) return key;
      // A key another node just created: reload (throttled) so the next request knows it.
      this.#signer.refresh();
      throw new errors.JWKSNoMatchingKey();
    }
    if (header.alg?.startsWith('HS') === true) {
      if (this.#secrets.length === 1) return this.#secrets[0] as Uint8Array;
      const secrets = this.#secrets;
      const err = new errors.JWKSMultipleMatchingKeys();
      (err as unknown as { [Symbol.asyncIterator]: () => AsyncGenerator<Uint8Array> })[Symbol.asyncIterator] = async function* () {
        yield* secrets;
      };
      throw err;
    }
    if (this.#local !== null) {
      try {
        return await this.#local(header, token);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey) || (this.#remote === null && this.#anyKid === null)) throw err;
      }
    }
    if (this.#anyKid !== null) {
      try {
        return await this.#anyKid({ ...header, kid: undefined }, token);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey) || this.#remote === null) throw err;
      }
    }
    if (this.#remote !== null) return this.#remote.getKey(header, token);
    throw new errors.JWKSNoMatchingKey();
  };

  /** Verifies `token`; tries each candidate key when several match (jose leaves that to the caller). */
  async verify(token: string): Promise<JWTPayload> {
    try {
      return (await jwtVerify(token, this.getKey, this.options)).payload;
    } catch (err) {
      if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
      let last: unknown = err;
      let n = 0;
      for await (const key of err as unknown as AsyncIterable<VerifyKey>) {
        if (++n > MAX_CANDIDATE_KEYS) break;
        try {
          return (await jwtVerify(token, key, this.options)).payload;
        } catch (e) {
          last = e;
          if (!(e instanceof errors.JWSSignatureVerificationFailed)) break; // claims failed: another key will not help
        }
      }
      throw last;
    }
  }
}

const REALM = 'Bearer realm="tollgate"';

function invalidToken(detail: string, spec: ErrorSpec = JWT_AUTH_ERRORS.INVALID_CREDENTIAL): PolicyReply {
  // RFC 6750 §3.1: a token that is expired, revoked, malformed or otherwise invalid is `invalid_token`.
  return authReply(spec, detail, `${REALM}, error="invalid_token", error_description="${detail}"`);
}

const R = Object.freeze({
  malformed: invalidToken('the token is malformed'),
  tooLong: invalidToken('the token is too long'),
  unknownIssuer: invalidToken('the token issuer is not trusted'),
  invalid: invalidToken('the token is not valid'),
  signature: invalidToken('the token signature does not verify'),
  claims: invalidToken('the token claims are not acceptable'),
  expired: invalidToken('the token has expired', JWT_AUTH_ERRORS.TOKEN_EXPIRED),
  unmapped: invalidToken('the token does not identify a known consumer'),
  unbound: invalidToken('the token is not bound to the client certificate of this connection'),
  jwksDown: authReply(JWT_AUTH_ERRORS.JWKS_UNAVAILABLE, "the issuer's signing keys cannot be fetched; try again later", undefined, { 'retry-after': '5' }),
});

/**
 * RFC 8705 §3.1: a certificate-bound token names, in `cnf["x5t#S256"]`, the base64url SHA-256 of
 * the DER certificate its client holds; it is accepted only over a connection whose verified
 * client certificate has that thumbprint, so a stolen token is useless without the private key.
 */
function boundToConnection(ctx: PolicyContext, payload: JWTPayload): boolean {
  const facts = ctx.peerCertificate?.() ?? null;
  const cnf = payload.cnf;
  const thumb = typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>)['x5t#S256'] : undefined;
  return facts !== null && typeof thumb === 'string' && thumb === Buffer.from(facts.fingerprint, 'hex').toString('base64url');
}

/** Maps a verification failure to its reply; never echoes the token. */
function failure(err: unknown): PolicyReply {
  if (err instanceof JwksUnavailableError) return R.jwksDown;
  if (err instanceof errors.JWTExpired) return R.expired;
  if (err instanceof errors.JWTClaimValidationFailed) return R.claims;
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) return R.signature;
  return R.invalid;
}

function headerValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  // JSON.stringify escapes control characters; a string claim is checked by the caller.
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** `jwt-auth`: verifies a JWT against pinned issuers, algorithms and audiences, maps it to a consumer. */
export const jwtAuth: PolicyDefinition<typeof jwtAuthSchema> = {
  ...jwtAuthDefinition,
  build(config, deps) {
    const identity = deps.identity ?? { current: IdentityIndex.EMPTY };
    const registry = deps.jwks ?? new JwksRegistry(deps.logger);
    const issuers = new Map(
      config.issuers.map((i) => {
        const compiled = new CompiledIssuer(i, config, registry, deps.tokenSigner);
        return [compiled.options.issuer as string, compiled];
      }),
    );
    const reader = new TokenReader(config);
    const requirements = new ClaimRequirements(config.requiredScopes, config.claimValues);
    const names = config.consumerHeaders;
    // Every header a token may be copied into: client-sent copies are removed on every request,
    // so a request without a token (optional mode) cannot smuggle a forged identity upstream.
    const outputHeaders = [...new Set([...config.forwardClaims.map((f) => f.header), ...config.issuers.flatMap((i) => [...i.forwardClaims.map((f) => f.header), ...(i.payloadHeader !== undefined ? [i.payloadHeader] : [])])])];
    const refusals = invalidHeaderReplies(outputHeaders);

    async function judge(ctx: PolicyContext, found: FoundToken): Promise<PolicyReply | undefined> {
      const token = found.token;
      let iss: unknown;
      try {
        iss = decodeJwt(token).iss; // unverified: only to choose the issuer's keys
      } catch {
        reader.strip(ctx, found);
        return R.malformed;
      }
      const issuer = typeof iss === 'string' ? issuers.get(iss) : undefined;
      // Istio: a token whose issuer matches no jwtRule is rejected with 401 (istio#24371).
      if (issuer === undefined) return R.unknownIssuer;
      if (!issuer.forward) reader.strip(ctx, found);
      let payload: JWTPayload;
      try {
        payload = await issuer.verify(token);
      } catch (err) {
        if (!(err instanceof errors.JOSEError) && !(err instanceof JwksUnavailableError)) deps.logger.warn({ requestId: ctx.requestId, err: err instanceof Error ? err.message : String(err) }, 'jwt-auth: unexpected verification error');
        return failure(err);
      }
      if (config.certificateBound && !boundToConnection(ctx, payload)) return R.unbound;
      const index = identity.current;
      if (issuer.own) {
        // Tollgate's own tokens name their client: a revoked client (gone from the index) is
        // refused at once on every node, even though its tokens have not expired yet.
        const client = typeof payload.client_id === 'string' ? index.byClientId(payload.client_id) : undefined;
        if (client === undefined) return R.unmapped;
        announceConsumer(ctx, client.consumer, names, payload, `oauth-client:${client.clientId}`);
        return requirements.check(payload) ?? forward(ctx, issuer, payload, token);
      }
      const subject = payload[config.consumerClaim];
      const consumer = typeof subject === 'string' ? (index.bySubject(iss as string, subject) ?? index.byCustomId(subject)) : undefined;
      if (consumer === undefined && !config.anonymous) return R.unmapped;
      announceConsumer(ctx, consumer ?? null, names, payload, typeof subject === 'string' ? `jwt:${iss as string} ${subject}` : null);
      const denied = requirements.check(payload);
      if (denied !== undefined) return denied;
      return forward(ctx, issuer, payload, token);
    }

    /** Sends the issuer's forwarded claims and payload header upstream (refusing values that are no field values). */
    function forward(ctx: PolicyContext, issuer: CompiledIssuer, payload: JWTPayload, token: string): PolicyReply | undefined {
      for (const f of issuer.forwardClaims) {
        const v = headerValue(payload[f.claim]);
        if (v === undefined) continue;
        // A signed claim is still request data: one that is no field value (CR/LF/NUL, RFC 9110
        // §5.5) would split the header or fail upstream, so the request is refused, never sent.
        if (!isFieldValue(v)) return refusals.get(f.header);
        ctx.setUpstreamHeader(f.header, v);
      }
      // The payload segment exactly as signed (base64url JSON, no padding), as Envoy's forward_payload_header sends it.
      if (issuer.payloadHeader !== undefined) {
        const segment = token.slice(token.indexOf('.') + 1, token.lastIndexOf('.'));
        if (!isFieldValue(segment)) return refusals.get(issuer.payloadHeader);
        ctx.setUpstreamHeader(issuer.payloadHeader, segment);
      }
      return undefined;
    }

    return {
      access(ctx: PolicyContext) {
        stripIdentityHeaders(ctx, names);
        for (const h of outputHeaders) ctx.removeUpstreamHeader(h);
        const found = reader.read(ctx);
        if (ctx.authenticated) {
          // An earlier auth policy decided; this policy's credential still does not go upstream.
          if (found !== undefined && !config.forwardToken) reader.strip(ctx, found);
          return undefined;
        }
        if (found === undefined) {
          // Istio RequestAuthentication: a request without a token passes, without an identity.
          if (config.optional) ctx.authenticate(null, null, null);
          else ctx.challenge(REALM);
          return undefined;
        }
        if (found.token.length > config.maxTokenBytes) {
          reader.strip(ctx, found);
          return R.tooLong;
        }
        return judge(ctx, found);
      },
    };
  },
};
