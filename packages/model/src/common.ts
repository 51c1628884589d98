import { z } from 'zod';

/** The apiVersion of Tollgate's own documents. */
export const API_VERSION = 'tollgate.dev/v1';

/** RFC 1123 subdomain, as Kubernetes names objects: lower case, digits, '-' and '.'. */
export const resourceName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'must be lower-case letters, digits, "-" or ".", starting and ending with a letter or digit')
  .describe('Unique name of the resource within its kind (RFC 1123 subdomain, like Kubernetes).');

export const metadataSchema = z
  .strictObject({
    name: resourceName,
    labels: z.record(z.string().max(63), z.string().max(253)).default({}).describe('Free-form key/value labels, used for selection and ownership.'),
    annotations: z.record(z.string(), z.string()).default({}).describe('Free-form key/value notes; not interpreted by the gateway.'),
  })
  .describe('Object metadata, as in Kubernetes.');

export type Metadata = z.infer<typeof metadataSchema>;

/** An HTTP field (header) name, an RFC 9110 §5.1 token, lower-cased: field names compare case-insensitively. */
export const httpFieldName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP field name (RFC 9110 token)')
  .transform((n) => n.toLowerCase());

/** Header fields the gateway sets itself on an upstream request (framing, identity of the request): configured header changes may not touch them. */
export const GATEWAY_OWNED_HEADERS: ReadonlySet<string> = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'content-length', 'x-request-id']);

/** Whether the literal text of a path template (outside `{...}` references) is URL path characters: RFC 3986 pchar, "/" and percent-encodings. */
export function pathTemplateLiteral(template: string): boolean {
  return /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/.test(template.replace(/\{[^{}]*\}/g, '').replace(/[{}]/g, ''));
}
export const PATH_TEMPLATE_LITERAL_MESSAGE = 'literal text must be URL path characters (RFC 3986 pchar, "/" and percent-encodings)';

/** Milliseconds, bounded so a typo cannot disable a timeout by accident (max 1 hour). */
export const durationMs = z.number().int().min(1).max(3_600_000);

/**
 * A reference to a policy, configured per API or per route. The policy's own schema (in
 * @tollgate/policies) validates `config`; the model only checks the envelope.
 */
export const policyRefSchema = z
  .strictObject({
    name: z.string().min(1).describe('Policy name, e.g. `ip-restriction`.'),
    enabled: z.boolean().default(true).describe('A disabled policy is kept in config but not run.'),
    config: z.record(z.string(), z.unknown()).default({}).describe("The policy's configuration; see the policy's reference."),
  })
  .describe('A policy attached to an API or route.');

export type PolicyRef = z.infer<typeof policyRefSchema>;
