import { z } from 'zod';
import { durationMs, FIELD_VALUE, FIELD_VALUE_MESSAGE, GATEWAY_OWNED_HEADERS, httpFieldName, httpFieldValue, PATH_TEMPLATE_LITERAL_MESSAGE, pathTemplateLiteral, policyRefSchema, resourceName, URL_PATH_CHARS } from './common.js';
import { publishedSpecSchema } from './published-spec.js';
import { aggregateSchema } from './aggregate.js';
import { grpcActionSchema, grpcWebActionSchema, soapActionSchema } from './protocols.js';
import { lifecycleSchema, versioningSchema } from './lifecycle.js';
import { messagingActionSchema } from './messaging.js';

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

/** A regular expression in RE2 syntax (linear-time matching); compiled and checked by the compiler. */
const regexString = z.string().min(1).max(1024);

/**
 * A path template: literal segments and `{name}` segments, each capturing one whole segment
 * (`/orders/{id}/items/{item}`). Capture names are usable by `rewrite.path`.
 */
/** A path the gateway sends (request line, `Location`): CR, LF, spaces or controls would split them, so only URL path characters. */
const urlPath = absolutePath.refine((p) => URL_PATH_CHARS.test(p), 'must be URL path characters (RFC 3986 pchar, "/" and percent-encodings)');

const pathTemplate = absolutePath.refine(
  (p) => p.split('/').every((seg) => !seg.includes('{') || /^\{[A-Za-z_][A-Za-z0-9_]{0,31}\}$/.test(seg)),
  'each "{name}" must be a whole segment and name a capture of letters, digits and "_"',
);

export const pathMatchSchema = z
  .union([
    z.strictObject({ exact: absolutePath.describe('The normalized path must equal this.') }),
    z.strictObject({ prefix: absolutePath.describe('The normalized path must start with this, on a segment boundary: `/a` matches `/a` and `/a/b`, not `/ab`.') }),
    z.strictObject({ template: pathTemplate.describe('A template such as `/orders/{id}`: literal segments must be equal, each `{name}` matches one non-empty segment and captures it.') }),
    z.strictObject({ regex: regexString.describe('An RE2 regular expression the whole path must match (anchored at both ends). Named groups `(?P<name>...)` are captures.') }),
  ])
  .describe('How the request path (below the API basePath) is matched; exactly one of `exact`, `prefix`, `template` or `regex`.');

/** How one header or query parameter value is matched; exactly one field. */
export const stringMatchSchema = z
  .union([
    z.strictObject({ exact: z.string().max(8192).describe('The value must equal this (case-sensitive).') }),
    z.strictObject({ prefix: z.string().min(1).max(8192).describe('The value must start with this.') }),
    z.strictObject({ regex: regexString.describe('An RE2 regular expression the whole value must match.') }),
    z.strictObject({ present: z.literal(true).describe('The field must be present, with any value.') }),
    z.strictObject({ absent: z.literal(true).describe('The field must not be present.') }),
  ])
  .describe('One of `exact`, `prefix`, `regex`, `present: true` or `absent: true`.');

/** Header field names (RFC 9110 §5.1 token); compared case-insensitively. */
const headerName = httpFieldName;

export const matchSchema = z
  .strictObject({
    path: pathMatchSchema.default({ prefix: '/' }),
    methods: z.array(z.enum(HTTP_METHODS)).default([]).describe('Allowed methods; empty means any.'),
    headers: z.record(headerName, stringMatchSchema).default({}).describe('Request header conditions by (case-insensitive) name; all must hold. Repeated fields are joined with ", " (RFC 9110 §5.3).'),
    queryParams: z.record(z.string().min(1).max(256), stringMatchSchema.refine((m) => !('prefix' in m), 'query parameters match with exact, regex, present or absent')).default({}).describe('Query parameter conditions by (case-sensitive, decoded) name; the first occurrence is matched; all must hold.'),
  })
  .describe('One match block: all its fields must match (AND).');

const mutableHeaderName = headerName.refine((n) => !GATEWAY_OWNED_HEADERS.has(n), { message: `must not be one of ${[...GATEWAY_OWNED_HEADERS].join(', ')} (set by the gateway; use rewrite.host for Host)` });
/** A field value sent as is (RFC 9110 §5.5): anything else would fail every request at run time, or split the header. */
const headerValue = httpFieldValue.max(8192);

export const headerOperationsSchema = z
  .strictObject({
    set: z.record(mutableHeaderName, headerValue).default({}).describe('Fields set to this value, replacing any existing value.'),
    add: z.record(mutableHeaderName, headerValue).default({}).describe('Fields appended (another field line next to existing ones).'),
    remove: z.array(mutableHeaderName).default([]).describe('Fields removed.'),
  })
  .describe('Header changes, applied in the order remove, set, add.');

export const destinationSchema = z
  .strictObject({
    upstream: resourceName.describe('Name of the Upstream that receives the request.'),
    subset: z.string().min(1).max(63).optional().describe('Name of a subset of that Upstream (its `subsets`); default all its targets.'),
  })
  .describe('Where matched requests go.');

const percentage = z.number().min(0).max(100).describe('Share of requests, in percent (0-100, fractions allowed).');

/** How a route combines its authentication policies (docs/authentication.md). */
export const authSettingsSchema = z
  .strictObject({
    mode: z
      .enum(['any', 'all'])
      .default('any')
      .describe('`any`: the first authentication policy that accepts a credential identifies the caller (OR). `all`: every one (key-auth, jwt-auth) must accept its own credential, all for the same consumer (AND); missing or mismatched credentials get 401.'),
  })
  .describe('How the authentication policies of a route combine.');

export const routeSchema = z
  .strictObject({
    name: resourceName.describe('Name of the route, unique within the API; used in logs and metrics.'),
    match: z.array(matchSchema).min(1).default([{ path: { prefix: '/' }, methods: [], headers: {}, queryParams: {} }]).describe('Match blocks; the route matches when any block matches (OR).'),
    destination: destinationSchema.optional().describe('The single destination (shorthand for `destinations` with one entry).'),
    destinations: z
      .array(destinationSchema.extend({ weight: z.number().int().min(0).max(1_000_000).describe('Relative share of requests; 0 sends none.') }))
      .min(1)
      .max(64)
      .optional()
      .describe('Weighted split: each request goes to one destination, chosen at random in proportion to `weight`.'),
    redirect: z
      .strictObject({
        scheme: z.enum(['http', 'https']).optional().describe('Scheme of the Location; default the request scheme.'),
        host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/, 'must be a hostname or bracketed IPv6 literal').optional().describe('Host of the Location; default the request Host (without port).'),
        port: z.number().int().min(1).max(65_535).optional().describe('Port of the Location; default none (the scheme default) when host or scheme change, else the request port.'),
        path: urlPath.optional().describe('Path of the Location (the query is kept); default the request path.'),
        code: z.number().int().default(301).describe('301, 302, 307 or 308 (RFC 9110 §15.4).'),
      })
      .optional()
      .describe('Answer with a redirect instead of forwarding.'),
    directResponse: z
      .strictObject({
        status: z.number().int().min(200).max(599).describe('Status code.'),
        body: z.string().max(65_536).default('').describe('Body sent as is.'),
        contentType: z.string().min(1).max(256).regex(FIELD_VALUE, FIELD_VALUE_MESSAGE).default('text/plain; charset=utf-8').describe('Content-Type of the body.'),
      })
      .optional()
      .describe('Answer directly instead of forwarding.'),
    aggregate: aggregateSchema.optional(),
    rewrite: z
      .strictObject({
        prefix: urlPath.optional().describe('Replaces the matched prefix (or the whole path for exact, template and regex matches).'),
        path: z.string().min(1).max(2048).startsWith('/').refine(pathTemplateLiteral, PATH_TEMPLATE_LITERAL_MESSAGE).optional().describe('New path built from captures: `{name}` is replaced by the template capture or regex named group `name`.'),
        regex: z
          .strictObject({
            pattern: regexString.describe('RE2 regular expression searched in the path (all matches are replaced).'),
            substitution: z
              .string()
              .max(2048)
              // Inserted into the request line: literal text must be URL path characters (\1..\9 are the groups).
              .refine((v) => URL_PATH_CHARS.test(v.replace(/\\\d/g, '')), 'must be URL path characters (RFC 3986 pchar, "/" and percent-encodings) and \\1…\\9 group references')
              .describe('Replacement; `\\1`…`\\9` insert numbered groups.'),
          })
          .optional()
          .describe('Regex rewrite of the path, like Envoy `regex_rewrite`.'),
        host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be host[:port]').optional().describe('Host header sent upstream (Istio `authority`).'),
      })
      .refine((r) => [r.prefix, r.path, r.regex].filter((v) => v !== undefined).length <= 1, 'give at most one of prefix, path or regex')
      .optional()
      .describe('Changes to the request before it is forwarded; paths here are below the API basePath.'),
    headers: z
      .strictObject({
        request: headerOperationsSchema.optional(),
        response: headerOperationsSchema.optional(),
      })
      .optional()
      .describe('Header changes on the request to the upstream and on the response to the client.'),
    forwardOverrideHeaders: z
      .boolean()
      .optional()
      .describe('Forward the client\'s method and URL override headers (`X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override`, `X-Original-URL`, `X-Rewrite-URL`) to the upstream. Default false: they are removed, since frameworks that honour them would bypass the route\'s method restrictions and path rules.'),
    mirror: destinationSchema
      .extend({ percentage: percentage.default(100) })
      .optional()
      .describe('Sends a copy of a share of requests to a shadow destination; its response is discarded. Only requests without a body are mirrored.'),
    fault: z
      .strictObject({
        delay: z
          .strictObject({ fixedDelayMs: durationMs.describe('Delay before forwarding.'), percentage: percentage.default(100) })
          .optional()
          .describe('Delay a share of requests by a fixed time before forwarding them.'),
        abort: z
          .strictObject({ status: z.number().int().min(200).max(599).describe('Status answered.'), percentage: percentage.default(100) })
          .optional()
          .describe('Answer a share of requests with a status, without calling the upstream.'),
      })
      .optional()
      .describe('Fault injection: delay a share of requests, or answer a share with a status without calling the upstream.'),
    grpc: grpcActionSchema.optional(),
    grpcWeb: grpcWebActionSchema.optional(),
    soap: soapActionSchema.optional(),
    messaging: messagingActionSchema.optional(),
    timeoutMs: durationMs.optional().describe('Deadline for the response headers, across all retries; past it 504.'),
    retries: z
      .strictObject({
        attempts: z.number().int().min(0).max(10).describe('Retries after the first try (0 = none).'),
        perTryTimeoutMs: durationMs.optional().describe('Deadline of each try; a try past it counts as a 504.'),
        retryOn: z.array(z.enum(['connect-failure', 'reset', '502', '503', '504'])).default(['connect-failure', 'reset', '503']).describe('Conditions that trigger a retry.'),
        allowNonIdempotent: z.boolean().default(false).describe('Also retry POST and PATCH (RFC 9110 §9.2.2). Requests with a body are never retried.'),
      })
      .optional()
      .describe('Retries; each picks a target again through the balancer.'),
    policies: z.array(policyRefSchema).default([]).describe('Policies for this route, run after the API-level ones of the same phase, by priority.'),
    auth: authSettingsSchema.optional().describe('Overrides the API-level `auth` for this route.'),
    metering: z
      .strictObject({
        units: z.number().int().min(0).max(1_000_000).default(1).describe('Billable units one request to this route counts as (e.g. 5 for an expensive endpoint).'),
        metric: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower-case letters, digits and "_"').default('requests').describe('Billing metric the units are of; reports have one line per metric.'),
      })
      .optional()
      .describe('How requests to this route are metered; default 1 unit of `requests`.'),
  })
  .describe('A route: which requests it takes and what it does with them.')
  .superRefine((r, ctx) => {
    const actions = (['destination', 'destinations', 'redirect', 'directResponse', 'aggregate', 'grpc', 'grpcWeb', 'soap', 'messaging'] as const).filter((k) => r[k] !== undefined);
    if (actions.length !== 1) ctx.addIssue({ code: 'custom', path: actions.length > 1 ? [actions[1] as string] : ['destination'], message: 'give exactly one of destination, destinations, redirect, directResponse, aggregate, grpc, grpcWeb, soap or messaging' });
    if (r.destinations && r.destinations.reduce((a, d) => a + d.weight, 0) === 0) ctx.addIssue({ code: 'custom', path: ['destinations'], message: 'the weights sum to 0' });
    if (r.redirect && ![301, 302, 307, 308].includes(r.redirect.code)) ctx.addIssue({ code: 'custom', path: ['redirect', 'code'], message: 'must be 301, 302, 307 or 308' });
  });

const variantAction = z.enum(['reject', 'strip', 'keep']);

/**
 * How spellings of a path that upstreams may read as the same resource are matched (the router's
 * `PathMatching`; docs/routing.md gives the reasons for the defaults).
 */
export const pathMatchingSchema = z
  .strictObject({
    caseInsensitive: z
      .boolean()
      .default(false)
      .describe('Fold the path to lower case before routing; policies and the upstream get the folded path. For upstreams that ignore case (Express by default, ASP.NET, IIS). Default false: paths are case-sensitive (RFC 3986 §6.2.2.1).'),
    matrixParams: variantAction
      .default('reject')
      .describe('`;` segment parameters (`/admin;x=1/`, RFC 3986 §3.3), which Java servers drop before mapping: `reject` (400 BAD_PATH, also for an encoded `%3B`), `strip` (removed from every segment, then forwarded without), or `keep` (routed and forwarded as data).'),
    trailingDots: variantAction
      .default('reject')
      .describe('A segment ending in `.` (`/admin./`, `/admin%2E/`), which Windows and IIS ignore: `reject` (400 BAD_PATH), `strip` (removed, then forwarded without), or `keep`.'),
  })
  .describe('How path spellings are matched: `;` parameters, trailing dots, case. The path after these options is routed on, seen by policies and forwarded.');

export type PathMatchingSpec = z.infer<typeof pathMatchingSchema>;

/** Literal path texts of a match block (exact, prefix, template), for checks against the path matching options. */
function literalPaths(route: z.infer<typeof routeSchema>): Array<[number, string, string]> {
  const out: Array<[number, string, string]> = [];
  route.match.forEach((m, mi) => {
    const p = m.path;
    if ('exact' in p) out.push([mi, 'exact', p.exact]);
    else if ('prefix' in p) out.push([mi, 'prefix', p.prefix]);
    else if ('template' in p) out.push([mi, 'template', p.template]);
  });
  return out;
}

export const apiSpecSchema = z
  .strictObject({
    version: z.string().min(1).max(64).default('v1').describe('Version label of the API, e.g. `v1`.'),
    description: z.string().max(4096).default('').describe('Free text for humans.'),
    hosts: z.array(hostPattern).default([]).describe('Hosts served (exact or `*.` wildcard); empty means any host. A port in the Host header is ignored.'),
    priority: z.number().int().min(-1000).max(1000).default(0).describe('Across APIs, a higher priority wins before host and path specificity (see docs/routing.md).'),
    basePath: urlPath.default('/').describe('Path prefix under which every route of the API lives.'),
    pathMatching: pathMatchingSchema.default({ caseInsensitive: false, matrixParams: 'reject', trailingDots: 'reject' }),
    stripBasePath: z.boolean().default(false).describe('Remove basePath from the path forwarded upstream.'),
    policies: z.array(policyRefSchema).default([]).describe('Policies applied to every route of the API.'),
    auth: authSettingsSchema.optional().describe('How authentication policies combine on every route (default `mode: any`).'),
    usagePath: z.string().regex(/^\/[A-Za-z0-9._~\/-]*$/, 'must be an absolute path').max(256).refine((p) => !p.includes('//') && !p.split('/').some((x) => x === '.' || x === '..'), 'must not contain empty, "." or ".." segments (it is compared with the normalized request path, so it would never match)').optional().describe('Path under basePath where an authenticated subscriber GETs its own usage and remaining quota (e.g. `/_usage`); a route of the API must match it.'),
    subscriptionRequired: z.boolean().default(false).describe('Only consumers with an active Subscription may call it (others get 403 SUBSCRIPTION_REQUIRED); subscribers get their plan\'s limits.'),
    product: resourceName.optional().describe('Groups the versions of one API (`orders` for the Apis `orders-v1` and `orders-v2`); default the Api name. Subscriptions may name a product for all its versions.'),
    versioning: versioningSchema.optional(),
    lifecycle: lifecycleSchema.optional(),
    routes: z.array(routeSchema).min(1).describe('Routes, tried in declared order within the API.'),
    openapi: publishedSpecSchema.optional(),
  })
  .describe('An API: hosts and base path, and the routes that send its traffic to upstreams.')
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    const pm = spec.pathMatching;
    // A path the request path can never equal under the API's options would be a dead route.
    const dead = (p: string): string | null => {
      if (pm.matrixParams !== 'keep' && p.includes(';')) return `contains ";", which matrixParams: ${pm.matrixParams} never lets through to routing (use matrixParams: keep)`;
      if (pm.trailingDots !== 'keep' && /[^/]\.(\/|$)/.test(p)) return `has a segment ending in ".", which trailingDots: ${pm.trailingDots} never lets through to routing (use trailingDots: keep)`;
      return null;
    };
    const baseIssue = dead(spec.basePath);
    if (baseIssue !== null) ctx.addIssue({ code: 'custom', path: ['basePath'], message: `basePath ${baseIssue}` });
    spec.routes.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'name'], message: `duplicate route name "${r.name}"` });
      seen.add(r.name);
      for (const [mi, kind, p] of literalPaths(r)) {
        const issue = dead(p);
        if (issue !== null) ctx.addIssue({ code: 'custom', path: ['routes', i, 'match', mi, 'path', kind], message: `the path ${issue}` });
      }
    });
  });

export type ApiSpec = z.infer<typeof apiSpecSchema>;
export type Route = z.infer<typeof routeSchema>;
export type RouteMatch = z.infer<typeof matchSchema>;
export type StringMatch = z.infer<typeof stringMatchSchema>;
export type HeaderOperations = z.infer<typeof headerOperationsSchema>;
export type Destination = z.infer<typeof destinationSchema>;
export type HttpMethod = (typeof HTTP_METHODS)[number];
