import { RE2JS } from 're2js';
import { z } from 'zod';

/**
 * An allowed origin: `*` (any), an exact serialized origin (`https://app.example.com`, RFC 6454
 * §6.2: scheme, host and a non-default port, no path), or a wildcard host (`https://*.example.com`,
 * one or more labels).
 */
const originPattern = z
  .string()
  .min(1)
  .max(512)
  .transform((s) => s.toLowerCase())
  .refine((s) => s === '*' || /^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/.test(s), 'must be "*" or an origin like "https://app.example.com" or "https://*.example.com" (no path)');

const regex = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((s, ctx) => {
    try {
      RE2JS.compile(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a valid RE2 regular expression: ${(err as Error).message}` });
    }
  });

const token = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP token');

export const corsSchema = z
  .strictObject({
    allowOrigins: z.array(originPattern).max(1_000).default([]).describe('Allowed origins: "*", exact origins, or "https://*.example.com" wildcards.'),
    allowOriginRegexes: z.array(regex).max(100).default([]).describe('RE2 patterns matched against the whole (lower-case) Origin.'),
    allowMethods: z.array(token.transform((m) => m.toUpperCase())).default(['GET', 'HEAD', 'POST']).describe('Methods a preflight may ask for.'),
    allowHeaders: z.array(token.transform((h) => h.toLowerCase())).default([]).describe('Request headers a preflight may ask for; ["*"] allows any.'),
    exposeHeaders: z.array(token).default([]).describe('Response headers scripts may read (Access-Control-Expose-Headers).'),
    allowCredentials: z.boolean().default(false).describe('Send Access-Control-Allow-Credentials: true; the origin is then echoed, never "*".'),
    maxAgeSeconds: z.number().int().min(0).max(86_400).optional().describe('How long a browser may cache a preflight answer (Access-Control-Max-Age).'),
  })
  .refine((c) => c.allowOrigins.length > 0 || c.allowOriginRegexes.length > 0, { message: 'give at least one of allowOrigins or allowOriginRegexes', path: ['allowOrigins'] })
  .describe('CORS (Fetch standard): answers preflights at the gateway and adds CORS headers to responses.');

export type CorsConfig = z.output<typeof corsSchema>;
