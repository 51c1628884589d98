import { hostname } from 'node:os';
import { buildPrimaryStatusApp, WorkerSupervisor } from '@tollgate/gateway';
import { createLogger, nextSignal, startTollgate, type RunningTollgate, type StartOptions } from './start.js';
import type { Settings } from './start-settings.js';

/** Time a stopped worker gets beyond the drain for its final usage flush and stores, ms. */
const WORKER_STOP_MARGIN_MS = 15_000;

/**
 * The primary process of `WORKERS` > 1: forks the gateway workers (node:cluster, sharing the
 * proxy ports), restarts a crashed one, owns the status port (readiness, status and metrics over
 * every worker), runs the admin API itself for role `all`, and on SIGTERM/SIGINT turns unready,
 * stops the workers (each drains and flushes its usage) and exits.
 */
export async function runPrimary(options: StartOptions, settings: Settings): Promise<void> {
  // The embedded PGlite store belongs to one process; several would corrupt its data directory.
  if (!settings.DATABASE_URL) throw new Error(`WORKERS=${settings.WORKERS} needs DATABASE_URL: the embedded store (PGlite) serves one process only`);
  const log = createLogger(settings, { role: options.role, process: 'primary', pid: process.pid });
  if (!settings.REDIS_URL) log.warn({ workers: settings.WORKERS }, 'REDIS_URL is unset: each worker counts rate limits and quotas on its own (set REDIS_URL to share them)');
  const supervisor = new WorkerSupervisor({ count: settings.WORKERS, logger: log, stopTimeoutMs: settings.DRAIN_TIMEOUT_MS + WORKER_STOP_MARGIN_MS });
  const status = buildPrimaryStatusApp(supervisor, { version: '0.1.0', nodeId: settings.NODE_ID || `${hostname()}:${process.pid}`, startedAt: Date.now() }, { metrics: settings.METRICS });
  const signalled = nextSignal().then(() => 'signal' as const);
  let admin: RunningTollgate | null = null;
  const stopAll = async () => {
    await supervisor.stop();
    await admin?.stop();
    await status.close();
  };
  try {
    // Probes see "not ready" from the first moment (no worker serves yet).
    await status.listen({ host: settings.STATUS_HOST, port: settings.STATUS_PORT });
    if ((await Promise.race([supervisor.start().then(() => 'started' as const), signalled])) === 'signal') {
      await stopAll();
      return;
    }
    if (options.role === 'all') admin = await startTollgate({ role: 'admin', env: options.env });
  } catch (err) {
    await stopAll();
    throw err;
  }
  log.info({ workers: settings.WORKERS, status: `http://${settings.STATUS_HOST}:${settings.STATUS_PORT}` }, 'gateway workers serving');
  await signalled;
  log.info('stopping gateway workers');
  await stopAll();
  log.info('stopped');
}
