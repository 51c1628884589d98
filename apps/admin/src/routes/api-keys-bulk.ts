import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hashApiKey, resourceName } from '@tollgate/model';
import { ConsumersNotFoundError, type NewApiKey } from '@tollgate/stores';
import { auditContext, auditWritten } from '../audit.js';
import type { AdminContext } from '../context.js';
import { ProblemError, type ProblemItem } from '../problem.js';
import { errorResponses, problemSchema } from '../schemas.js';
import { API_KEY_PREFIX, generateApiKey, keyViewSchema, SHOWN_PREFIX, view } from './api-keys.js';
import { readBody } from './body.js';

/** Most keys one bulk request may create: one transaction, one response the client must keep. */
export const MAX_BULK_KEYS = 1_000;

/** `POST /keys/bulk` body. */
export const bulkKeysBodySchema = z.strictObject({
  items: z
    .array(
      z.strictObject({
        consumer: resourceName.describe('Name of an existing Consumer.'),
        name: z.string().min(1).max(64).optional().describe('Label of the key.'),
        expiresAt: z.iso.datetime({ offset: true }).optional().describe('RFC 3339 time after which the key no longer authenticates.'),
      }),
    )
    .min(1)
    .max(MAX_BULK_KEYS)
    .describe(`The keys to create (1..${MAX_BULK_KEYS}), possibly of different consumers.`),
});

const bulkCreatedSchema = z.object({
  version: z.number().int().describe('The config version, unchanged: keys are not config changes (gateways add them to their key index in place).'),
  seq: z.number().int().describe('The change-feed position that carries all the new keys (one position for the whole request).'),
  items: z.array(keyViewSchema.extend({ index: z.number().int().describe('Position of the item in the request.'), key: z.string().describe('The key itself: shown in this response only, never again.') })),
  warning: z.string(),
});

/**
 * `POST /keys/bulk`: many API keys in one transaction and one change-feed position (each gateway
 * adds them to its key index in place, in slices; no config version, no recompile). All or nothing: an unknown consumer or a bad item refuses
 * the whole request and nothing is stored. Only SHA-256 digests are stored; the plaintexts are in
 * this one response.
 */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/keys/bulk',
    {
      schema: {
        tags: ['consumers'],
        summary: `Create up to ${MAX_BULK_KEYS} API keys at once, all or none (the plaintexts are in this response only)`,
        body: bulkKeysBodySchema,
        response: { 201: bulkCreatedSchema, 415: problemSchema, 422: problemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = readBody(bulkKeysBodySchema, request.body);
      const now = Date.now();
      const past: ProblemItem[] = [];
      const expiries = body.items.map((item, i) => {
        if (item.expiresAt === undefined) return undefined;
        const at = new Date(item.expiresAt);
        if (at.getTime() <= now) past.push({ path: `body.items.${i}.expiresAt`, code: 'in_past', message: 'must be in the future' });
        return at;
      });
      if (past.length > 0) throw new ProblemError('INVALID_REQUEST', `expiresAt is in the past (${past[0]?.path}${past.length > 1 ? ` and ${past.length - 1} more` : ''})`, { errors: past });
      const plaintexts = body.items.map(() => generateApiKey());
      const keys: NewApiKey[] = body.items.map((item, i) => {
        const key = plaintexts[i] as string;
        const expiresAt = expiries[i];
        return {
          id: `key_${randomBytes(12).toString('hex')}`,
          consumer: item.consumer,
          hash: hashApiKey(key),
          prefix: key.slice(0, SHOWN_PREFIX),
          last4: key.slice(-4),
          ...(item.name !== undefined ? { name: item.name } : {}),
          ...(expiresAt ? { expiresAt } : {}),
        };
      });
      let created;
      try {
        created = await ctx.apiKeys.createMany(keys, auditContext(request, { kind: 'Consumer' }));
      } catch (e) {
        if (!(e instanceof ConsumersNotFoundError)) throw e;
        // Every item naming a missing consumer, by index, so the client can fix its file in one go.
        const missing = new Set(e.consumers);
        const errors: ProblemItem[] = body.items.flatMap((item, i) => (missing.has(item.consumer) ? [{ path: `body.items.${i}.consumer`, code: 'not_found', message: `Consumer/${item.consumer} does not exist` }] : []));
        throw new ProblemError('UNKNOWN_CONSUMER', `no key was created: ${errors[0]?.path}: ${errors[0]?.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`, { errors });
      }
      auditWritten(request);
      // RFC 9111 §5.2.2.5: no cache may keep the one response that carries the secrets.
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({
          version: created.version,
          seq: created.seq,
          items: created.keys.map((k, index) => ({ index, ...view(k), key: plaintexts[index] as string })),
          warning: `Store these keys now: they are shown only once. Tollgate keeps only their SHA-256 digests (keys start with ${API_KEY_PREFIX}).`,
        });
    },
  );
}
