import type { Server as HttpsServer } from 'node:https';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { PoolRegistry } from '@tollgate/upstream';
import type { Dispatcher } from 'undici';
import { ConfigManager } from './config-manager.js';
import { resolveOptions, type ConfigSource, type GatewayOptions } from './options.js';
import { buildProxyApp } from './proxy.js';
import { buildStatusApp } from './status-app.js';
import { HealthChecker } from './health-checker.js';
import { createTlsListener } from './tls-server.js';
import { createUpgradeHandler } from './websocket.js';

/** Inputs of {@link buildGateway}. */
export interface GatewayDeps {
  readonly source: ConfigSource;
  readonly logger: Logger;
  readonly options?: GatewayOptions;
}

/** A built (not listening) gateway. */
export interface Gateway {
  /** The data-plane app (one catch-all route). */
  readonly proxy: FastifyInstance;
  /** The HTTPS listener (same routes; certificate by SNI from the current snapshot). Not listening. */
  readonly tls: HttpsServer;
  /** `/healthz` and `/readyz`. */
  readonly status: FastifyInstance;
  /** Resolves once the first config snapshot is installed. */
  readonly ready: Promise<void>;
  /** Readiness 503, stop accepting, drain in-flight requests (bounded), close pools, stop watching. */
  close(): Promise<void>;
  /** Version of the serving snapshot, -1 before the first. */
  currentVersion(): number;
}

type Pools = PoolRegistry<Dispatcher & { close(): Promise<void>; destroy(): Promise<void> }>;

/** Builds the data plane without listening: tests use `inject` or listen on port 0. */
export function buildGateway(deps: GatewayDeps): Gateway {
  const options = resolveOptions(deps.options);
  const logger = deps.logger;
  const pools: Pools = new PoolRegistry({ graceMs: options.poolGraceMs });
  const manager = new ConfigManager(deps.source, pools, { logger }, logger, options.configPollMs);
  let shuttingDown = false;
  const proxy = buildProxyApp({ manager, options, logger });
  const tls = createTlsListener(proxy, manager, options);
  const health = new HealthChecker(logger);
  manager.onInstall = (snapshot) => {
    health.sync(snapshot);
    tls.apply(snapshot);
  };
  const onUpgrade = createUpgradeHandler({ manager, options, logger });
  proxy.server.on('upgrade', onUpgrade);
  tls.server.on('upgrade', onUpgrade);
  const status = buildStatusApp({ hasSnapshot: () => manager.current !== null, shuttingDown: () => shuttingDown, currentVersion: () => manager.version });
  manager.start();

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      const deadline = Date.now() + options.drainTimeoutMs;
      await manager.stop();
      health.close();
      const tlsClosed = new Promise<void>((resolve) => (tls.server.listening ? tls.server.close(() => resolve()) : resolve()));
      tls.server.closeIdleConnections();
      // Fastify stops accepting, answers new requests on open connections with 503, closes idle
      // keep-alive sockets and waits for in-flight requests; past the drain timeout, cut them.
      let timer: NodeJS.Timeout | undefined;
      const drained = Promise.all([proxy.close(), tlsClosed]);
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), options.drainTimeoutMs);
        timer.unref();
      });
      if ((await Promise.race([drained.then(() => 'done' as const), timedOut])) === 'timeout') {
        logger.warn({ drainTimeoutMs: options.drainTimeoutMs }, 'drain timeout reached; closing remaining connections');
        proxy.server.closeAllConnections();
        tls.server.closeAllConnections();
        await drained;
      }
      clearTimeout(timer);
      // Upstream exchanges still open (their clients are gone after a cut) get what is left of the budget.
      await pools.closeAll(Math.max(0, deadline - Date.now()));
      await status.close();
    })();
    return closing;
  };

  return { proxy, tls: tls.server, status, ready: manager.ready, close, currentVersion: () => manager.version };
}

/** Where {@link startGateway} listens. */
export interface ListenOptions {
  readonly proxyHost?: string;
  readonly proxyPort: number;
  readonly statusHost?: string;
  readonly statusPort: number;
  /** HTTPS listener port (`PROXY_TLS_PORT`); undefined = no HTTPS listener. */
  readonly tlsPort?: number;
}

/**
 * Builds the gateway and listens: status first (so probes see "not ready"), then the proxy once
 * the first snapshot is installed. Without a logger, writes JSON lines to stdout through an
 * asynchronous destination (no synchronous write per request).
 */
export async function startGateway(deps: Omit<GatewayDeps, 'logger'> & { logger?: Logger }, listen: ListenOptions): Promise<Gateway> {
  const logger = deps.logger ?? pino({ base: { service: 'tollgate-gateway' } }, pino.destination({ dest: 1, sync: false, minLength: 4096 }));
  const gw = buildGateway({ ...deps, logger });
  try {
    await gw.status.listen({ host: listen.statusHost ?? '0.0.0.0', port: listen.statusPort });
    await gw.ready;
    await gw.proxy.listen({ host: listen.proxyHost ?? '0.0.0.0', port: listen.proxyPort });
    if (listen.tlsPort !== undefined) await listenTls(gw, listen.proxyHost ?? '0.0.0.0', listen.tlsPort);
  } catch (err) {
    await gw.close();
    throw err;
  }
  return gw;
}

/** Starts the HTTPS listener of a built gateway (after `ready`, like the plain proxy listener). */
export function listenTls(gw: Gateway, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    gw.tls.once('error', reject);
    gw.tls.listen(port, host, () => {
      gw.tls.off('error', reject);
      resolve();
    });
  });
}
