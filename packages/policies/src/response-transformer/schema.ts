import { z } from 'zod';
import { bodyOpsSchema, DEFAULT_TRANSFORM_BODY_BYTES, headerOpsSchema } from '../request-transformer/schema.js';

export const responseTransformerSchema = z
  .strictObject({
    headers: headerOpsSchema.describe('Response header changes, applied in the order remove, rename, set, add.'),
    body: bodyOpsSchema.describe('JSON body changes (only for `application/json` and `+json` responses without Content-Encoding; others pass unchanged). The body is buffered for routes that use them.'),
    maxBodyBytes: z.number().int().min(1).max(67_108_864).default(DEFAULT_TRANSFORM_BODY_BYTES).describe('Largest response body buffered for a body change; a larger one is answered 502 RESPONSE_TOO_LARGE.'),
  })
  .describe('Changes the response on its way to the client: headers and JSON body fields, with templates over the request and the authenticated consumer.');

export type ResponseTransformerConfig = z.output<typeof responseTransformerSchema>;
