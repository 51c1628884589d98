import { z } from 'zod';

/**
 * The OpenAPI document an Api publishes to its consumers through the gateway (`GET
 * <basePath><path>`), with `servers` replaced per request by the gateway's own address. The
 * document is kept as given (normally written by `tollgate import openapi`), without
 * `x-tollgate-*` extensions; the compiler serializes it once per snapshot.
 */
export const publishedSpecSchema = z
  .strictObject({
    path: z
      .string()
      .min(2)
      .max(256)
      .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@\/-]*$/, 'must be an absolute path')
      .refine((p) => !p.includes('//') && !p.split('/').some((s) => s === '.' || s === '..'), 'must not contain empty, "." or ".." segments')
      .default('/openapi.json')
      .describe('Path below the API basePath where consumers GET the document (JSON).'),
    document: z
      .record(z.string(), z.unknown())
      .refine((d) => typeof d.openapi === 'string' && /^3\.[01]\.\d+/.test(d.openapi), 'must be an OpenAPI 3.0 or 3.1 document (an `openapi` field such as "3.0.3" or "3.1.0")')
      .describe('The OpenAPI document (as a JSON object); its `servers` are replaced by the gateway address when served.'),
  })
  .describe('The OpenAPI document of this API version, served by the gateway for consumers\' tooling (see docs/openapi.md).');

export type PublishedSpec = z.infer<typeof publishedSpecSchema>;
