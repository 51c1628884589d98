import { FIELD_VALUE, FIELD_VALUE_MESSAGE } from '@tollgate/model';
import { z } from 'zod';
import { consumerHeadersSchema } from '../identity/consumer-headers.js';

/** Derived components (RFC 9421 §2.2) the gateway can reproduce for a request. */
export const DERIVED_COMPONENTS = ['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query'] as const;

/** A covered component a route may require: a derived component or a lower-case header field name. */
const componentName = z
  .string()
  .regex(/^(@[a-z-]+|[a-z0-9!#$%&'*+.^_`|~-]+)$/, 'a derived component (`@method`) or a lower-case field name (`content-type`)')
  .refine((c) => !c.startsWith('@') || (DERIVED_COMPONENTS as readonly string[]).includes(c), { message: `a derived component must be one of ${DERIVED_COMPONENTS.join(', ')}` });

export const httpSignatureSchema = z
  .strictObject({
    requiredComponents: z
      .array(componentName)
      .max(32)
      .default(['@method', '@authority', '@path'])
      .describe('Components every signature must cover (RFC 9421 §2). `@target-uri` covers `@scheme`, `@authority`, `@path` and `@query`; `@request-target` covers `@path` and `@query`.'),
    requireContentDigest: z
      .boolean()
      .default(true)
      .describe('A request with a body must cover `content-digest` (RFC 9530), and the body must match it (sha-256 or sha-512).'),
    maxBodyBytes: z.number().int().min(1).max(64 * 1024 * 1024).default(1024 * 1024).describe('Largest body read to check its Content-Digest, in bytes; larger bodies are refused with 413.'),
    maxAgeSec: z.number().int().min(1).max(3600).default(300).describe('Oldest `created` accepted, in seconds before now (plus `clockSkewSec`).'),
    clockSkewSec: z.number().int().min(0).max(600).default(30).describe('Tolerated difference between the signer\'s clock and the gateway\'s, in seconds.'),
    replayProtection: z
      .boolean()
      .default(true)
      .describe('Accept each signature once: a repeated signature within the acceptance window is refused (the shared counter store, Redis across nodes).'),
    label: z.string().regex(/^[a-z*][a-z0-9_\-.*]*$/, 'an RFC 8941 dictionary key').optional().describe('Signature label to verify (e.g. `sig1`); default the first one in `Signature-Input`.'),
    algorithms: z.array(z.enum(['hmac-sha256', 'ed25519'])).min(1).default(['hmac-sha256', 'ed25519']).describe('Key algorithms accepted on this route.'),
    realm: z.string().max(128).regex(FIELD_VALUE, FIELD_VALUE_MESSAGE).default('tollgate').describe('Realm named in the `WWW-Authenticate: Signature` challenge.'),
    forwardSignature: z.boolean().default(false).describe('Keep `Signature` and `Signature-Input` on the request to the upstream (removed by default).'),
    consumerHeaders: consumerHeadersSchema,
  })
  .refine((c) => c.clockSkewSec <= c.maxAgeSec, { message: 'clockSkewSec must not exceed maxAgeSec', path: ['clockSkewSec'] })
  .describe('Authenticates callers by an HTTP Message Signature (RFC 9421) made with a key registered on their Consumer (`spec.signatureKeys`): covered components, `created` within a window, replay protection, Content-Digest (RFC 9530) for bodies.');

/** Parsed http-signature config. */
export type HttpSignatureConfig = z.output<typeof httpSignatureSchema>;
