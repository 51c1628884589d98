import { z } from 'zod';
import { durationMs, FIELD_VALUE_MESSAGE, GATEWAY_OWNED_HEADERS, httpFieldName, isFieldValue, PATH_TEMPLATE_LITERAL_MESSAGE, pathTemplateLiteral, resourceName } from './common.js';

/**
 * A route's `aggregate` action: several backends called for one request, their JSON bodies
 * shaped and combined into one JSON object (KrakenD/Lura's merging proxy, `proxy/merging.go`).
 * Templates (`{path.id}`, `{resp.user.id}`, ...) are parsed and checked by the compiler.
 */

/** Backend names are referenced as `{resp.<name>.<field>}`, so they carry no dots. */
const backendName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, 'must start with a letter and hold only letters, digits, "_" or "-" (at most 63)')
  .describe('Name of the backend, unique within the aggregate; used in `{resp.<name>...}`, the missing-parts header and logs.');

/** A template string: literal text with `{source.key}` references (see docs/aggregation.md). */
const template = (max: number) => z.string().max(max).refine((v) => !/[\r\n\0]/.test(v), 'must not contain CR, LF or NUL');

/** A dot path into a JSON value (`data.items`, `items.0.id`). */
const fieldPath = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a dot path such as `data.items` (no empty parts, no spaces)');

const headerName = httpFieldName;


export const aggregateBackendSchema = z
  .strictObject({
    name: backendName,
    upstream: resourceName.describe('Name of the Upstream called (load-balanced, health-checked and circuit-broken as for any route).'),
    subset: z.string().min(1).max(63).optional().describe('Name of a subset of that Upstream; default all its targets.'),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET').describe('Method of the backend request (sent without a body).'),
    path: template(2048)
      .refine((p) => p.startsWith('/'), 'must start with "/"')
      .refine((p) => !/[?#\\]/.test(p.replace(/\{[^{}]*\}/g, '')), 'must not contain "?", "#" or "\\" (use `query` for parameters)')
      .refine((p) => pathTemplateLiteral(p.replace(/[?#\\]/g, '')), PATH_TEMPLATE_LITERAL_MESSAGE)
      .describe('Path template of the backend request, e.g. `/users/{path.id}/orders`; each inserted value is percent-encoded as one segment part.'),
    query: z.record(z.string().min(1).max(256), template(2048)).default({}).describe('Query parameters of the backend request: name → value template. A parameter whose template references a missing value is left out.'),
    headers: z
      .record(headerName.refine((n) => !GATEWAY_OWNED_HEADERS.has(n), { message: `must not be one of ${[...GATEWAY_OWNED_HEADERS].join(', ')}` }), template(8192).refine(isFieldValue, FIELD_VALUE_MESSAGE))
      .default({})
      .describe('Request headers: name → value template (e.g. `{header.authorization}`). Client headers are not forwarded otherwise. A header whose template references a missing value is left out.'),
    timeoutMs: durationMs.optional().describe('Deadline of this backend call, headers and body, within the aggregate budget; default the budget.'),
    group: z.string().min(1).max(256).optional().describe('Key of the response object the (shaped) body is put under; default the backend name.'),
    merge: z.boolean().default(false).describe('Merge the (shaped) body, which must be a JSON object, into the top level of the response instead of grouping it; later backends win on equal keys.'),
    extract: fieldPath.optional().describe('Dot path of a nested object or array of the body to use instead of the whole body (e.g. `data.items`); applied first.'),
    allow: z.array(fieldPath).max(256).optional().describe('Allow-list: keep only these fields (dot paths for nested fields); applied to each element when the body is an array.'),
    deny: z.array(fieldPath).max(256).default([]).describe('Deny-list: remove these fields (dot paths for nested fields), after the allow-list.'),
    rename: z.record(z.string().min(1).max(256), z.string().min(1).max(256)).default({}).describe('Renames of top-level fields, `from: to`, applied after allow and deny.'),
    required: z.boolean().default(false).describe('Without this backend there is no useful answer: if it is missing the whole aggregate answers 502, whatever `partial` says.'),
    dependsOn: z.array(backendName).max(32).default([]).describe('Parallel mode: backends that must finish before this one starts (needed to use `{resp.<name>...}`).'),
  })
  .describe('One backend of an aggregate.')
  .superRefine((b, ctx) => {
    if (b.merge && b.group !== undefined) ctx.addIssue({ code: 'custom', path: ['group'], message: 'give either group or merge: true, not both' });
    if (b.allow !== undefined && b.allow.length === 0) ctx.addIssue({ code: 'custom', path: ['allow'], message: 'an empty allow-list would keep nothing; leave it out to keep every field' });
  });

export const aggregateSchema = z
  .strictObject({
    mode: z.enum(['parallel', 'sequential']).default('parallel').describe('`parallel`: every backend starts at once (except those waiting for their `dependsOn`); `sequential`: one after another in declared order, each may use the responses of the earlier ones.'),
    budgetMs: durationMs.default(3000).describe('Time budget of the whole aggregate; backends still running when it ends are left out of the answer.'),
    partial: z.union([z.literal(200), z.literal(502)]).default(200).describe('Status when some backends are missing: 200 with `X-Tollgate-Partial: true` and `X-Tollgate-Missing`, or 502 problem+json. When every backend is missing the answer is always 502.'),
    maxBodyBytes: z.number().int().min(1).max(64 * 1024 * 1024).default(1024 * 1024).describe('Largest body read from one backend, in bytes; a larger one is cut off and that backend is missing.'),
    backends: z.array(aggregateBackendSchema).min(1).max(32).describe('Backends called; their parts appear in the answer in this order.'),
  })
  .describe('Answer with one JSON object combined from several backends (see docs/aggregation.md).')
  .superRefine((a, ctx) => {
    const names = new Set<string>();
    const groups = new Map<string, number>();
    a.backends.forEach((b, i) => {
      if (names.has(b.name)) ctx.addIssue({ code: 'custom', path: ['backends', i, 'name'], message: `duplicate backend name "${b.name}"` });
      names.add(b.name);
      if (b.merge) return;
      const g = b.group ?? b.name;
      const prev = groups.get(g);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['backends', i, 'group'], message: `backends[${prev}] already writes to "${g}"` });
      else groups.set(g, i);
    });
    if (a.mode === 'sequential') {
      a.backends.forEach((b, i) => {
        if (b.dependsOn.length > 0) ctx.addIssue({ code: 'custom', path: ['backends', i, 'dependsOn'], message: 'dependsOn is for parallel mode; in sequential mode backends run in declared order' });
      });
    }
  });

export type Aggregate = z.infer<typeof aggregateSchema>;
export type AggregateBackend = z.infer<typeof aggregateBackendSchema>;
