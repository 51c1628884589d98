import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { httpFieldValue } from './common.js';
import { hashPassword, hashPasswordSync, PASSWORD_HASH_PATTERN, verifyPassword } from './password-hash.js';

/** SHA-256 of an API key, lower-case hex: the only form in which a key is ever stored. */
export const keyHashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256 digest');

/**
 * An API key declared in YAML (for GitOps and tests). The admin API replaces `key` by its
 * `hash` before storing, so plaintext never reaches the database or an export.
 */
export const declaredKeySchema = z
  .strictObject({
    name: z.string().min(1).max(64).describe('Label of the key, unique within the consumer.'),
    key: z.string().min(16).max(256).optional().describe('Plaintext key (input only): hashed on apply, never stored or exported.'),
    hash: keyHashSchema.optional().describe('SHA-256 (hex) of the key, as stored; give this or `key`.'),
    expiresAt: z.iso.datetime({ offset: true }).optional().describe('RFC 3339 time after which the key no longer authenticates.'),
  })
  .refine((k) => (k.key === undefined) !== (k.hash === undefined), { message: 'give exactly one of `key` or `hash`', path: ['key'] })
  .describe('An API key declared in configuration.');

/** A JWT subject that identifies this consumer: tokens from `issuer` whose mapped claim equals `subject`. */
export const jwtSubjectSchema = z
  .strictObject({
    issuer: z.string().min(1).describe('The `iss` of the token, exactly as the jwt-auth issuer declares it.'),
    subject: z.string().min(1).describe('The value of the mapped claim (default `sub`).'),
  })
  .describe('A token subject mapped to this consumer.');

/** Algorithms a consumer's HTTP message signature key may use (RFC 9421 §3.3 registry names). */
export const SIGNATURE_ALGORITHMS = ['hmac-sha256', 'ed25519'] as const;

/**
 * A key the consumer signs requests with (RFC 9421 HTTP Message Signatures), found by `keyId`
 * (the signature's `keyid` parameter). An `ed25519` key is public; an `hmac-sha256` secret must be
 * kept in clear for the gateway to recompute the MAC, so it is a secret field: the admin API never
 * returns it (reads, exports and the audit log show "<redacted>", which applies back unchanged).
 */
export const signatureKeySchema = z
  .strictObject({
    keyId: z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').describe('The `keyid` signatures name; unique across consumers (a key id two consumers claim authenticates nobody).'),
    algorithm: z.enum(SIGNATURE_ALGORITHMS).describe('`hmac-sha256` (shared secret) or `ed25519` (public key).'),
    secret: z.string().min(32).max(1024).optional().describe('hmac-sha256 only: the shared secret, at least 32 characters (RFC 2104 §3: no shorter than the 32-byte hash output). A secret: never returned.'),
    publicKey: z.string().min(1).max(4096).optional().describe('ed25519 only: the public key, PEM (SPKI) or a base64url raw 32-byte key (as in a JWK `x`).'),
    expiresAt: z.iso.datetime({ offset: true }).optional().describe('RFC 3339 time after which signatures by this key are refused.'),
  })
  .superRefine((k, ctx) => {
    if (k.algorithm === 'hmac-sha256' && (k.secret === undefined || k.publicKey !== undefined)) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'an hmac-sha256 key takes `secret` (and no `publicKey`)' });
    if (k.algorithm === 'ed25519') {
      if (k.publicKey === undefined || k.secret !== undefined) ctx.addIssue({ code: 'custom', path: ['publicKey'], message: 'an ed25519 key takes `publicKey` (and no `secret`)' });
      else if (ed25519PublicKey(k.publicKey) === null) ctx.addIssue({ code: 'custom', path: ['publicKey'], message: 'not an Ed25519 public key (PEM SPKI or base64url of 32 bytes)' });
    }
  })
  .describe('A request-signing key (RFC 9421).');

/** Parses an Ed25519 public key given as PEM (SPKI) or base64url raw bytes; null when it is not one. */
export function ed25519PublicKey(text: string): KeyObject | null {
  try {
    const key = text.includes('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: text.trim() }, format: 'jwk' });
    return key.asymmetricKeyType === 'ed25519' ? key : null;
  } catch {
    return null;
  }
}

/**
 * A client certificate that identifies this consumer on the TLS listener (mutual TLS). Only a
 * certificate the listener verified against a Certificate's `clientAuth.ca` is considered; give one
 * of the three selectors.
 */
export const clientCertificateSchema = z
  .strictObject({
    fingerprint: z
      .string()
      .regex(/^(?:[0-9a-fA-F]{64}|(?:[0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2})$/, 'a SHA-256 fingerprint: 64 hex digits, optionally in colon-separated pairs')
      .optional()
      .describe('SHA-256 fingerprint of the DER certificate (the RFC 8705 `x5t#S256` input), hex with or without colons.'),
    subject: z.string().min(1).max(1024).optional().describe('Subject distinguished name, attributes in certificate order joined by commas, e.g. `O=Acme,CN=billing-client`.'),
    san: z
      .string()
      .regex(/^(DNS|URI|email|IP):.+$/, 'a subjectAltName entry: `DNS:…`, `URI:…`, `email:…` or `IP:…`')
      .optional()
      .describe('A subjectAltName entry of the certificate, e.g. `URI:spiffe://acme/billing` or `DNS:billing.acme.test`.'),
  })
  .refine((c) => [c.fingerprint, c.subject, c.san].filter((v) => v !== undefined).length === 1, { message: 'give exactly one of `fingerprint`, `subject` or `san`' })
  .describe('A client certificate selector.');
/**
 * A basic-auth credential (RFC 7617). The admin API replaces `password` by its scrypt
 * `passwordHash` before storing, so the password never reaches the database, an export, the audit
 * log or a response.
 */
export const basicCredentialSchema = z
  .strictObject({
    // RFC 7617 §2: the user-id cannot contain a colon; control characters are refused too (§2.1).
    username: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[^:\u0000-\u001f\u007f]+$/, 'must not contain a colon or control characters (RFC 7617 §2)')
      .describe('User name, unique across consumers.'),
    password: z.string().min(8).max(256).optional().describe('Plaintext password (input only): hashed with scrypt on apply, never stored or exported.'),
    passwordHash: z.string().regex(PASSWORD_HASH_PATTERN, 'must be a `$scrypt$ln=..,r=..,p=..$salt$hash` string').optional().describe('scrypt hash of the password, as stored; give this or `password`.'),
  })
  .refine((c) => (c.password === undefined) !== (c.passwordHash === undefined), { message: 'give exactly one of `password` or `passwordHash`', path: ['password'] })
  .describe('A user name and password for the basic-auth policy.');

export const consumerSpecSchema = z
  .strictObject({
    customId: httpFieldValue.min(1).max(256).optional().describe("The customer's id in your own system; JWT claims may map to it."),
    groups: z.array(httpFieldValue.min(1).max(128)).default([]).describe('Groups, used by the acl policy and sent upstream in X-Consumer-Groups.'),
    jwtSubjects: z.array(jwtSubjectSchema).default([]).describe('Token subjects that authenticate as this consumer.'),
    keys: z.array(declaredKeySchema).default([]).describe('API keys declared in configuration (keys created through the admin API are stored apart).'),
    signatureKeys: z.array(signatureKeySchema).max(32).default([]).describe('Keys this consumer signs requests with (http-signature policy, RFC 9421).'),
    certificates: z.array(clientCertificateSchema).max(32).default([]).describe('Client certificates that identify this consumer (mtls-auth policy).'),
    scopes: z
      .array(z.string().min(1).max(128).regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token (RFC 6749 §3.3)'))
      .max(256)
      .default([])
      .describe("Scopes this consumer's OAuth clients may be granted by the gateway's token endpoint (`oauth2-token`); a client gets a subset."),
    basicAuth: z.array(basicCredentialSchema).max(100).default([]).describe('User names and passwords for the basic-auth policy.'),
    metadata: z.record(z.string(), z.string()).default({}).describe('Free-form key/value data about the consumer.'),
  })
  .describe('A consumer: a customer or application that calls APIs through the gateway.')
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    spec.keys.forEach((k, i) => {
      if (names.has(k.name)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'name'], message: `duplicate key name "${k.name}"` });
      names.add(k.name);
    });
    const ids = new Set<string>();
    spec.signatureKeys.forEach((k, i) => {
      if (ids.has(k.keyId)) ctx.addIssue({ code: 'custom', path: ['signatureKeys', i, 'keyId'], message: `duplicate key id "${k.keyId}"` });
      ids.add(k.keyId);
    });
    const users = new Set<string>();
    spec.basicAuth.forEach((c, i) => {
      if (users.has(c.username)) ctx.addIssue({ code: 'custom', path: ['basicAuth', i, 'username'], message: `duplicate user name "${c.username}"` });
      users.add(c.username);
    });
  });

export type ConsumerSpec = z.infer<typeof consumerSpecSchema>;
export type DeclaredKey = z.infer<typeof declaredKeySchema>;
export type SignatureKey = z.infer<typeof signatureKeySchema>;
export type ClientCertificateSelector = z.infer<typeof clientCertificateSchema>;
export type BasicCredential = z.infer<typeof basicCredentialSchema>;

/** SHA-256 (lower-case hex) of an API key: how keys are stored, and how the gateway looks a presented key up. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * The resource with every declared plaintext `key` replaced by its `hash`. Applied by the admin API
 * before anything is stored or echoed, so plaintext never reaches the database, an export, the
 * audit log or a response; applying the same YAML twice compares equal (idempotent).
 */
export function hashDeclaredKeys<R extends { kind: string; spec: unknown }>(resource: R): R {
  if (resource.kind !== 'Consumer') return resource;
  resource = hashPasswordsWith(resource, hashPasswordSync);
  const spec = resource.spec as { keys?: unknown };
  if (!Array.isArray(spec.keys) || !spec.keys.some((k) => typeof (k as { key?: unknown })?.key === 'string')) return resource;
  const keys = spec.keys.map((k: Record<string, unknown>) => {
    if (typeof k.key !== 'string') return k;
    // Rebuilt field by field (not spread) so the hash takes the key's place in schema order.
    const { key, ...rest } = k;
    return { name: rest.name, hash: hashApiKey(key), ...Object.fromEntries(Object.entries(rest).filter(([n]) => n !== 'name')) };
  });
  return { ...resource, spec: { ...spec, keys } };
}

type Raw = Record<string, unknown>;

/** Whether a Consumer document carries a plaintext basic-auth `password` (to be hashed before storing). */
export function hasPlaintextPassword(resource: { kind: string; spec: unknown }): boolean {
  return resource.kind === 'Consumer' && plaintextPasswords(resource.spec) !== undefined;
}

function plaintextPasswords(spec: unknown): Raw[] | undefined {
  const list = (spec as { basicAuth?: unknown } | null)?.basicAuth;
  if (!Array.isArray(list) || !list.some((c) => typeof (c as Raw | null)?.password === 'string')) return undefined;
  return list as Raw[];
}

function hashPasswordsWith<R extends { kind: string; spec: unknown }>(resource: R, hash: (password: string, index: number) => string): R {
  const list = plaintextPasswords(resource.spec);
  if (list === undefined) return resource;
  const basicAuth = list.map((c, i) => {
    if (typeof c.password !== 'string') return c;
    const { password, ...rest } = c;
    return { ...rest, passwordHash: hash(password, i) };
  });
  return { ...resource, spec: { ...(resource.spec as Raw), basicAuth } };
}

/**
 * The Consumer with every plaintext basic-auth `password` replaced by a `passwordHash`. Where the
 * stored version of the consumer (`previous`) has a hash for the same user name that the password
 * verifies against, that hash is kept: a salted hash differs on every call, and re-applying the
 * same YAML must compare unchanged. Hashing runs off the event loop (node:crypto scrypt).
 */
export async function hashDeclaredPasswords<R extends { kind: string; spec: unknown }>(resource: R, previous?: { kind: string; spec: unknown }): Promise<R> {
  if (resource.kind !== 'Consumer') return resource;
  const list = plaintextPasswords(resource.spec);
  if (list === undefined) return resource;
  const stored = new Map<string, string>();
  const before = (previous?.spec as { basicAuth?: unknown } | undefined)?.basicAuth;
  if (previous?.kind === 'Consumer' && Array.isArray(before)) {
    for (const c of before as Raw[]) if (typeof c.username === 'string' && typeof c.passwordHash === 'string') stored.set(c.username, c.passwordHash);
  }
  const hashes = new Map<number, string>();
  await Promise.all(
    list.map(async (c, i) => {
      if (typeof c.password !== 'string') return;
      const old = typeof c.username === 'string' ? stored.get(c.username) : undefined;
      hashes.set(i, old !== undefined && (await verifyPassword(c.password, old)) ? old : await hashPassword(c.password));
    }),
  );
  return hashPasswordsWith(resource, (_p, i) => hashes.get(i) as string);
}
