import { createHmac, timingSafeEqual, verify } from 'node:crypto';
import { announceConsumer, authReply, quoted, stripIdentityHeaders } from '../identity/consumer-headers.js';
import { IdentityIndex } from '../identity/index.js';
import type { PolicyContext, PolicyDefinition, PolicyReply } from '../types.js';
import { contentDigestMatches } from './content-digest.js';
import { HTTP_SIGNATURE_ERRORS as E, httpSignatureDefinition } from './definition.js';
import { memoryReplayStore, ReplayGuard } from './replay-guard.js';
import { httpSignatureSchema } from './schema.js';
import { missingComponents, parseSignature, signatureBase, SignatureSyntaxError, type SignedRequest } from './signature-base.js';

/** Longest Signature / Signature-Input accepted before parsing (a few signatures fit easily). */
const MAX_FIELD_LENGTH = 8192;

/** `http-signature`: RFC 9421 HTTP Message Signatures with keys registered on consumers. */
export const httpSignature: PolicyDefinition<typeof httpSignatureSchema> = {
  ...httpSignatureDefinition,
  build(config, deps) {
    const identity = deps.identity ?? { current: IdentityIndex.EMPTY };
    const now = deps.now ?? Date.now;
    const names = config.consumerHeaders;
    const challenge = `Signature realm=${quoted(config.realm)}`;
    const invalidChallenge = `${challenge}, error="invalid_signature"`;
    const refuse = (spec: (typeof E)[keyof typeof E], detail: string): PolicyReply => authReply(spec, detail, spec.status === 401 ? invalidChallenge : undefined, spec.status === 503 ? { 'retry-after': '1' } : undefined);
    const accepted = new Set<string>(config.algorithms);
    // A signature is acceptable for maxAge + skew seconds after `created` and up to skew before it:
    // a record must outlive that whole window, or a replay could land after it expired.
    const windowMs = (config.maxAgeSec + 2 * config.clockSkewSec) * 1000;
    const replay = config.replayProtection ? new ReplayGuard(deps.counters ?? deps.fallbackCounters ?? memoryReplayStore(), windowMs) : null;

    const judge = async (ctx: PolicyContext, input: string, sigField: string): Promise<PolicyReply | undefined> => {
      if (input.length > MAX_FIELD_LENGTH || sigField.length > MAX_FIELD_LENGTH) return refuse(E.SIGNATURE_INVALID, 'Signature or Signature-Input is too long');
      let sig;
      try {
        sig = parseSignature(input, sigField, config.label);
      } catch (err) {
        if (err instanceof SignatureSyntaxError) return refuse(E.SIGNATURE_INVALID, err.message);
        throw err;
      }
      const keyId = sig.params.get('keyid');
      const created = sig.params.get('created');
      if (typeof keyId !== 'string') return refuse(E.SIGNATURE_INVALID, 'the signature has no `keyid` string parameter');
      if (typeof created !== 'number' || !Number.isInteger(created)) return refuse(E.SIGNATURE_INVALID, 'the signature has no integer `created` parameter');

      const hasBody = hasRequestBody(ctx);
      const required = hasBody && config.requireContentDigest ? [...config.requiredComponents, 'content-digest'] : config.requiredComponents;
      const missing = missingComponents(sig.components, required);
      if (missing.length > 0) return refuse(E.SIGNATURE_COMPONENT_MISSING, `the signature must cover ${missing.map((m) => `"${m}"`).join(', ')}`);

      const key = identity.current.credentials.signatureKey(keyId);
      if (key === undefined || now() >= key.expiresAtMs || !accepted.has(key.algorithm)) return refuse(E.SIGNATURE_KEY_UNKNOWN, 'the signature key is unknown, expired or not accepted on this route');
      // RFC 9421 §3.2 step 6.2: an `alg` parameter must agree with the key's algorithm.
      const alg = sig.params.get('alg');
      if (alg !== undefined && alg !== key.algorithm) return refuse(E.SIGNATURE_INVALID, `the signature's alg does not match the key's algorithm`);

      const nowSec = Math.floor(now() / 1000);
      if (created > nowSec + config.clockSkewSec) return refuse(E.SIGNATURE_CLOCK_SKEW, `created is ${created - nowSec} s in the future (tolerance ${config.clockSkewSec} s)`);
      if (created < nowSec - config.maxAgeSec - config.clockSkewSec) return refuse(E.SIGNATURE_EXPIRED, `the signature is ${nowSec - created} s old (at most ${config.maxAgeSec} s)`);
      const expires = sig.params.get('expires');
      if (expires !== undefined && (typeof expires !== 'number' || expires < nowSec - config.clockSkewSec)) return refuse(E.SIGNATURE_EXPIRED, 'the signature is past its `expires`');

      const base = signatureBase(sig, signedRequest(ctx));
      if (!base.ok) return refuse(E.SIGNATURE_INVALID, `the signature covers "${base.absent}", which the request does not have`);
      const data = Buffer.from(base.base, 'utf8');
      let valid: boolean;
      if (key.algorithm === 'hmac-sha256') {
        const mac = createHmac('sha256', key.key).update(data).digest();
        valid = mac.length === sig.signature.length && timingSafeEqual(mac, sig.signature);
      } else valid = sig.signature.length === 64 && verify(null, data, key.key, sig.signature);
      if (!valid) return refuse(E.SIGNATURE_INVALID, 'the signature does not verify');

      // The Content-Digest value is authenticated now; the body must match it (RFC 9530).
      if (sig.components.includes('content-digest')) {
        const read = ctx.readBody !== undefined ? await ctx.readBody(config.maxBodyBytes) : null;
        if (read === null) return refuse(E.CONTENT_DIGEST_MISMATCH, 'the body cannot be read to check Content-Digest');
        if (!read.ok) return read.reason === 'too_large' ? refuse(E.SIGNATURE_BODY_TOO_LARGE, `the body exceeds ${config.maxBodyBytes} bytes`) : refuse(E.CONTENT_DIGEST_MISMATCH, 'the body was not received completely');
        const field = ctx.headers['content-digest'];
        if (!contentDigestMatches(Array.isArray(field) ? field.join(', ') : (field ?? ''), read.body)) return refuse(E.CONTENT_DIGEST_MISMATCH, 'the body does not match Content-Digest');
      }

      // Only verified signatures are recorded, so forged ones cannot fill the store or block a real one.
      if (replay !== null) {
        let first: boolean;
        try {
          first = await replay.firstUse(keyId, sig.signature);
        } catch (err) {
          deps.logger.error({ err: { message: (err as Error).message } }, 'http-signature: replay store unavailable; refusing signed requests');
          return refuse(E.SIGNATURE_REPLAY_CHECK_UNAVAILABLE, 'the replay check is unavailable; retry shortly');
        }
        if (!first) return refuse(E.SIGNATURE_REPLAYED, 'this signature was already used');
      }
      announceConsumer(ctx, key.consumer, names, null, `sig:${keyId}`);
      return undefined;
    };

    return {
      access(ctx: PolicyContext) {
        stripIdentityHeaders(ctx, names);
        const input = headerValue(ctx, 'signature-input');
        const sigField = headerValue(ctx, 'signature');
        if (!config.forwardSignature) {
          ctx.removeUpstreamHeader('signature-input');
          ctx.removeUpstreamHeader('signature');
        }
        if (ctx.authenticated) return undefined;
        if (input === undefined && sigField === undefined) {
          ctx.challenge(challenge);
          return undefined;
        }
        if (input === undefined || sigField === undefined) return refuse(E.SIGNATURE_INVALID, 'Signature and Signature-Input must be sent together');
        return judge(ctx, input, sigField);
      },
    };
  },
};

function headerValue(ctx: PolicyContext, name: string): string | undefined {
  const v = ctx.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** A request has content when it declares a non-zero length or a transfer coding (RFC 9112 §6.3). */
function hasRequestBody(ctx: PolicyContext): boolean {
  const len = ctx.headers['content-length'];
  return ctx.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}

/**
 * The request as the signer addressed it. Behind a trusted proxy that terminated TLS, the client
 * signed the scheme and host it used, which the proxy relays in X-Forwarded-Proto / -Host.
 */
function signedRequest(ctx: PolicyContext): SignedRequest {
  const fwdProto = ctx.trustForwarding ? first(ctx.headers['x-forwarded-proto']) : undefined;
  const fwdHost = ctx.trustForwarding ? first(ctx.headers['x-forwarded-host']) : undefined;
  const host = fwdHost ?? ctx.headers.host ?? ctx.host;
  return { method: ctx.method, scheme: (fwdProto ?? (ctx.secure ? 'https' : 'http')).toLowerCase(), authority: host.toLowerCase(), path: ctx.path, query: ctx.query, headers: ctx.headers };
}

function first(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? undefined : (s.split(',')[0] ?? '').trim() || undefined;
}
