import Fastify, { type FastifyInstance } from 'fastify';
import type { GatewayMetrics } from './metrics.js';
import type { SeenNode } from './node-heartbeat.js';

/** What the status app reports on. */
export interface StatusProbe {
  /** A snapshot is serving. */
  hasSnapshot(): boolean;
  /** close() has begun. */
  shuttingDown(): boolean;
  currentVersion(): number;
  /** Hash of the serving configuration, or null before the first. */
  currentHash?(): string | null;
  /** Change-feed position the serving consumer, subscription and key indexes are at, or null when not on a feed. */
  currentChangeSeq?(): number | null;
  /** Extra readiness checks (e.g. Redis reachable for fail-closed plans): a reason when not ready, else null. */
  notReadyReason?(): string | null;
  /** Last background probe result of each store (true = reachable). */
  stores?(): Readonly<Record<string, boolean>>;
  /** Gateway nodes sharing this node's database seen recently (from the heartbeat), when a registry is configured. */
  nodes?(): readonly SeenNode[];
}

/** Facts `/status` reports besides the probe's. */
export interface StatusInfo {
  readonly version: string;
  readonly nodeId: string;
  /** Process start (ms since epoch), for the uptime. */
  readonly startedAt: number;
}

/**
 * Liveness, readiness, status and metrics on a separate port, so probes and scrapes never
 * compete with proxied traffic and never match an API route. `/readyz` is 503 until a snapshot
 * serves (as Kong's `/status/ready`), while a readiness hook reports a reason, and again from the
 * moment shutdown starts, so load balancers drain first.
 */
export function buildStatusApp(probe: StatusProbe, metrics: GatewayMetrics | null = null, info: StatusInfo = { version: '0.0.0', nodeId: 'local', startedAt: Date.now() }): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: false, forceCloseConnections: true });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (probe.shuttingDown()) return reply.code(503).send({ status: 'shutting_down', version: probe.currentVersion() });
    if (!probe.hasSnapshot()) return reply.code(503).send({ status: 'not_ready', version: null });
    const reason = probe.notReadyReason?.() ?? null;
    if (reason !== null) return reply.code(503).send({ status: 'not_ready', reason, version: probe.currentVersion() });
    return { status: 'ready', version: probe.currentVersion() };
  });
  app.get('/status', async () => ({
    version: info.version,
    nodeId: info.nodeId,
    uptimeSeconds: Math.round((Date.now() - info.startedAt) / 1000),
    ready: !probe.shuttingDown() && probe.hasSnapshot() && (probe.notReadyReason?.() ?? null) === null,
    shuttingDown: probe.shuttingDown(),
    config: { version: probe.hasSnapshot() ? probe.currentVersion() : null, hash: probe.currentHash?.() ?? null, changeSeq: probe.currentChangeSeq?.() ?? null },
    stores: probe.stores?.() ?? {},
    ...(probe.nodes ? { nodes: { seen: probe.nodes().length, list: probe.nodes() } } : {}),
  }));
  if (metrics !== null) {
    app.get('/metrics', async (_req, reply) => {
      const { contentType, body } = await metrics.scrape();
      return reply.header('content-type', contentType).send(body);
    });
  }
  return app;
}
