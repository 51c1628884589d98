import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { consumerSpecSchema, ed25519PublicKey } from './consumer.js';

const ed = generateKeyPairSync('ed25519').publicKey;
const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
const SECRET = 'shared-secret-0123456789-abcdefghijk';

describe('consumer signatureKeys', () => {
  it('accepts an Ed25519 public key as PEM or base64url, and an HMAC secret of 32+ characters', () => {
    const r = consumerSpecSchema.safeParse({
      signatureKeys: [
        { keyId: 'a', algorithm: 'ed25519', publicKey: ed.export({ format: 'pem', type: 'spki' }).toString() },
        { keyId: 'b', algorithm: 'ed25519', publicKey: ed.export({ format: 'jwk' }).x },
        { keyId: 'c', algorithm: 'hmac-sha256', secret: SECRET },
      ],
    });
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
  });

  it('refuses a key of the wrong shape, a non-Ed25519 key, a short secret and a repeated key id', () => {
    const bad = (k: unknown) => consumerSpecSchema.safeParse({ signatureKeys: [k] }).error?.issues.map((i) => i.path.join('.'));
    expect(bad({ keyId: 'x', algorithm: 'hmac-sha256', publicKey: 'abc' })).toContain('signatureKeys.0.secret');
    expect(bad({ keyId: 'x', algorithm: 'ed25519', secret: SECRET })).toContain('signatureKeys.0.publicKey');
    expect(bad({ keyId: 'x', algorithm: 'ed25519', publicKey: rsa.export({ format: 'pem', type: 'spki' }).toString() })).toContain('signatureKeys.0.publicKey');
    expect(bad({ keyId: 'x', algorithm: 'hmac-sha256', secret: 'short' })).toContain('signatureKeys.0.secret');
    expect(bad({ keyId: 'has space', algorithm: 'hmac-sha256', secret: SECRET })).toContain('signatureKeys.0.keyId');
    const dup = consumerSpecSchema.safeParse({ signatureKeys: [{ keyId: 'k', algorithm: 'hmac-sha256', secret: SECRET }, { keyId: 'k', algorithm: 'hmac-sha256', secret: SECRET }] });
    expect(dup.error?.issues[0]?.path).toEqual(['signatureKeys', 1, 'keyId']);
    expect(ed25519PublicKey('not a key')).toBeNull();
  });
});

describe('consumer certificates', () => {
  it('takes exactly one selector: a SHA-256 fingerprint (hex, colons allowed), a subject or a typed SAN', () => {
    const fp = 'AB:'.repeat(31) + 'AB';
    expect(consumerSpecSchema.safeParse({ certificates: [{ fingerprint: fp }, { fingerprint: 'ab'.repeat(32) }, { subject: 'CN=x' }, { san: 'URI:spiffe://a/b' }] }).success).toBe(true);
    expect(consumerSpecSchema.safeParse({ certificates: [{ fingerprint: 'abc' }] }).success).toBe(false);
    expect(consumerSpecSchema.safeParse({ certificates: [{ san: 'spiffe://a/b' }] }).success).toBe(false);
    expect(consumerSpecSchema.safeParse({ certificates: [{ subject: 'CN=x', san: 'DNS:a.test' }] }).success).toBe(false);
    expect(consumerSpecSchema.safeParse({ certificates: [{}] }).success).toBe(false);
  });
});
