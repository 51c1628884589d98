import { announceConsumer, authReply, quoted, stripIdentityHeaders } from '../identity/consumer-headers.js';
import { IdentityIndex } from '../identity/index.js';
import type { PolicyContext, PolicyDefinition } from '../types.js';
import { MTLS_AUTH_ERRORS, mtlsAuthDefinition } from './definition.js';
import { mtlsAuthSchema } from './schema.js';

/**
 * `mtls-auth`: the verified client certificate as the credential. Verification (chain to the CA,
 * validity dates) is the TLS listener's, at the handshake; this policy only maps what verified.
 */
export const mtlsAuth: PolicyDefinition<typeof mtlsAuthSchema> = {
  ...mtlsAuthDefinition,
  build(config, deps) {
    const identity = deps.identity ?? { current: IdentityIndex.EMPTY };
    const names = config.consumerHeaders;
    const challenge = `ClientCertificate realm=${quoted(config.realm)}`;
    const unknown = authReply(MTLS_AUTH_ERRORS.CERTIFICATE_UNKNOWN, 'the client certificate identifies no consumer', `${challenge}, error="unknown_certificate"`);
    return {
      access(ctx: PolicyContext) {
        stripIdentityHeaders(ctx, names);
        if (config.fingerprintHeader !== undefined) ctx.removeUpstreamHeader(config.fingerprintHeader);
        if (ctx.authenticated) return undefined;
        const facts = ctx.peerCertificate?.() ?? null;
        if (facts === null) {
          ctx.challenge(challenge);
          return undefined;
        }
        const consumer = identity.current.credentials.certificate(facts);
        if (consumer === null || consumer === 'ambiguous') return unknown;
        // The fingerprint names the certificate without revealing anything secret (RFC 8705 x5t#S256 input).
        announceConsumer(ctx, consumer, names, null, `cert:${facts.fingerprint.slice(0, 16)}`);
        if (config.fingerprintHeader !== undefined) ctx.setUpstreamHeader(config.fingerprintHeader, facts.fingerprint);
        return undefined;
      },
    };
  },
};
