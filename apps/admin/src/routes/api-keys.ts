import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hashApiKey, resourceName } from '@tollgate/model';
import type { ApiKeyRecord } from '@tollgate/stores';
import { auditContext, auditWritten } from '../audit.js';
import type { AdminContext } from '../context.js';
import { ProblemError } from '../problem.js';
import { errorResponses, problemSchema } from '../schemas.js';
import { readBody } from './body.js';

/** Recognizable prefix of API keys, so secret scanners can find leaked ones. */
export const API_KEY_PREFIX = 'tg_';

/** Characters of a key shown as its prefix: `tg_` and five random characters. */
export const SHOWN_PREFIX = 8;

/** `tg_` + base64url of 32 random bytes: 256 bits, well over the 128 the issue asks for. */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** `POST /consumers/{name}/keys` body. */
export const createKeyBodySchema = z.strictObject({
  name: z.string().min(1).max(64).optional().describe('Label of the key.'),
  expiresAt: z.iso.datetime({ offset: true }).optional().describe('RFC 3339 time after which the key no longer authenticates.'),
});

/** A key as listed: never the secret or its digest. */
export const keyViewSchema = z.object({
  id: z.string().describe('`key_…` for keys issued through the admin API; `config:<name>` for keys declared in the Consumer document.'),
  consumer: z.string(),
  name: z.string().optional(),
  source: z.enum(['api', 'config']).describe('`api`: issued by `POST /consumers/{name}/keys` (revocable there); `config`: declared in `spec.keys` of the Consumer (change the document to remove it).'),
  prefix: z.string().optional().describe('First characters of the key (issued keys only: a declared key is stored as its hash).'),
  last4: z.string().optional().describe('Last four characters of the key (issued keys only).'),
  createdAt: z.string().optional().describe('When the key was issued (issued keys only).'),
  expiresAt: z.string().optional(),
  revokedAt: z.string().optional(),
});

const createdKeySchema = keyViewSchema.extend({
  key: z.string().describe('The key itself: shown in this response only, never again.'),
  warning: z.string(),
});

const keyParams = z.strictObject({ name: resourceName });
const keyIdParams = z.strictObject({ name: resourceName, id: z.string().regex(/^key_[0-9a-f]{1,64}$/, 'must be a key id (key_…)') });

export function view(key: ApiKeyRecord): z.infer<typeof keyViewSchema> {
  return {
    id: key.id,
    consumer: key.consumer,
    ...(key.name !== undefined ? { name: key.name } : {}),
    source: 'api',
    prefix: key.prefix,
    last4: key.last4,
    createdAt: key.createdAt.toISOString(),
    ...(key.expiresAt ? { expiresAt: key.expiresAt.toISOString() } : {}),
    ...(key.revokedAt ? { revokedAt: key.revokedAt.toISOString() } : {}),
  };
}

/** `/consumers/{name}/keys`: issue, list and revoke API keys. */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['consumers'];

  r.post(
    '/consumers/:name/keys',
    {
      schema: {
        tags,
        summary: 'Create an API key (the plaintext is in this response only)',
        params: keyParams,
        body: createKeyBodySchema,
        response: { 201: createdKeySchema, 404: problemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = readBody(createKeyBodySchema, request.body);
      const expiresAt = body.expiresAt === undefined ? undefined : new Date(body.expiresAt);
      if (expiresAt && expiresAt.getTime() <= Date.now()) {
        throw new ProblemError('INVALID_REQUEST', 'expiresAt is in the past', { errors: [{ path: 'body.expiresAt', code: 'in_past', message: 'must be in the future' }] });
      }
      const key = generateApiKey();
      const audit = auditContext(request);
      const { key: stored } = await ctx.apiKeys.create(
        {
          id: `key_${randomBytes(12).toString('hex')}`,
          consumer: request.params.name,
          hash: hashApiKey(key),
          prefix: key.slice(0, SHOWN_PREFIX),
          last4: key.slice(-4),
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(expiresAt ? { expiresAt } : {}),
        },
        audit,
      );
      auditWritten(request);
      // RFC 9111 §5.2.2.5: no cache may keep the one response that carries the secret.
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...view(stored), key, warning: 'Store this key now: it is shown only once. Tollgate keeps only its SHA-256 digest.' });
    },
  );

  r.get(
    '/consumers/:name/keys',
    { schema: { tags, summary: "List a consumer's API keys (no secrets)", params: keyParams, response: { 200: z.object({ items: z.array(keyViewSchema) }), 404: problemSchema, ...errorResponses } } },
    async (request) => {
      const consumer = await ctx.config.get('Consumer', request.params.name);
      if (!consumer) throw new ProblemError('NOT_FOUND', `Consumer/${request.params.name} does not exist`);
      // Keys declared in the document authenticate too: list them, so the listing is complete.
      const declared = ((consumer.resource.spec as { keys?: Array<{ name: string; expiresAt?: string }> }).keys ?? []).map((k) => ({
        id: `config:${k.name}`,
        consumer: request.params.name,
        name: k.name,
        source: 'config' as const,
        ...(k.expiresAt !== undefined ? { expiresAt: k.expiresAt } : {}),
      }));
      return { items: [...declared, ...(await ctx.apiKeys.list(request.params.name)).map(view)] };
    },
  );

  r.delete(
    '/consumers/:name/keys/:id',
    { schema: { tags, summary: 'Revoke an API key (every gateway stops accepting it within a second)', params: keyIdParams, response: { 204: z.null().describe('Revoked.'), 404: problemSchema, ...errorResponses } } },
    async (request, reply) => {
      await ctx.apiKeys.revoke(request.params.name, request.params.id, auditContext(request, { kind: 'Consumer', name: request.params.name }));
      auditWritten(request);
      return reply.code(204).send(null);
    },
  );
}
