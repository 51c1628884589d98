import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { resourceName } from '@tollgate/model';
import { ProblemError } from '../problem.js';
import { errorResponses, problemSchema } from '../schemas.js';

/** What to purge (the same shape as the gateway's `PurgeTarget`). */
export type CachePurgeTarget = { readonly all: true } | { readonly api: string; readonly route?: string } | { readonly id: string };

/**
 * Purges response caches on every gateway (`ResponseCache.purge` of @tollgate/gateway): Redis
 * entries are deleted by the admin process itself, in-memory ones by a broadcast every gateway
 * listens to (Redis pub/sub, else Postgres NOTIFY, else in-process).
 */
export interface CachePurger {
  purge(target: CachePurgeTarget): Promise<{ readonly redisKeysDeleted: number | null; readonly broadcast: string }>;
}

const outcome = z.object({
  purged: z.union([z.object({ all: z.literal(true) }), z.object({ api: z.string(), route: z.string().optional() }), z.object({ id: z.string() })]).describe('What was purged.'),
  redisKeysDeleted: z.number().int().nullable().describe('Entries deleted from Redis storage (null: no Redis configured).'),
  broadcast: z.string().describe('How gateways were told to purge their in-memory caches: `redis` (pub/sub), `postgres` (NOTIFY) or `process` (embedded, same process).'),
});

const keyId = z.string().regex(/^[0-9a-f]{64}$/, 'must be the 64 hex characters of an X-Cache-Key');

/**
 * `DELETE /cache`, `DELETE /cache/apis/{api}`, `DELETE /cache/apis/{api}/routes/{route}` and
 * `DELETE /cache/keys/{key}`: purge the `response-cache` policy's entries, everywhere. Answers 202:
 * Redis entries are gone when it answers; in-memory ones as soon as each gateway receives the
 * broadcast (normally within milliseconds; a gateway disconnected at that moment keeps its entries
 * until their TTL).
 */
export function register(app: FastifyInstance, purger: CachePurger | undefined): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const purge = async (target: CachePurgeTarget) => {
    if (purger === undefined) throw new ProblemError('UNAVAILABLE', 'this admin process has no response cache configured');
    let o: Awaited<ReturnType<CachePurger['purge']>>;
    try {
      o = await purger.purge(target);
    } catch (err) {
      throw new ProblemError('UNAVAILABLE', `the purge could not be carried out: ${(err as Error).message}`);
    }
    return { purged: target, redisKeysDeleted: o.redisKeysDeleted, broadcast: o.broadcast };
  };
  const response = { 202: outcome, ...errorResponses };
  r.delete('/cache', { schema: { tags: ['cache'], summary: 'Purge every cached response on every gateway', response } }, async (_request, reply) => reply.code(202).send(await purge({ all: true })));
  r.delete(
    '/cache/apis/:api',
    { schema: { tags: ['cache'], summary: "Purge one API's cached responses", params: z.strictObject({ api: resourceName }), response } },
    async (request, reply) => reply.code(202).send(await purge({ api: request.params.api })),
  );
  r.delete(
    '/cache/apis/:api/routes/:route',
    { schema: { tags: ['cache'], summary: "Purge one route's cached responses", params: z.strictObject({ api: resourceName, route: resourceName }), response } },
    async (request, reply) => reply.code(202).send(await purge({ api: request.params.api, route: request.params.route })),
  );
  r.delete(
    '/cache/keys/:key',
    { schema: { tags: ['cache'], summary: 'Purge one cached response by its X-Cache-Key', params: z.strictObject({ key: keyId }), response } },
    async (request, reply) => reply.code(202).send(await purge({ id: request.params.key })),
  );
}
