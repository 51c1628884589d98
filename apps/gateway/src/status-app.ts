import Fastify, { type FastifyInstance } from 'fastify';

/** What the status app reports on. */
export interface StatusProbe {
  /** A snapshot is serving. */
  hasSnapshot(): boolean;
  /** close() has begun. */
  shuttingDown(): boolean;
  currentVersion(): number;
}

/**
 * Liveness and readiness on a separate port, so probes never compete with proxied traffic and
 * never match an API route. `/readyz` is 503 until a snapshot serves (as Kong's
 * `/status/ready`) and again from the moment shutdown starts, so load balancers drain first.
 */
export function buildStatusApp(probe: StatusProbe): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: false, forceCloseConnections: true });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (probe.shuttingDown()) return reply.code(503).send({ status: 'shutting_down', version: probe.currentVersion() });
    if (!probe.hasSnapshot()) return reply.code(503).send({ status: 'not_ready', version: null });
    return { status: 'ready', version: probe.currentVersion() };
  });
  return app;
}
