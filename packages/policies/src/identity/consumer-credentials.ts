import { createSecretKey, type KeyObject } from 'node:crypto';
import { ed25519PublicKey, type ConsumerSpec } from '@tollgate/model';
import type { ConsumerIdentity, PolicyLogger } from '../types.js';

/** A request-signing key (RFC 9421) as the http-signature policy uses it: parsed once per snapshot. */
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

const AMBIGUOUS = Symbol('ambiguous');

/**
 * Per-consumer credentials other than API keys and JWT subjects: request-signing keys by key id
 * and client-certificate selectors. Built once per snapshot from the Consumer resources; a key id
 * or selector two consumers claim authenticates nobody (logged), as for API keys.
 */
export class ConsumerCredentials {
  readonly #signatureKeys = new Map<string, SignatureKeyEntry | typeof AMBIGUOUS>();
  readonly #certificates = new Map<string, ConsumerIdentity | typeof AMBIGUOUS>();

  /** Indexes one consumer's signature keys and certificate selectors. */
  add(consumer: ConsumerIdentity, spec: Pick<ConsumerSpec, 'signatureKeys' | 'certificates'>, logger?: PolicyLogger): void {
    for (const k of spec.signatureKeys ?? []) {
      const key = k.algorithm === 'ed25519' ? (k.publicKey !== undefined ? ed25519PublicKey(k.publicKey) : null) : k.secret !== undefined ? createSecretKey(Buffer.from(k.secret, 'utf8')) : null;
      if (key === null) continue; // refused at apply; never expected in a stored snapshot
      const entry: SignatureKeyEntry = Object.freeze({ consumer, keyId: k.keyId, algorithm: k.algorithm, key, expiresAtMs: k.expiresAt !== undefined ? Date.parse(k.expiresAt) : Infinity });
      claim(this.#signatureKeys, k.keyId, entry, () => logger?.warn({ what: 'signatureKey', keyId: k.keyId }, 'identity: value claimed by two consumers; it authenticates nobody'));
    }
    for (const c of spec.certificates ?? []) {
      const sel = c.fingerprint !== undefined ? `fp:${c.fingerprint.replace(/:/g, '').toLowerCase()}` : c.subject !== undefined ? `subject:${c.subject}` : `san:${c.san ?? ''}`;
      claim(this.#certificates, sel, consumer, () => logger?.warn({ what: 'certificate', selector: sel }, 'identity: value claimed by two consumers; it authenticates nobody'));
    }
  }

  /** The signing key named `keyId` (expiry is the caller's to check). */
  signatureKey(keyId: string): SignatureKeyEntry | undefined {
    const v = this.#signatureKeys.get(keyId);
    return v === AMBIGUOUS ? undefined : v;
  }

  /**
   * The consumer a certificate identifies: by fingerprint first (the most specific), then subject,
   * then each SAN in certificate order. Null when nothing matches; `ambiguous` when the first
   * selector that matches is claimed by two consumers (refused, never resolved by a weaker one).
   */
  certificate(facts: CertificateFacts): ConsumerIdentity | null | 'ambiguous' {
    const keys = [`fp:${facts.fingerprint}`, `subject:${facts.subject}`, ...facts.sans.map((s) => `san:${s}`)];
    for (const k of keys) {
      const v = this.#certificates.get(k);
      if (v === AMBIGUOUS) return 'ambiguous';
      if (v !== undefined) return v;
    }
    return null;
  }
}

function claim<V>(map: Map<string, V | typeof AMBIGUOUS>, key: string, value: V, onClash: () => void): void {
  const prev = map.get(key);
  if (prev === undefined) map.set(key, value);
  else if (prev !== AMBIGUOUS) {
    const sameConsumer = (prev as { consumer?: unknown }).consumer ?? prev;
    const thisConsumer = (value as { consumer?: unknown }).consumer ?? value;
    if (sameConsumer === thisConsumer) return;
    map.set(key, AMBIGUOUS);
    onClash();
  }
}
