import type { Server as HttpsServer } from 'node:https';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { createMemoryCounterStore, type CounterStore, type NodeRegistry } from '@tollgate/stores';
import { NodeHeartbeat } from './node-heartbeat.js';
import { targetHealthReport } from './target-health-report.js';
import { PoolRegistry } from '@tollgate/upstream';
import { MemoryCacheStorage, type CacheStorages, type TokenSigner } from '@tollgate/policies';
import type { Dispatcher } from 'undici';
import { ConfigManager } from './config-manager.js';
import { closeGrpcChannels } from './protocols/index.js';
import { brokerPool, closeBrokers } from './messaging/broker-pool.js';
import { registerBrokerMetrics } from './messaging/metrics.js';
import { resolveOptions, type ConfigSource, type GatewayOptions } from './options.js';
import { buildProxyApp, type DrainState, type ProxyApp } from './proxy.js';
import { buildStatusApp } from './status-app.js';
import { HealthChecker } from './health-checker.js';
import { DnsDiscovery } from './discovery/dns-discovery.js';
import { CertificateWatch } from './certificate-expiry.js';
import { createTlsListener } from './tls-server.js';
import { createUpgradeHandler } from './websocket.js';
import { AccessLog } from './access-log.js';
import { GatewayMetrics } from './metrics.js';
import { EventLoopMonitor } from './overload.js';
import type { SpanSink } from './otlp.js';
import type { Meter } from '@tollgate/metering';
import { outboxEvent } from '@tollgate/model';
import type { CompileCache, SelfEndpoints } from '@tollgate/compiler';

/** Inputs of {@link buildGateway}. */
export interface GatewayDeps {
  readonly source: ConfigSource;
  readonly logger: Logger;
  readonly options?: GatewayOptions;
  /**
   * Background reachability probes of the stores (`tollgate_datastore_reachable`, `/status`);
   * run every {@link STORE_PROBE_MS}, never per request.
   */
  readonly storeProbes?: Readonly<Partial<Record<'postgres' | 'redis', () => Promise<boolean>>>>;
  /** Extra readiness check: a reason to answer `/readyz` 503 (e.g. Redis down while a plan fails closed), else null. */
  readonly notReadyReason?: () => string | null;
  /** Version reported by `/status`. */
  readonly version?: string;
  /** Span export (OTLP), when configured: one span per proxied request; shut down on close. */
  readonly spans?: SpanSink;
  /** Shared counters for limits (Redis across nodes); default: in-process. Closed by the caller. */
  readonly counters?: CounterStore;
  /** Clock for limit windows and calendar quotas (tests inject one). */
  readonly now?: () => number;
  /** Response cache storages (`ResponseCache.storages`); default: an in-memory LRU of this gateway. */
  readonly cacheStorages?: CacheStorages;
  /**
   * Usage meter: every routed request is recorded after its response; `close()` flushes it after the
   * drain (so in-flight requests are counted). Started by the caller.
   */
  readonly meter?: Meter | null;
  /** Registry of the nodes sharing the database: this node heartbeats into it and `/status` lists the nodes seen. */
  readonly nodes?: NodeRegistry;
  /** Heartbeat interval into `nodes` (ms); default {@link NODE_HEARTBEAT_MS}. */
  readonly heartbeatMs?: number;
  /** This node's listeners: a snapshot with an Upstream target pointing at one of them is refused (compiler `self_target`). */
  readonly selfEndpoints?: SelfEndpoints;
  /**
   * The compile cache to reload with (default: the gateway's own). `start all` passes the one its
   * admin's validator compiles into, so the reload after an apply reuses the validated Apis.
   */
  readonly compileCache?: CompileCache;
  /** Tollgate's own token issuer (oauth2-token, oauth2-jwks, jwt-auth `issuer: tollgate`); without it those fail closed. */
  readonly tokenSigner?: TokenSigner;
}

/** Default heartbeat interval of a node (ms); a node is "seen" while its heartbeat is at most three intervals old. */
export const NODE_HEARTBEAT_MS = 10_000;

/** Interval of the background store probes (ms). */
export const STORE_PROBE_MS = 5_000;

/** A built (not listening) gateway. */
export interface Gateway {
  /** The data-plane listener (node:http; the stages run in its request handler). */
  readonly proxy: ProxyApp;
  /** The HTTPS listener (same routes; certificate by SNI from the current snapshot). Not listening. */
  readonly tls: HttpsServer;
  /** `/healthz`, `/readyz`, `/status` and `/metrics`. */
  readonly status: FastifyInstance;
  /** The Prometheus metrics, or null when disabled. */
  readonly metrics: GatewayMetrics | null;
  /** The response cache storages the `response-cache` policy uses (tests purge the memory one). */
  readonly cacheStorages: CacheStorages;
  /** Resolves once the first config snapshot is installed. */
  readonly ready: Promise<void>;
  /** Readiness 503, stop accepting, drain in-flight requests (bounded), close pools, stop watching. */
  close(): Promise<void>;
  /** Version of the serving snapshot, -1 before the first. */
  currentVersion(): number;
  /** Change-feed position of the consumers, subscriptions and keys served (null before the first snapshot). */
  currentChangeSeq(): number | null;
}

type Pools = PoolRegistry<Dispatcher & { close(): Promise<void>; destroy(): Promise<void> }>;

/** Builds the data plane without listening: tests use `inject` or listen on port 0. */
export function buildGateway(deps: GatewayDeps): Gateway {
  const options = resolveOptions(deps.options);
  const logger = deps.logger;
  const pools: Pools = new PoolRegistry({ graceMs: options.poolGraceMs });
  // The in-process store is the fail-open fallback while the shared one is unreachable.
  const fallbackCounters = createMemoryCounterStore({ now: deps.now });
  const counters = deps.counters ?? fallbackCounters;
  // One cache storage per gateway, shared by every route and config snapshot.
  const cacheStorages: CacheStorages = deps.cacheStorages ?? { memory: new MemoryCacheStorage(), redis: null };
  // Quota counters the meter re-seeds after Redis lost its data are guarded by its seed marker.
  const quotaGuard = deps.counters !== undefined ? (deps.meter?.quotaGuard() ?? undefined) : undefined;
  // Read at scrape time only, after `manager` exists.
  const metrics: GatewayMetrics | null = options.metrics ? new GatewayMetrics({ consumerLabel: options.metricsConsumerLabel, configVersion: (): number => manager.version }) : null;
  const manager: ConfigManager = new ConfigManager(deps.source, pools, { logger, counters, fallbackCounters, now: deps.now, responseCache: cacheStorages, quotaGuard, limitEvents: metrics ?? undefined, ...(deps.tokenSigner ? { tokenSigner: deps.tokenSigner } : {}), ...(deps.meter ? { unknownKey: (hash: string) => deps.meter?.noteUnknownKey(hash) } : {}) }, logger, options.configPollMs, deps.selfEndpoints, deps.compileCache);
  let shuttingDown = false;
  // Upstream targets with `discovery: dns | srv` follow their DNS records.
  const discovery = new DnsDiscovery({ logger, servers: options.dnsServers, onChange: () => manager.refreshTargets() });
  manager.discovery = discovery;
  if (metrics !== null) manager.onReloadFailure = () => metrics.reloadFailed();
  // Message broker connections of messaging routes (docs/messaging.md), shared by every snapshot.
  brokerPool(pools).logger = logger.child({ component: 'messaging' });
  if (metrics !== null) registerBrokerMetrics(metrics.registry, brokerPool(pools));
  // A file sink is its own asynchronous destination, so access lines never block on a write.
  const accessFile = options.accessLogFile !== '' ? pino.destination({ dest: options.accessLogFile, sync: false, mkdir: true }) : null;
  const accessLogger = accessFile !== null ? pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, accessFile) : logger;
  const accessLog = options.accessLog
    ? new AccessLog(accessLogger, { logQuery: options.logQuery, sensitiveParams: options.sensitiveQueryParams, logHeaders: options.logHeaders, sensitiveHeaders: options.sensitiveHeaders, apiVersions: manager.apiVersions })
    : null;
  const meter = deps.meter ?? null;
  if (meter !== null) {
    meter.setSubscriptionSource(() => manager.subscriptionPlans.current);
    metrics?.watchUsage(meter);
    if (metrics) {
      meter.onEventsWritten((written) => {
        for (const e of written) if (e.type === 'quota.threshold' || e.type === 'quota.exhausted') metrics.quotaAlert(String(e.data.plan), e.type === 'quota.exhausted' ? 100 : Number(e.data.percent));
      });
    }
  }
  const drain: DrainState = { draining: false, refusing: false };
  const spans = deps.spans;
  const monitor = options.maxEventLoopDelayMs > 0 ? new EventLoopMonitor(options.maxEventLoopDelayMs, options.eventLoopSampleMs) : null;
  const overload = monitor === null ? null : { monitor, retryAfterSeconds: Math.max(1, Math.ceil(options.eventLoopSampleMs / 1000)) };
  const proxy = buildProxyApp({ manager, options, logger, accessLog, metrics, meter, drain, spans, overload });
  monitor?.start();
  const tls = createTlsListener(proxy, manager, options);
  // Target transitions reach the event outbox with the usage flush; the latch (upstream, target)
  // makes a target every node sees go down one `upstream.target_down` event.
  const health = new HealthChecker(logger, meter === null ? undefined : (upstream, target, healthy) => {
    const type = healthy ? 'upstream.target_up' : 'upstream.target_down';
    meter.raise(outboxEvent(type, { upstream, target, node: meter.nodeId }), { key: `upstream:${upstream}:${target}`, state: healthy ? 'up' : 'down', initial: 'up' });
  });
  // Certificate expiry warnings reach the outbox with the usage flush (checked at install and hourly).
  const certWatch = meter === null ? null : new CertificateWatch((event) => meter.raise(event));
  const certTimer = certWatch === null ? null : setInterval(() => {
    const snap = manager.current;
    if (snap !== null) certWatch.check(snap.certificates);
  }, 3_600_000);
  certTimer?.unref();
  manager.onInstall = (snapshot) => {
    health.sync(snapshot);
    certWatch?.check(snapshot.certificates);
    tls.apply(snapshot);
    metrics?.install(snapshot, manager.apiVersions.current);
  };
  const onUpgrade = createUpgradeHandler({ manager, options, logger, meter, metrics, accessLog });
  proxy.server.on('upgrade', onUpgrade);
  tls.server.on('upgrade', onUpgrade);
  const stores: Record<string, boolean> = {};
  const probeStores = async (): Promise<void> => {
    for (const [store, probe] of Object.entries(deps.storeProbes ?? {}) as ['postgres' | 'redis', () => Promise<boolean>][]) {
      const ok = await probe().catch(() => false);
      stores[store] = ok;
      metrics?.setDatastoreReachable(store, ok);
    }
  };
  let probeTimer: NodeJS.Timeout | null = null;
  if (deps.storeProbes !== undefined && Object.keys(deps.storeProbes).length > 0) {
    void probeStores();
    probeTimer = setInterval(() => void probeStores(), STORE_PROBE_MS);
    probeTimer.unref();
  }
  const nodeId = options.nodeId !== '' ? options.nodeId : `${hostname()}:${process.pid}`;
  const startedAt = Date.now();
  const version = deps.version ?? '0.1.0';
  const heartbeat =
    deps.nodes === undefined
      ? null
      : new NodeHeartbeat(deps.nodes, { nodeId, version, startedAt, configVersion: () => (manager.current === null ? null : manager.version), configHash: () => manager.current?.hash ?? null, targets: () => (manager.current === null ? [] : targetHealthReport(manager.current.upstreams, Date.now())) }, logger, deps.heartbeatMs ?? NODE_HEARTBEAT_MS);
  const status = buildStatusApp(
    {
      hasSnapshot: () => manager.current !== null,
      shuttingDown: () => shuttingDown,
      currentVersion: () => manager.version,
      currentHash: () => manager.current?.hash ?? null,
      currentChangeSeq: () => manager.changeSeq,
      notReadyReason: deps.notReadyReason,
      stores: () => stores,
      ...(heartbeat !== null ? { nodes: () => heartbeat.seen } : {}),
    },
    metrics,
    { version, nodeId, startedAt },
  );
  manager.start();
  // The first beat reports the config version too once the snapshot is in.
  if (heartbeat !== null) void manager.ready.then(() => heartbeat.start(), () => undefined);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      drain.draining = true;
      monitor?.stop();
      if (probeTimer !== null) clearInterval(probeTimer);
      // Every step below is bounded: a partitioned database answers nothing, and shutdown must not
      // wait for it (the documented order, the drain timeout and the 5 s final flush hold regardless).
      const stoppedBeat = heartbeat?.stop();
      const deadline = Date.now() + options.drainTimeoutMs;
      await manager.stop(STOP_STEP_MS);
      discovery.close();
      health.close();
      if (certTimer !== null) clearInterval(certTimer);
      drain.refusing = true;
      const tlsClosed = new Promise<void>((resolve) => (tls.server.listening ? tls.server.close(() => resolve()) : resolve()));
      tls.server.closeIdleConnections();
      // The listener stops accepting, answers new requests on open connections with 503, closes idle
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
      await closeGrpcChannels(pools, Math.max(0, deadline - Date.now()));
      await closeBrokers(pools);
      await status.close();
      // Every drained request is in the accumulator now: the final usage flush (SIGTERM loses nothing).
      await meter?.close().catch((err: unknown) => logger.error({ err }, 'final usage flush failed'));
      await spans?.shutdown().catch((err: unknown) => logger.warn({ err }, 'span export shutdown failed'));
      // Lines of the last event-loop turn, then end(): it waits for the file to be open, writes what is buffered, then closes it.
      accessLog?.flush();
      if (accessFile !== null) await new Promise<void>((resolve) => (accessFile.once('close', () => resolve()), accessFile.end()));
      if (stoppedBeat !== undefined && !(await settlesWithin(stoppedBeat, STOP_STEP_MS))) logger.warn('could not mark the node as stopped in time (database unreachable?)');
      await fallbackCounters.close();
    })();
    return closing;
  };

  return { proxy, tls: tls.server, status, metrics, cacheStorages, ready: manager.ready, close, currentVersion: () => manager.version, currentChangeSeq: () => manager.changeSeq };
}

/** Bound of the shutdown steps that only tidy up (config watch stop, marking the node stopped), ms. */
const STOP_STEP_MS = 1_000;

/** Whether `work` settles within `ms` (it keeps running either way). */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    // Not unref()ed: while shutdown waits on it, it is what keeps the process alive to finish.
  });
  const done = await Promise.race([work.then(() => true, () => true), timedOut]);
  clearTimeout(timer);
  return done;
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
