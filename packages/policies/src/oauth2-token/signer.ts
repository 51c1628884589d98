import type { KeyObject } from 'node:crypto';

/** The key the gateway signs access tokens with right now. */
export interface ActiveSigningKey {
  readonly kid: string;
  /** JWS `alg` (ES256). */
  readonly alg: string;
  readonly privateKey: KeyObject;
}

/**
 * Tollgate's own token issuer as policies see it (implemented by the gateway over the shared
 * signing-key store): the `iss` of its tokens, the key to sign with, and the public keys to verify
 * and publish. Keys rotate on a schedule; every node reads the same keys, so a token issued by one
 * node verifies on every other.
 */
export interface TokenSigner {
  /** The `iss` of issued tokens. */
  readonly issuer: string;
  /** The key to sign with now, or undefined when none is available (the token endpoint answers 503). */
  signingKey(): ActiveSigningKey | undefined;
  /** The public key of `kid` among the live keys (the signing one, the next one, and recently retired ones). */
  verificationKey(kid: string): KeyObject | undefined;
  /** The live public keys as a JWK Set (RFC 7517 §5), for the JWKS endpoint. */
  jwks(): { readonly keys: ReadonlyArray<Readonly<Record<string, unknown>>> };
  /** Asks for a reload of the keys (throttled): a token named a `kid` this node does not know yet. */
  refresh(): void;
}
