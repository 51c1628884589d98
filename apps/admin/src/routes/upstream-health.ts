import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { NodeRecord, NodeRegistry } from '@tollgate/stores';
import { errorResponses } from '../schemas.js';

/** Nodes count while their heartbeat is at most this many intervals old (as GET /nodes' "up"). */
const STALE_INTERVALS = 3;

const nodeViewSchema = z.object({
  nodeId: z.string(),
  activeHealthy: z.boolean().describe('Active health checks pass (or none are configured).'),
  ejectedUntil: z.string().nullable().describe('End of a running passive ejection (outlier detection), RFC 3339; null when not ejected.'),
  consecutiveErrors: z.number().int().describe('5xx answers or connection failures in a row on live traffic.'),
  inflight: z.number().int().describe('Requests in flight to the target from this node.'),
  maxInflight: z.number().int().describe('Circuit-breaker limit of requests in flight per target; at the limit further requests are refused (503).'),
});

const targetSchema = z.object({
  upstream: z.string(),
  target: z.string().describe('Origin of the target (`http://host:port`).'),
  status: z.enum(['healthy', 'degraded', 'unhealthy']).describe('`healthy`: every reporting node sends it traffic; `unhealthy`: none does; `degraded`: some do (health is checked per node).'),
  circuit: z.enum(['closed', 'open']).describe('`open` when a node has as many requests in flight as the circuit-breaker limit allows, so it refuses more.'),
  nodes: z.array(nodeViewSchema).describe('What each up node reported at its last heartbeat.'),
});

export const upstreamHealthResponseSchema = z.object({
  reportedAt: z.string().nullable().describe('Newest heartbeat the answer is built from (null: no node up).'),
  nodes: z.number().int().describe('Up gateway nodes that reported target health.'),
  items: z.array(targetSchema).describe('Every target of every upstream, by upstream then target.'),
});

type TargetView = z.infer<typeof targetSchema>;

/**
 * Merges the target reports of the up nodes: a target is healthy when every node may send it
 * traffic (actively healthy and not ejected), unhealthy when none may, degraded in between.
 */
export function mergeTargetHealth(nodes: readonly NodeRecord[], now: number): z.infer<typeof upstreamHealthResponseSchema> {
  const byKey = new Map<string, TargetView>();
  let reporting = 0;
  let newest: Date | null = null;
  for (const n of nodes) {
    if (n.targets === undefined) continue;
    reporting++;
    if (newest === null || n.lastSeenAt > newest) newest = n.lastSeenAt;
    for (const t of n.targets) {
      const key = `${t.upstream}\n${t.target}`;
      const view = byKey.get(key) ?? { upstream: t.upstream, target: t.target, status: 'healthy' as const, circuit: 'closed' as const, nodes: [] };
      // An ejection that has ended since the heartbeat no longer counts.
      const ejectedUntil = t.ejectedUntil !== null && Date.parse(t.ejectedUntil) > now ? t.ejectedUntil : null;
      view.nodes.push({ nodeId: n.nodeId, activeHealthy: t.activeHealthy, ejectedUntil, consecutiveErrors: t.consecutiveErrors, inflight: t.inflight, maxInflight: t.maxInflight });
      byKey.set(key, view);
    }
  }
  const items = [...byKey.values()].sort((a, b) => (a.upstream === b.upstream ? a.target.localeCompare(b.target) : a.upstream.localeCompare(b.upstream)));
  for (const item of items) {
    const serving = item.nodes.filter((v) => v.activeHealthy && v.ejectedUntil === null).length;
    item.status = serving === item.nodes.length ? 'healthy' : serving === 0 ? 'unhealthy' : 'degraded';
    item.circuit = item.nodes.some((v) => v.inflight >= v.maxInflight) ? 'open' : 'closed';
  }
  return { reportedAt: newest?.toISOString() ?? null, nodes: reporting, items };
}

/**
 * `GET /upstream-health`: the health and circuit state of every upstream target, as the up
 * gateway nodes reported it on their last heartbeat (no probe is run by the admin process).
 */
export function register(app: FastifyInstance, registry: NodeRegistry, heartbeatMs: number, now: () => number = Date.now): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/upstream-health',
    {
      schema: {
        tags: ['nodes'],
        summary: 'Health and circuit state of every upstream target, as the gateway nodes report it',
        response: { 200: upstreamHealthResponseSchema, ...errorResponses },
      },
    },
    async (_request, reply) => {
      const at = now();
      const nodes = await registry.seenSince(new Date(at - STALE_INTERVALS * heartbeatMs));
      return reply.header('cache-control', 'no-store').send(mergeTargetHealth(nodes, at));
    },
  );
}
