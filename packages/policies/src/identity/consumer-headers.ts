import { z } from 'zod';
import { fieldName } from '../field-name.js';
import type { ConsumerIdentity, ErrorSpec, PolicyContext, PolicyReply } from '../types.js';

/** Names of the identity headers the gateway sends upstream. */
export const consumerHeadersSchema = z
  .strictObject({
    id: fieldName.default('x-consumer-id').describe("Carries the consumer's `customId` (absent when it has none)."),
    name: fieldName.default('x-consumer-name').describe('Carries the Consumer resource name.'),
    groups: fieldName.default('x-consumer-groups').describe("Carries the consumer's groups, comma-separated (absent when none)."),
  })
  .default({ id: 'x-consumer-id', name: 'x-consumer-name', groups: 'x-consumer-groups' })
  .describe('Header names of the identity sent upstream. Client-sent headers of these names are always removed.');

/** Parsed identity header names. */
export type ConsumerHeaders = z.output<typeof consumerHeadersSchema>;

/**
 * Removes the client's copies of the identity headers. Every `x-consumer-*` header is stripped by
 * the gateway on every route; this covers custom names on the routes that carry the policy.
 */
export function stripIdentityHeaders(ctx: PolicyContext, names: ConsumerHeaders): void {
  ctx.removeUpstreamHeader(names.id);
  ctx.removeUpstreamHeader(names.name);
  ctx.removeUpstreamHeader(names.groups);
}

/** Records the authenticated consumer and sets the identity headers for the upstream. */
export function announceConsumer(ctx: PolicyContext, consumer: ConsumerIdentity | null, names: ConsumerHeaders, claims: Readonly<Record<string, unknown>> | null = null, credential: string | null = null): void {
  ctx.authenticate(consumer, claims, credential);
  if (consumer === null) return;
  ctx.setUpstreamHeader(names.name, consumer.name);
  if (consumer.customId !== null) ctx.setUpstreamHeader(names.id, consumer.customId);
  if (consumer.groups.length > 0) ctx.setUpstreamHeader(names.groups, consumer.groups.join(','));
}

/** A 401/403/503 problem reply with its `WWW-Authenticate` challenge (frozen; safe to share). */
export function authReply(spec: ErrorSpec, detail: string, challenge?: string, extra?: Record<string, string>): PolicyReply {
  const headers: Record<string, string> = { ...extra };
  if (challenge !== undefined) headers['www-authenticate'] = challenge;
  return Object.freeze({ status: spec.status, headers: Object.freeze(headers), body: Object.freeze({ code: spec.code, title: spec.title, detail }) });
}

/** Quotes a value for an auth-param (RFC 9110 §5.6.4 quoted-string). */
export function quoted(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
