import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AdminToken } from '@tollgate/stores';
import { auditContext, auditWritten } from '../audit.js';
import { hashToken } from '../auth.js';
import type { AdminContext } from '../context.js';
import { errorResponses, problemSchema } from '../schemas.js';
import { readBody } from './body.js';

/** Admin-token prefix, so a leaked token is recognizable by secret scanners. */
export const ADMIN_TOKEN_PREFIX = 'tgadm_';

/** `POST /admin-tokens` body. */
export const createTokenBodySchema = z.strictObject({
  name: z.string().min(1).max(64).describe('Who or what uses the token (shown in the audit log).'),
  role: z.enum(['admin', 'operator', 'viewer', 'billing']).describe('admin: everything; operator: configuration and keys; viewer: read configuration; billing: consumers and billing data.'),
});

/** A token as listed: never the secret or its digest. */
export const tokenViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
});

const createdTokenSchema = tokenViewSchema.extend({ token: z.string().describe('The token itself: shown in this response only.'), warning: z.string() });

function view(t: AdminToken): z.infer<typeof tokenViewSchema> {
  return { id: t.id, name: t.name, role: t.role, createdAt: t.createdAt.toISOString(), ...(t.revokedAt ? { revokedAt: t.revokedAt.toISOString() } : {}) };
}

/** `/admin-tokens`: issue, list and revoke admin-API tokens (role admin only). */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin-tokens'];

  r.post(
    '/admin-tokens',
    { schema: { tags, summary: 'Create an admin token (the plaintext is in this response only)', body: createTokenBodySchema, response: { 201: createdTokenSchema, ...errorResponses } } },
    async (request, reply) => {
      const body = readBody(createTokenBodySchema, request.body);
      const token = ADMIN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
      const stored = await ctx.tokens.insert({ id: `atk_${randomBytes(8).toString('hex')}`, name: body.name, role: body.role, hash: hashToken(token) }, auditContext(request));
      auditWritten(request);
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...view(stored), token, warning: 'Store this token now: it is shown only once. Tollgate keeps only its SHA-256 digest.' });
    },
  );

  r.get('/admin-tokens', { schema: { tags, summary: 'List admin tokens (no secrets)', response: { 200: z.object({ items: z.array(tokenViewSchema) }), ...errorResponses } } }, async () => ({
    items: (await ctx.tokens.list()).map(view),
  }));

  r.delete(
    '/admin-tokens/:id',
    {
      schema: {
        tags,
        summary: 'Revoke an admin token (effective on the next request)',
        params: z.strictObject({ id: z.string().regex(/^atk_[A-Za-z0-9_]{1,64}$/, 'must be a token id (atk_…)') }),
        response: { 204: z.null().describe('Revoked.'), 404: problemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      await ctx.tokens.revoke(request.params.id, auditContext(request));
      auditWritten(request);
      return reply.code(204).send(null);
    },
  );
}
