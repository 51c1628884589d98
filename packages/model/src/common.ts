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

/**
 * An HTTP field value as RFC 9110 §5.5 allows it: field-vchar (VCHAR or obs-text), SP and HTAB.
 * CR, LF, NUL and every other control character are refused: written into a header they split
 * it (header or request injection, RFC 9112 §11.1), and Node/undici refuse them, failing the
 * request. The same set Node (`checkInvalidHeaderChar`) and undici accept.
 */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
export const FIELD_VALUE_MESSAGE = 'must be an HTTP field value (RFC 9110 §5.5): visible ASCII, space, tab or Latin-1 characters (no CR, LF, NUL or other control characters)';

/** Whether `s` is a valid HTTP field value (see {@link FIELD_VALUE}); no allocation. */
export function isFieldValue(s: string): boolean {
  return FIELD_VALUE.test(s);
}

/** A config literal that is sent as a header value. */
export const httpFieldValue = z.string().regex(FIELD_VALUE, FIELD_VALUE_MESSAGE);

/** URL path characters (RFC 3986 §3.3 pchar, "/" and percent-encodings): what a literal path in config may hold. */
export const URL_PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;

/** Header fields the gateway sets itself on an upstream request (framing, identity of the request): configured header changes may not touch them. */
export const GATEWAY_OWNED_HEADERS: ReadonlySet<string> = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'content-length', 'x-request-id']);

/** Whether the literal text of a path template (outside `{...}` references) is URL path characters: RFC 3986 pchar, "/" and percent-encodings. */
export function pathTemplateLiteral(template: string): boolean {
  return URL_PATH_CHARS.test(template.replace(/\{[^{}]*\}/g, '').replace(/[{}]/g, ''));
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
