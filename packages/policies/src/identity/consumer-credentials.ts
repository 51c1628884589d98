import { createSecretKey, type KeyObject } from 'node:crypto';
import { ed25519PublicKey, type ConsumerSpec } from '@tollgate/model';
import type { ConsumerIdentity, PolicyLogger } from '../types.js';
import { Claims } from './ownership-claims.js';

/** A request-signing key (RFC 9421) as the http-signature policy uses it: parsed once per snapshot or delta. */
export interface SignatureKeyEntry {
  readonly consumer: ConsumerIdentity;
  readonly keyId: string;
  readonly algorithm: 'hmac-sha256' | 'ed25519';
  /** The HMAC secret or the Ed25519 public key, as a KeyObject (never logged: inspecting it shows no material). */
  readonly key: KeyObject;
  /** Epoch milliseconds after which the key no longer verifies; Infinity when it never expires. */
  readonly expiresAtMs: number;
}

/** What a verified client certificate is matched on (see `clientCertificateSchema`). */
export interface CertificateFacts {
  /** SHA-256 of the DER certificate, lower-case hex without separators. */
  readonly fingerprint: string;
  /** Subject DN, attributes in certificate order joined by commas (`O=Acme,CN=billing`). */
  readonly subject: string;
  /** subjectAltName entries (`DNS:a.test`, `URI:spiffe://…`, `email:…`, `IP:…`). */
  readonly sans: readonly string[];
}

/** What one consumer claimed, so a change or removal of that consumer undoes exactly its claims. */
export interface CredentialClaims {
  readonly signatureKeyIds: readonly string[];
  readonly certificateSelectors: readonly string[];
}

/**
 * Per-consumer credentials other than API keys and JWT subjects: request-signing keys by key id
 * and client-certificate selectors. Built from the Consumer resources of a snapshot and changed in
 * place by Consumer deltas (see IdentityIndex.applyConsumers); a key id or selector two consumers
 * claim authenticates nobody (logged) until one of them gives it up, as for API keys.
 */
export class ConsumerCredentials {
  readonly #signatureKeys: Claims<SignatureKeyEntry>;
  readonly #certificates: Claims<ConsumerIdentity>;

  constructor(logger?: PolicyLogger) {
    this.#signatureKeys = new Claims(
      (e) => e.consumer.name,
      (keyId) => logger?.warn({ what: 'signatureKey', keyId }, 'identity: value claimed by two consumers; it authenticates nobody'),
    );
    this.#certificates = new Claims(
      (c) => c.name,
      (selector) => logger?.warn({ what: 'certificate', selector }, 'identity: value claimed by two consumers; it authenticates nobody'),
    );
  }

  /** Indexes one consumer's signature keys and certificate selectors; returns what it claimed. */
  add(consumer: ConsumerIdentity, spec: Pick<ConsumerSpec, 'signatureKeys' | 'certificates'>): CredentialClaims {
    const signatureKeyIds: string[] = [];
    const certificateSelectors: string[] = [];
    for (const k of spec.signatureKeys ?? []) {
      const key = k.algorithm === 'ed25519' ? (k.publicKey !== undefined ? ed25519PublicKey(k.publicKey) : null) : k.secret !== undefined ? createSecretKey(Buffer.from(k.secret, 'utf8')) : null;
      if (key === null) continue; // refused at apply; never expected in a stored snapshot
      this.#signatureKeys.add(k.keyId, Object.freeze({ consumer, keyId: k.keyId, algorithm: k.algorithm, key, expiresAtMs: k.expiresAt !== undefined ? Date.parse(k.expiresAt) : Infinity }));
      signatureKeyIds.push(k.keyId);
    }
    for (const c of spec.certificates ?? []) {
      const sel = c.fingerprint !== undefined ? `fp:${c.fingerprint.replace(/:/g, '').toLowerCase()}` : c.subject !== undefined ? `subject:${c.subject}` : `san:${c.san ?? ''}`;
      this.#certificates.add(sel, consumer);
      certificateSelectors.push(sel);
    }
    return { signatureKeyIds, certificateSelectors };
  }

  /** Removes what `consumer` claimed with {@link add}. */
  remove(consumer: string, claimed: CredentialClaims): void {
    for (const id of claimed.signatureKeyIds) this.#signatureKeys.remove(id, consumer);
    for (const sel of claimed.certificateSelectors) this.#certificates.remove(sel, consumer);
  }

  /** The signing key named `keyId` (expiry is the caller's to check). */
  signatureKey(keyId: string): SignatureKeyEntry | undefined {
    return this.#signatureKeys.get(keyId);
  }

  /**
   * The consumer a certificate identifies: by fingerprint first (the most specific), then subject,
   * then each SAN in certificate order. Null when nothing matches; `ambiguous` when the first
   * selector that matches is claimed by two consumers (refused, never resolved by a weaker one).
   */
  certificate(facts: CertificateFacts): ConsumerIdentity | null | 'ambiguous' {
    const keys = [`fp:${facts.fingerprint}`, `subject:${facts.subject}`, ...facts.sans.map((s) => `san:${s}`)];
    for (const k of keys) {
      if (this.#certificates.ambiguous(k)) return 'ambiguous';
      const v = this.#certificates.get(k);
      if (v !== undefined) return v;
    }
    return null;
  }
}
