import { z } from 'zod';
import { resourceName } from '@tollgate/model';

/** Default and maximum page sizes of list endpoints. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** Problem details (RFC 9457), as every error response of the admin API carries. */
export const problemSchema = z
  .object({
    type: z.string().describe('URI identifying the problem type: https://tollgate.dev/errors/<code>.'),
    title: z.string().describe('Short summary of the problem type.'),
    status: z.number().int().describe('HTTP status code.'),
    detail: z.string().describe('Explanation of this occurrence.'),
    instance: z.string().describe('The request target this problem occurred on.'),
    code: z.string().describe('Stable machine-readable code, e.g. INVALID_CONFIG.'),
    requestId: z.string().describe('Id of the request, as in the server log and the x-request-id header.'),
    errors: z
      .array(
        z.object({
          document: z.number().int().optional().describe('Zero-based index of the submitted document.'),
          resource: z.string().optional().describe('Kind/name of the resource.'),
          path: z.string().describe('Where the issue is. INVALID_REQUEST: the request part and field (params.name, querystring.limit, body.items.1.expiresAt). Within a submitted document (with `document`): the path inside it, e.g. spec.routes[0].destination.upstream. See docs/errors.md, "Admin API".'),
          line: z.number().int().optional().describe('1-based line in the submitted YAML.'),
          code: z.string().describe('Machine-readable issue code, e.g. unknown_field.'),
          message: z.string(),
        }),
      )
      .optional()
      .describe('Every issue found, each located in the input.'),
  })
  .describe('An RFC 9457 problem (media type application/problem+json).');

/** Error responses documented on every authenticated route. */
export const errorResponses = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  /** After too many failed authentications from the client's address (auth-throttle.ts), on every authenticated route. */
  429: problemSchema,
  500: problemSchema,
  /** The database is unreachable, restarting or timed out (DATABASE_UNAVAILABLE, with Retry-After), the server is stopping (SHUTTING_DOWN), or a dependency of the route is not configured (UNAVAILABLE). */
  503: problemSchema.describe('DATABASE_UNAVAILABLE: the database is unreachable, restarting or timed out; retry after Retry-After seconds. SHUTTING_DOWN: this admin process is stopping; retry (another instance answers). UNAVAILABLE: something this route needs (database, response cache) is not configured in this process or failed.'),
} as const;

/** `?limit=&after=` keyset pagination. */
export const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).describe(`Page size, 1..${MAX_PAGE_SIZE}.`),
  after: resourceName.optional().describe('Cursor: return names after this one (the `next` of the previous page).'),
  q: z.string().min(1).max(253).optional().describe("Search: only resources whose name (or a consumer's `spec.customId`) contains this text, case-insensitive. Pages the same way (`after` = the previous page's `next`)."),
});

/** `/{name}` path parameter. */
export const nameParamsSchema = z.strictObject({ name: resourceName });

/** A boolean query flag: `true`/`false` (also `1`/`0`, `yes`/`no`). */
export const flag = z.stringbool().default(false);

/** What an apply did to one resource. */
export const changeSchema = z.object({
  kind: z.string(),
  name: z.string(),
  action: z.enum(['create', 'update', 'delete', 'unchanged']),
});

/** Response of a config apply. */
export const applyResponseSchema = z.object({
  version: z.number().int().describe('Config version after the apply (unchanged on a dry run, when nothing changed, and when only Consumers and Subscriptions changed: see `seq`).'),
  seq: z.number().int().optional().describe('Change-feed position of an apply that changed only Consumers and Subscriptions: gateways update them in place, without a new config version (docs/architecture.md, "The change feed").'),
  dryRun: z.boolean(),
  changes: z.array(changeSchema).describe('One entry per submitted resource (and per pruned one).'),
});
