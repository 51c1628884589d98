import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditEntry } from '@tollgate/stores';
import type { AdminContext } from '../context.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, errorResponses } from '../schemas.js';

/** `GET /audit-log` query. */
export const auditQuerySchema = z.strictObject({
  actor: z.string().min(1).max(128).optional().describe('Token id of the actor (atk_…).'),
  action: z.string().min(1).max(64).optional().describe('Action, e.g. config.apply, api-key.create, auth.failed.'),
  resource: z
    .string()
    .regex(/^[A-Za-z]+(\/[^/]+)?$/, 'must be Kind or Kind/name')
    .optional()
    .describe('Kind (e.g. Consumer) or Kind/name (e.g. Consumer/acme).'),
  from: z.iso.datetime({ offset: true }).optional().describe('Entries at or after this RFC 3339 time.'),
  to: z.iso.datetime({ offset: true }).optional().describe('Entries at or before this RFC 3339 time.'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).describe(`Page size, 1..${MAX_PAGE_SIZE}.`),
  after: z.coerce.number().int().min(1).optional().describe('Cursor: the `next` of the previous page (entries older than it).'),
});

const entrySchema = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.object({ id: z.string(), name: z.string(), role: z.string() }).optional(),
  action: z.string(),
  resourceKind: z.string().optional(),
  resourceName: z.string().optional(),
  requestId: z.string().optional(),
  clientAddress: z.string().optional(),
  outcome: z.enum(['success', 'dry_run', 'denied', 'unauthenticated', 'rejected', 'error']),
  status: z.number().int().optional(),
  detail: z.string().optional(),
  before: z.unknown().optional().describe('Redacted state before the change.'),
  after: z.unknown().optional().describe('Redacted state after the change (or what was submitted, for a refusal).'),
});

function view(e: AuditEntry) {
  return { ...e, at: e.at.toISOString() };
}

/** `GET /audit-log`: newest first, filtered, keyset-paginated (role admin). */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/audit-log',
    {
      schema: {
        tags: ['audit'],
        summary: 'Read the audit log of admin mutations and failed authentications',
        querystring: auditQuerySchema,
        response: { 200: z.object({ items: z.array(entrySchema), next: z.number().int().optional() }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const [kind, ...rest] = q.resource?.split('/') ?? [];
      const page = await ctx.audit.query({
        limit: q.limit,
        ...(q.actor !== undefined ? { actor: q.actor } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(kind !== undefined ? { resourceKind: kind } : {}),
        ...(rest.length > 0 ? { resourceName: rest.join('/') } : {}),
        ...(q.from !== undefined ? { from: new Date(q.from) } : {}),
        ...(q.to !== undefined ? { to: new Date(q.to) } : {}),
        ...(q.after !== undefined ? { before: q.after } : {}),
      });
      if (page.next !== undefined) {
        const params = new URLSearchParams(Object.entries(q).flatMap(([k, v]): Array<[string, string]> => (v === undefined || k === 'after' ? [] : [[k, String(v)]])));
        params.set('after', String(page.next));
        reply.header('link', `</audit-log?${params.toString()}>; rel="next"`);
      }
      return { items: page.items.map(view), ...(page.next !== undefined ? { next: page.next } : {}) };
    },
  );
}
