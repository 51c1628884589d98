import { createHash } from 'node:crypto';
import { z } from 'zod';
import { httpFieldValue } from './common.js';

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

export const consumerSpecSchema = z
  .strictObject({
    customId: httpFieldValue.min(1).max(256).optional().describe("The customer's id in your own system; JWT claims may map to it."),
    groups: z.array(httpFieldValue.min(1).max(128)).default([]).describe('Groups, used by the acl policy and sent upstream in X-Consumer-Groups.'),
    jwtSubjects: z.array(jwtSubjectSchema).default([]).describe('Token subjects that authenticate as this consumer.'),
    keys: z.array(declaredKeySchema).default([]).describe('API keys declared in configuration (keys created through the admin API are stored apart).'),
    metadata: z.record(z.string(), z.string()).default({}).describe('Free-form key/value data about the consumer.'),
  })
  .describe('A consumer: a customer or application that calls APIs through the gateway.')
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    spec.keys.forEach((k, i) => {
      if (names.has(k.name)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'name'], message: `duplicate key name "${k.name}"` });
      names.add(k.name);
    });
  });

export type ConsumerSpec = z.infer<typeof consumerSpecSchema>;
export type DeclaredKey = z.infer<typeof declaredKeySchema>;

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
