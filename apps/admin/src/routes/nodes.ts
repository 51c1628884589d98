import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { NodeRecord, NodeRegistry } from '@tollgate/stores';
import { errorResponses } from '../schemas.js';

/** A node is "up" while its heartbeat is at most this many intervals old. */
const STALE_INTERVALS = 3;

const nodeSchema = z.object({
  nodeId: z.string(),
  hostname: z.string(),
  pid: z.number().int(),
  version: z.string().describe('Tollgate version the node runs.'),
  configVersion: z.number().int().nullable().describe('Configuration version the node served at its last heartbeat.'),
  configHash: z.string().nullable(),
  startedAt: z.string(),
  lastSeenAt: z.string(),
  stoppedAt: z.string().nullable().describe('Set when the node shut down cleanly.'),
  status: z.enum(['up', 'stale', 'stopped']).describe('`stale`: no heartbeat for three intervals (a crashed or partitioned node).'),
  inSync: z.boolean().describe('Whether the node serves the current configuration version.'),
});

const querySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('At most this many nodes, newest heartbeat first.'),
});

/**
 * `GET /nodes`: the gateway nodes sharing this database, from their heartbeats (Kong's
 * clustering status): whether each is up and serving the current configuration.
 */
export function register(app: FastifyInstance, nodes: NodeRegistry, heartbeatMs: number, currentVersion: () => Promise<number>, now: () => number = Date.now): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/nodes',
    {
      schema: {
        tags: ['nodes'],
        summary: 'Gateway nodes seen through their heartbeats, and whether they serve the current configuration',
        querystring: querySchema,
        response: { 200: z.object({ configVersion: z.number().int(), items: z.array(nodeSchema) }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const [rows, version] = await Promise.all([nodes.list(request.query.limit), currentVersion()]);
      const staleBefore = now() - STALE_INTERVALS * heartbeatMs;
      const items = rows.map((n: NodeRecord) => ({
        nodeId: n.nodeId,
        hostname: n.hostname,
        pid: n.pid,
        version: n.version,
        configVersion: n.configVersion,
        configHash: n.configHash,
        startedAt: n.startedAt.toISOString(),
        lastSeenAt: n.lastSeenAt.toISOString(),
        stoppedAt: n.stoppedAt?.toISOString() ?? null,
        status: n.stoppedAt !== null ? ('stopped' as const) : n.lastSeenAt.getTime() < staleBefore ? ('stale' as const) : ('up' as const),
        inSync: n.configVersion === version,
      }));
      return reply.header('cache-control', 'no-store').send({ configVersion: version, items });
    },
  );
}
