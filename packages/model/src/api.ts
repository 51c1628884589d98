import { z } from 'zod';
import { durationMs, policyRefSchema, resourceName } from './common.js';

/** HTTP methods a route may restrict itself to (RFC 9110 §9 plus PATCH, RFC 5789). */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const;

const absolutePath = z
  .string()
  .min(1)
  .max(2048)
  .refine((p) => p.startsWith('/'), 'must start with "/"')
  .refine((p) => !/[?#\\]/.test(p) && !/%2f|%5c/i.test(p), 'must not contain "?", "#", "\\" or an encoded slash')
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'must not contain "." or ".." segments')
  .refine((p) => !p.includes('//'), 'must not contain empty segments ("//")');

/** Hostnames are compared case-insensitively (RFC 9110 §4.2.3); `*.` matches one or more labels. */
const hostPattern = z
  .string()
  .min(1)
  .max(253)
  .transform((h) => h.toLowerCase())
  .refine((h) => /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(h), 'must be a hostname, optionally starting with "*." (no port, no scheme)');

export const pathMatchSchema = z
  .union([
    z.strictObject({ exact: absolutePath.describe('The normalized path must equal this.') }),
    z.strictObject({ prefix: absolutePath.describe('The normalized path must start with this, on a segment boundary: `/a` matches `/a` and `/a/b`, not `/ab`.') }),
  ])
  .describe('How the request path (below the API basePath) is matched; exactly one of `exact` or `prefix`.');

export const matchSchema = z
  .strictObject({
    path: pathMatchSchema.default({ prefix: '/' }),
    methods: z.array(z.enum(HTTP_METHODS)).default([]).describe('Allowed methods; empty means any.'),
  })
  .describe('One match block: all its fields must match (AND).');

export const routeSchema = z
  .strictObject({
    name: resourceName.describe('Name of the route, unique within the API; used in logs and metrics.'),
    match: z.array(matchSchema).min(1).default([{ path: { prefix: '/' }, methods: [] }]).describe('Match blocks; the route matches when any block matches (OR).'),
    destination: z
      .strictObject({
        upstream: resourceName.describe('Name of the Upstream that receives the request.'),
      })
      .describe('Where matched requests go.'),
    timeoutMs: durationMs.optional().describe("Overrides the upstream's responseHeadersMs for this route."),
    policies: z.array(policyRefSchema).default([]).describe('Policies for this route, run after the API-level ones of the same phase, by priority.'),
  })
  .describe('A route: which requests it takes and where it sends them.');

export const apiSpecSchema = z
  .strictObject({
    version: z.string().min(1).max(64).default('v1').describe('Version label of the API, e.g. `v1`.'),
    description: z.string().max(4096).default('').describe('Free text for humans.'),
    hosts: z.array(hostPattern).default([]).describe('Hosts served (exact or `*.` wildcard); empty means any host. A port in the Host header is ignored.'),
    basePath: absolutePath.default('/').describe('Path prefix under which every route of the API lives.'),
    stripBasePath: z.boolean().default(false).describe('Remove basePath from the path forwarded upstream.'),
    policies: z.array(policyRefSchema).default([]).describe('Policies applied to every route of the API.'),
    routes: z.array(routeSchema).min(1).describe('Routes, tried in declared order within the API.'),
  })
  .describe('An API: hosts and base path, and the routes that send its traffic to upstreams.')
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    spec.routes.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'name'], message: `duplicate route name "${r.name}"` });
      seen.add(r.name);
    });
  });

export type ApiSpec = z.infer<typeof apiSpecSchema>;
export type Route = z.infer<typeof routeSchema>;
export type RouteMatch = z.infer<typeof matchSchema>;
export type HttpMethod = (typeof HTTP_METHODS)[number];
