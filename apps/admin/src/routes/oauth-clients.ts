import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hashApiKey, resourceName } from '@tollgate/model';
import type { OAuthClientRecord, OAuthClientStore } from '@tollgate/stores';
import { auditContext, auditWritten } from '../audit.js';
import type { AdminContext } from '../context.js';
import { ProblemError } from '../problem.js';
import { errorResponses, problemSchema } from '../schemas.js';
import { readBody } from './body.js';

/** Recognizable prefix of client secrets, so secret scanners can find leaked ones. */
export const CLIENT_SECRET_PREFIX = 'tgcs_';

const scopeToken = z.string().min(1).max(128).regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token (RFC 6749 §3.3)');

/** `POST /consumers/{name}/oauth-clients` body. */
export const createClientBodySchema = z.strictObject({
  name: z.string().min(1).max(64).optional().describe('Label of the client.'),
  scopes: z.array(scopeToken).max(256).optional().describe("Scopes the client may be granted: a subset of the Consumer's `spec.scopes` (default: all of them)."),
});

/** A client as listed: never the secret or its digest. */
export const clientViewSchema = z.object({
  clientId: z.string().describe('`ocl_…`: the public client id (RFC 6749 §2.2).'),
  consumer: z.string(),
  name: z.string().optional(),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
});

const createdClientSchema = clientViewSchema.extend({
  clientSecret: z.string().describe('The client secret: shown in this response only, never again.'),
  warning: z.string(),
});

const params = z.strictObject({ name: resourceName });
const idParams = z.strictObject({ name: resourceName, id: z.string().regex(/^ocl_[0-9a-f]{1,64}$/, 'must be a client id (ocl_…)') });

function view(c: OAuthClientRecord): z.infer<typeof clientViewSchema> {
  return {
    clientId: c.id,
    consumer: c.consumer,
    ...(c.name !== undefined ? { name: c.name } : {}),
    scopes: c.scopes,
    createdAt: c.createdAt.toISOString(),
    ...(c.revokedAt ? { revokedAt: c.revokedAt.toISOString() } : {}),
  };
}

/** `/consumers/{name}/oauth-clients`: create, list and revoke OAuth clients (client-credentials grant). */
export function register(app: FastifyInstance, ctx: AdminContext, store: OAuthClientStore): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['consumers'];

  r.post(
    '/consumers/:name/oauth-clients',
    {
      schema: {
        tags,
        summary: 'Create an OAuth client (the secret is in this response only)',
        params,
        body: createClientBodySchema,
        response: { 201: createdClientSchema, 404: problemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = readBody(createClientBodySchema, request.body);
      const consumer = await ctx.config.get('Consumer', request.params.name);
      if (!consumer) throw new ProblemError('NOT_FOUND', `Consumer/${request.params.name} does not exist`);
      const allowed = (consumer.resource.spec as { scopes?: string[] }).scopes ?? [];
      const scopes = body.scopes ?? allowed;
      const extra = scopes.filter((s) => !allowed.includes(s));
      if (extra.length > 0) {
        throw new ProblemError('INVALID_REQUEST', `scopes the consumer may not have: ${extra.join(', ')} (add them to the Consumer's spec.scopes first)`, {
          errors: [{ path: 'body.scopes', code: 'scope_not_allowed', message: `not in Consumer/${request.params.name} spec.scopes: ${extra.join(', ')}` }],
        });
      }
      // 256 random bits: a fast digest is enough to store it (no dictionary to guess from).
      const secret = CLIENT_SECRET_PREFIX + randomBytes(32).toString('base64url');
      const { client } = await store.create(
        { id: `ocl_${randomBytes(12).toString('hex')}`, consumer: request.params.name, secretHash: hashApiKey(secret), scopes: [...new Set(scopes)], ...(body.name !== undefined ? { name: body.name } : {}) },
        auditContext(request),
      );
      auditWritten(request);
      // RFC 9111 §5.2.2.5: no cache may keep the one response that carries the secret.
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...view(client), clientSecret: secret, warning: 'Store this secret now: it is shown only once. Tollgate keeps only its SHA-256 digest.' });
    },
  );

  r.get(
    '/consumers/:name/oauth-clients',
    { schema: { tags, summary: "List a consumer's OAuth clients (no secrets)", params, response: { 200: z.object({ items: z.array(clientViewSchema) }), 404: problemSchema, ...errorResponses } } },
    async (request) => {
      if (!(await ctx.config.get('Consumer', request.params.name))) throw new ProblemError('NOT_FOUND', `Consumer/${request.params.name} does not exist`);
      return { items: (await store.list(request.params.name)).map(view) };
    },
  );

  r.delete(
    '/consumers/:name/oauth-clients/:id',
    {
      schema: {
        tags,
        summary: 'Revoke an OAuth client: every gateway stops issuing it tokens, and refuses those it holds, within a second',
        params: idParams,
        response: { 204: z.null().describe('Revoked.'), 404: problemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      await store.revoke(request.params.name, request.params.id, auditContext(request, { kind: 'Consumer', name: request.params.name }));
      auditWritten(request);
      return reply.code(204).send(null);
    },
  );
}
