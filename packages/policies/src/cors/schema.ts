import { RE2JS } from 're2js';
import { z } from 'zod';

/**
 * An allowed origin: `*` (any), an exact serialized origin (`https://app.example.com`, RFC 6454
 * §6.2: scheme, host and a non-default port, no path), a wildcard host (`https://*.example.com`,
 * one or more labels in front of a domain of at least two labels), or `null` — the opaque origin
 * browsers send from sandboxed iframes, `data:` and `file:` documents (RFC 6454 §7.3): anyone can
 * produce it, so it is matched only when listed, never by `*`, a wildcard or a regex.
 */
const originPattern = z
  .string()
  .min(1)
  .max(512)
  .transform((s) => s.toLowerCase())
  .refine((s) => s === '*' || s === 'null' || /^https?:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$/.test(s), 'must be "*", "null" or an origin like "https://app.example.com" or "https://*.example.com" (no path)')
  // `https://*.com` would admit every site under a top-level domain.
  .refine((s) => !s.includes('://*.') || /^https?:\/\/\*\.[a-z0-9-]+\.[a-z0-9-]+/.test(s), 'a wildcard needs a domain of at least two labels after "*." (e.g. "https://*.example.com")');

/** An origin under the reserved `.invalid` TLD (RFC 6761 §6.4): no allowlist means to admit it. */
const PROBE_ORIGIN = 'https://tollgate-cors-probe.invalid';

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
    allowOrigins: z.array(originPattern).max(1_000).default([]).describe('Allowed origins: "*" (not with allowCredentials), exact origins, "https://*.example.com" wildcards, or "null" (only matched when listed).'),
    allowOriginRegexes: z.array(regex).max(100).default([]).describe('RE2 patterns matched against the whole (lower-case) Origin.'),
    allowMethods: z.array(token.transform((m) => m.toUpperCase())).default(['GET', 'HEAD', 'POST']).describe('Methods a preflight may ask for.'),
    allowHeaders: z.array(token.transform((h) => h.toLowerCase())).default([]).describe('Request headers a preflight may ask for; ["*"] allows any.'),
    exposeHeaders: z.array(token).default([]).describe('Response headers scripts may read (Access-Control-Expose-Headers).'),
    allowCredentials: z.boolean().default(false).describe('Send Access-Control-Allow-Credentials: true; the origin is then echoed, never "*" (and "*" or a regex admitting any origin is refused).'),
    maxAgeSeconds: z.number().int().min(0).max(86_400).optional().describe('How long a browser may cache a preflight answer (Access-Control-Max-Age).'),
  })
  .refine((c) => c.allowOrigins.length > 0 || c.allowOriginRegexes.length > 0, { message: 'give at least one of allowOrigins or allowOriginRegexes', path: ['allowOrigins'] })
  .superRefine((c, ctx) => {
    if (!c.allowCredentials) return;
    // With credentials the origin is echoed (Fetch §3.3.5 forbids "*" there), so "*" would
    // let every site read responses made with the user's cookies: refuse it instead.
    c.allowOrigins.forEach((o, i) => {
      if (o === '*') ctx.addIssue({ code: 'custom', path: ['allowOrigins', i], message: '"*" cannot be combined with allowCredentials: true (every site could read credentialed responses); list the origins' });
    });
    // The same for a regex that admits an arbitrary site (".*", "https://.*").
    c.allowOriginRegexes.forEach((r, i) => {
      let admits = false;
      try {
        admits = RE2JS.compile(r).testExact(PROBE_ORIGIN);
      } catch {
        return; // reported by the field's own check
      }
      if (admits) ctx.addIssue({ code: 'custom', path: ['allowOriginRegexes', i], message: `admits any origin (it matches ${PROBE_ORIGIN}), which cannot be combined with allowCredentials: true` });
    });
  })
  .describe('CORS (Fetch standard): answers preflights at the gateway and adds CORS headers to responses.');

export type CorsConfig = z.output<typeof corsSchema>;
