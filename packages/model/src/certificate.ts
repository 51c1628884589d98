import { REDACTED_SECRET } from './secrets.js';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { z } from 'zod';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Splits a PEM bundle into its certificates; throws when a block does not parse or there is none. */
export function parsePemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error('no PEM "CERTIFICATE" block found');
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new Error(`certificate ${i + 1} of the bundle does not parse: ${(err as Error).message}`);
    }
  });
}

/** Parses a PEM private key; throws a message that never contains the key material. */
export function parsePemPrivateKey(pem: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // The library message may quote input; keep only a generic description (keys are secrets).
    throw new Error('the private key is not a parsable unencrypted PEM private key');
  }
}

function pemCheck(parse: (s: string) => unknown) {
  return (s: string, ctx: z.RefinementCtx): void => {
    try {
      parse(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  };
}

/** A PEM bundle of one or more X.509 certificates, checked to parse. */
export const pemCertificatesSchema = z.string().min(1).superRefine(pemCheck(parsePemCertificates));
/** A PEM private key (PKCS#8, PKCS#1 or SEC1, unencrypted), checked to parse. */
export const pemPrivateKeySchema = z.string().min(1).superRefine(pemCheck(parsePemPrivateKey));

/**
 * Checks that the first certificate of `chain` is the one `key` signs for. Returns an error
 * message, or undefined when they match (or when either does not parse: reported elsewhere).
 */
export function certificateKeyMismatch(chain: string, key: string): string | undefined {
  let leaf: X509Certificate | undefined;
  let k: KeyObject | undefined;
  try {
    leaf = parsePemCertificates(chain)[0];
    k = parsePemPrivateKey(key);
  } catch {
    return undefined;
  }
  if (leaf === undefined || k === undefined) return undefined;
  return leaf.checkPrivateKey(k) ? undefined : 'the private key does not match the (first) certificate';
}

/** An SNI host pattern: a DNS name, or `*.` followed by one (a wildcard of one or more labels). */
export const sniHostSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, 'must be a lower-case DNS name, optionally starting with "*."');

export const clientAuthSchema = z
  .strictObject({
    ca: pemCertificatesSchema.describe('PEM bundle of the certificate authorities that client certificates must chain to.'),
    mode: z.enum(['required', 'optional']).default('required').describe('`required`: a handshake without a valid client certificate fails; `optional`: the certificate is verified when sent.'),
  })
  .describe('Client-certificate verification (mutual TLS) for the hosts of this certificate.');

export const certificateSpecSchema = z
  .strictObject({
    certificate: pemCertificatesSchema.describe('PEM certificate chain: the server certificate first, then intermediates.'),
    privateKey: pemPrivateKeySchema.describe(`PEM private key of the certificate. A secret: the admin API never returns it (exports show "${REDACTED_SECRET}"), and applying "${REDACTED_SECRET}" keeps the stored key.`),
    hosts: z.array(sniHostSchema).default([]).describe('SNI names this certificate serves (`api.example.com`, `*.example.com`). Exact names win over wildcards.'),
    default: z.boolean().default(false).describe('Serve this certificate to clients that send no SNI or an SNI no certificate claims. At most one certificate may be the default.'),
    clientAuth: clientAuthSchema.optional(),
  })
  .describe('A TLS server certificate the gateway presents on its HTTPS listener, chosen by SNI.')
  .superRefine((spec, ctx) => {
    const mismatch = certificateKeyMismatch(spec.certificate, spec.privateKey);
    if (mismatch) ctx.addIssue({ code: 'custom', path: ['privateKey'], message: mismatch });
    // Refused rather than warned: an expired certificate makes every handshake fail in clients,
    // which is worse than keeping the previous one serving.
    try {
      const leaf = parsePemCertificates(spec.certificate)[0];
      if (leaf && Date.parse(leaf.validTo) < Date.now()) ctx.addIssue({ code: 'custom', path: ['certificate'], message: `the certificate expired on ${new Date(leaf.validTo).toISOString()}` });
    } catch {
      // reported by the field schema
    }
    if (spec.hosts.length === 0 && !spec.default) ctx.addIssue({ code: 'custom', path: ['hosts'], message: 'list at least one SNI host, or mark the certificate as the default' });
    const seen = new Set<string>();
    spec.hosts.forEach((h, i) => {
      if (seen.has(h)) ctx.addIssue({ code: 'custom', path: ['hosts', i], message: `duplicate host ${h}` });
      seen.add(h);
    });
  });

export type CertificateSpec = z.infer<typeof certificateSpecSchema>;
