import Fastify, { type FastifyInstance } from 'fastify';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { WorkerAnswer } from './messages.js';
import type { WorkerInfo, WorkerSupervisor } from './supervisor.js';

/** How long the primary waits for a worker's answer before leaving it out, ms. */
export const WORKER_ANSWER_MS = 1_500;

/** How long a worker's last readiness answer stands in for one it did not give in time, ms. */
export const STALE_READYZ_MS = 10_000;

/** Facts `/status` reports about the primary. */
export interface PrimaryInfo {
  readonly version: string;
  readonly nodeId: string;
  readonly startedAt: number;
}

type Supervisor = Pick<WorkerSupervisor, 'ask' | 'workers' | 'stopping' | 'restarts'>;

interface ReadyzBody {
  status?: string;
  version?: number | null;
  reason?: string;
}

/**
 * The status listener of a gateway run as several workers (WORKERS > 1). The primary owns the
 * status port, so probes and scrapes see the whole process group rather than whichever worker
 * a connection happened to land on:
 * - `/healthz`: the primary is alive (it restarts dead workers itself).
 * - `/readyz`: 200 while at least one worker serves and none of the serving ones has a reason to
 *   be unready (each worker's own `/readyz` rules); 503 as soon as shutdown begins.
 * - `/status`: the primary's facts, the configuration and stores as a worker reports them, and
 *   every worker (id, pid, ready, config version).
 * - `/metrics`: the sum over workers (prom-client `AggregatorRegistry.aggregate`; gauges declare
 *   their own aggregator, e.g. the config version is the minimum), plus the primary's
 *   `tollgate_workers` and `tollgate_worker_restarts_total`.
 */
export function buildPrimaryStatusApp(supervisor: Supervisor, info: PrimaryInfo, options: { metrics: boolean }): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: false, forceCloseConnections: true });
  /**
   * Each worker's last `/readyz` answer: a worker too busy to answer in time (an event loop
   * saturated by traffic) counts with its answer of the last STALE_READYZ_MS, so readiness does
   * not flap off exactly when the pod is loaded.
   */
  const lastReadyz = new Map<number, { answer: WorkerAnswer; at: number }>();
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (supervisor.stopping) return reply.code(503).send({ status: 'shutting_down' });
    const now = Date.now();
    const answers = (await supervisor.ask('readyz', WORKER_ANSWER_MS)).map(({ worker, answer }) => {
      if (answer !== null) lastReadyz.set(worker.id, { answer, at: now });
      const last = lastReadyz.get(worker.id);
      return { worker, answer: answer ?? (worker.ready && last !== undefined && now - last.at <= STALE_READYZ_MS ? last.answer : null) };
    });
    const live = new Set(answers.map((a) => a.worker.id));
    for (const id of lastReadyz.keys()) if (!live.has(id)) lastReadyz.delete(id);
    const ready = answers.filter((a) => a.answer?.statusCode === 200);
    const unready = answers.find((a) => a.answer !== null && a.answer.statusCode !== 200 && (a.answer.body as ReadyzBody).reason !== undefined && a.worker.ready);
    const workers = { ready: ready.length, total: answers.length };
    if (ready.length === 0 || unready !== undefined) {
      const body = (unready?.answer?.body ?? {}) as ReadyzBody;
      return reply.code(503).send({ status: 'not_ready', ...(body.reason !== undefined ? { reason: body.reason } : {}), version: body.version ?? null, workers });
    }
    return { status: 'ready', version: minVersion(ready.map((a) => a.answer as WorkerAnswer)), workers };
  });
  app.get('/status', async () => {
    const answers = await supervisor.ask('status', WORKER_ANSWER_MS);
    const first = answers.find((a) => a.answer !== null)?.answer?.body as Record<string, unknown> | undefined;
    const workers = answers.map(({ worker, answer }) => workerStatus(worker, answer));
    return {
      version: info.version,
      nodeId: info.nodeId,
      uptimeSeconds: Math.round((Date.now() - info.startedAt) / 1000),
      ready: !supervisor.stopping && workers.some((w) => w.ready),
      shuttingDown: supervisor.stopping,
      config: first?.config ?? { version: null, hash: null, changeSeq: null },
      stores: first?.stores ?? {},
      ...(first?.nodes !== undefined ? { nodes: first.nodes } : {}),
      workers: { count: workers.length, restarts: supervisor.restarts, list: workers },
    };
  });
  if (options.metrics) {
    const own = new Registry();
    new Gauge({
      name: 'tollgate_workers',
      help: 'Gateway worker processes alive, by whether they serve (ready) or are starting.',
      labelNames: ['state'],
      registers: [own],
      collect() {
        const list = supervisor.workers();
        this.set({ state: 'ready' }, list.filter((w) => w.ready).length);
        this.set({ state: 'starting' }, list.filter((w) => !w.ready).length);
      },
    });
    new Counter({
      name: 'tollgate_worker_restarts_total',
      help: 'Gateway workers restarted by the primary after an unexpected exit.',
      registers: [own],
      collect() {
        this.reset();
        this.inc(supervisor.restarts);
      },
    });
    app.get('/metrics', async (_req, reply) => {
      const answers = await supervisor.ask('metrics', WORKER_ANSWER_MS);
      const perWorker = answers.flatMap((a) => (a.answer !== null && Array.isArray(a.answer.body) ? [a.answer.body as object[]] : []));
      const merged = Registry.merge([AggregatorRegistry.aggregate(perWorker), own]);
      return reply.header('content-type', merged.contentType).send(await merged.metrics());
    });
  }
  return app;
}

function minVersion(answers: WorkerAnswer[]): number | null {
  const versions = answers.map((a) => (a.body as ReadyzBody).version).filter((v): v is number => typeof v === 'number');
  return versions.length === 0 ? null : Math.min(...versions);
}

function workerStatus(worker: WorkerInfo, answer: WorkerAnswer | null) {
  const body = (answer?.body ?? null) as { ready?: boolean; nodeId?: string; config?: { version?: number | null } } | null;
  return {
    id: worker.id,
    pid: worker.pid ?? null,
    nodeId: body?.nodeId ?? null,
    ready: worker.ready && body?.ready === true,
    configVersion: body?.config?.version ?? null,
    uptimeSeconds: Math.round((Date.now() - worker.startedAt) / 1000),
    answered: answer !== null,
  };
}
