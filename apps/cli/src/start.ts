import cluster from 'node:cluster';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { buildAdmin, createCompilerValidator, EventRetention, parseCidrs, WebhookDispatcher, withWebhookUrlCheck, type LocalDataPlane, type OutboundPolicy } from '@tollgate/admin';
import { BillingExportScheduler } from '@tollgate/billing';
import { CompileCache, type SelfEndpoints } from '@tollgate/compiler';
import { selfEndpoints } from './self-endpoints.js';
import { announceWorkerReady, buildGateway, listenTls, loadOtlpSpanSink, ResponseCache, serveWorkerLink, StoreTokenSigner } from '@tollgate/gateway';
import type { Resource } from '@tollgate/model';
import {
  createMemoryCounterStore,
  createPgliteStores,
  createPostgresStores,
  createRedisCounterStore,
  parseRedisUrl,
  SqlSigningKeyStore,
  type AdminToken,
  type AdminTokenStore,
  type ConfigStore,
  type CounterStore,
  type NodeRegistry,
  type PostgresTimeouts,
} from '@tollgate/stores';
import { prettyDestination, usePretty } from './pretty-log.js';
import { createPortalAccounts, portalEnabled, startPortalListener, type PortalParts } from './start-portal.js';
import { loadSettings, type Settings } from './start-settings.js';
import { semiSpaceMiB } from './node-flags.js';

/** Longest access-token lifetime the oauth2-token policy allows (its `tokenTtlSec` maximum), in ms: how long a key stays published after it stopped signing. */
const OAUTH_MAX_TOKEN_TTL_MS = 3_600_000;
import type { Database } from '@tollgate/db';
import { createMeterRedis, Meter } from '@tollgate/metering';

/** Which parts of Tollgate this process runs. */
export type StartRole = 'all' | 'gateway' | 'admin';

export interface StartOptions {
  role: StartRole;
  env?: NodeJS.ProcessEnv;
  /**
   * This process is one gateway worker of several (WORKERS > 1, node:cluster): it runs only the
   * data plane, leaves the status port to the primary and answers its queries over IPC instead.
   */
  worker?: boolean;
}

/** What a started Tollgate process holds, so tests and signal handlers can stop it. */
export interface RunningTollgate {
  settings: Settings;
  /** Stops accepting, drains in-flight requests, closes stores. Idempotent. */
  stop(): Promise<void>;
}

/** A part of the process to stop on shutdown, in reverse start order. */
interface Closer {
  name: string;
  close: () => Promise<void>;
  /** Backstop: past this many ms shutdown moves on to the next part (default PART_CLOSE_MS). */
  deadlineMs?: number;
}

/** How long start-up waits for a first Redis connection before going on without it. */
const REDIS_STARTUP_WAIT_MS = 2_000;

/** Admin-token prefix, so a leaked token is recognizable by secret scanners. */
const ADMIN_TOKEN_PREFIX = 'tgadm_';

/**
 * The set validator the admin API runs inside every apply: the gateway's own compiler, told the
 * listeners of this deployment (from this process's settings, which gateways normally share) so
 * that targets pointing back at the gateway or the admin are refused at apply. It keeps the
 * compiled Apis between applies and compiles in slices (see createCompilerValidator), in `cache`.
 */
function setValidator(self: SelfEndpoints, cache: CompileCache) {
  return createCompilerValidator(self, cache);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * ADMIN_TOKEN is accepted as an admin without being stored, so rotating the variable revokes
 * the old value at the next restart.
 */
function withEnvironmentToken(inner: AdminTokenStore, token: string | undefined): AdminTokenStore {
  if (token === undefined) return inner;
  const envHash = sha256(token);
  const envToken: AdminToken = { id: 'atk_env', name: 'ADMIN_TOKEN', role: 'admin', hash: envHash, createdAt: new Date(0) };
  return {
    insert: (t, audit) => inner.insert(t, audit),
    findByHash: async (hash) => (hash === envHash ? envToken : inner.findByHash(hash)),
    countActive: async () => (await inner.countActive()) + 1,
    list: () => inner.list(),
    revoke: (id, audit) => inner.revoke(id, audit),
  };
}

/**
 * First start without ADMIN_TOKEN: generate a token, store only its hash, and print it once on
 * the terminal (never through the logger, whose lines may be shipped elsewhere).
 */
async function bootstrapAdminToken(tokens: AdminTokenStore, settings: Settings, log: Logger): Promise<void> {
  if (settings.ADMIN_TOKEN !== undefined) return;
  if ((await tokens.countActive()) > 0) {
    log.info({ adminHost: settings.adminHost }, 'admin API requires the admin token printed at first start (or set ADMIN_TOKEN)');
    return;
  }
  const token = ADMIN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  await tokens.insert({ id: `atk_${randomBytes(8).toString('hex')}`, name: 'bootstrap', role: 'admin', hash: sha256(token) });
  process.stdout.write(
    `\n  Tollgate generated an admin token. It is shown only this once; store it now:\n\n    ${token}\n\n` +
      `  Use it as: Authorization: Bearer <token> (or TOLLGATE_ADMIN_TOKEN for the CLI).\n` +
      `  The admin API listens on ${settings.adminHost} only until you set ADMIN_TOKEN.\n\n`,
  );
}

/** The deadlines of every Postgres session, from `DATABASE_*_MS`. */
function databaseTimeouts(settings: Settings): PostgresTimeouts {
  return { connectMs: settings.DATABASE_CONNECT_TIMEOUT_MS, statementMs: settings.DATABASE_STATEMENT_TIMEOUT_MS, queryMs: settings.DATABASE_QUERY_TIMEOUT_MS, keepAliveMs: settings.DATABASE_KEEPALIVE_MS };
}

/**
 * Waits for `work` at most `ms`: shutdown must end whatever a store does (a partitioned Postgres
 * answers nothing). Each part bounds its own waits; this is the backstop. True when it finished.
 */
async function withDeadline(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    // Not unref()ed: while shutdown waits on it, it is what keeps the process alive to finish.
  });
  try {
    return await Promise.race([work.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Backstop deadline of closing a part that has no bound of its own, and of closing the stores, ms. */
const PART_CLOSE_MS = 5_000;

async function openStores(settings: Settings, log: Logger, handOff: boolean) {
  if (settings.DATABASE_URL) {
    log.info({ store: 'postgres' }, 'config store: Postgres');
    return createPostgresStores({ url: settings.DATABASE_URL, timeouts: databaseTimeouts(settings), listenPingMs: settings.DATABASE_LISTEN_PING_MS, feedRetentionMs: settings.FEED_RETENTION_MS, handOff });
  }
  mkdirSync(settings.dataDir, { recursive: true });
  const dataDir = join(settings.dataDir, 'pgdata');
  log.info({ store: 'pglite', dataDir }, 'config store: embedded PGlite (set DATABASE_URL for Postgres)');
  return createPgliteStores({ dataDir, feedRetentionMs: settings.FEED_RETENTION_MS, handOff });
}

async function openCounters(settings: Settings, log: Logger): Promise<CounterStore> {
  if (!settings.REDIS_URL) {
    log.info({ store: 'memory' }, 'counter store: in-process (set REDIS_URL for Redis)');
    return createMemoryCounterStore();
  }
  // A Redis that is down at boot must not keep the gateway down: it reconnects in the background.
  const counters = await createRedisCounterStore({ url: settings.REDIS_URL, keyPrefix: settings.REDIS_KEY_PREFIX, waitForConnection: false, commandTimeoutMs: settings.REDIS_COMMAND_TIMEOUT_MS });
  // A ping sent while the connection is still being set up fails (no offline queue), which
  // said "not reachable" about a Redis that was merely connecting: wait briefly for it instead.
  const client = counters.client;
  const ready = client.status === 'ready' || (await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, REDIS_STARTUP_WAIT_MS);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    client.once('ready', onReady);
  }));
  // One server, Sentinel or Cluster (docs/redis.md); never the URL itself, which may hold a password.
  const mode = parseRedisUrl(settings.REDIS_URL).mode;
  if (ready) {
    log.info({ store: 'redis', mode, reachable: true }, 'counter store: Redis');
  } else {
    log.warn({ store: 'redis', mode, reachable: false, status: client.status }, `counter store: Redis not connected after ${REDIS_STARTUP_WAIT_MS / 1000} s; retrying in the background`);
    client.once('ready', () => log.info({ store: 'redis', reachable: true }, 'counter store: Redis connected'));
  }
  return counters;
}

/** Starts the gateway, the admin API, or both, on the stores the environment names. */
export async function startTollgate(options: StartOptions): Promise<RunningTollgate> {
  const settings = loadSettings(options.env);
  const worker = options.worker === true && cluster.worker !== undefined ? cluster.worker.id : null;
  const log = createLogger(settings, worker === null ? { role: options.role } : { role: options.role, worker, pid: process.pid });
  // The admin and a data plane in one process (`start all`, no workers): the data plane's reload
  // after an apply takes the committed set from the store instead of reading it back (#16).
  const stores = await openStores(settings, log, options.role === 'all' && worker === null);
  const counters = await openCounters(settings, log);
  const closers: Closer[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // Reverse start order: stop taking traffic first, close stores last.
      const began = Date.now();
      for (const { name, close, deadlineMs } of closers.reverse()) {
        try {
          if (await withDeadline(close(), deadlineMs ?? PART_CLOSE_MS)) log.debug({ part: name, elapsedMs: Date.now() - began }, 'stopped');
          else log.error({ part: name, deadlineMs: deadlineMs ?? PART_CLOSE_MS }, 'part did not stop in time; shutting down anyway');
        } catch (err) {
          log.error({ err, part: name }, 'error while stopping');
        }
      }
      await withDeadline(counters.close().catch(() => undefined), PART_CLOSE_MS);
      // Bounded inside too: the LISTEN session and the pool destroy sockets the server does not release.
      if (!(await withDeadline(stores.close().catch(() => undefined), PART_CLOSE_MS))) log.error({ part: 'stores' }, 'stores did not close in time; shutting down anyway');
      log.info({ elapsedMs: Date.now() - began }, 'stopped');
    })();
    return stopping;
  };
  // The response cache's storages and purge path: gateways hold the caches, the admin purges them.
  const cache = new ResponseCache({
    redisUrl: settings.REDIS_URL,
    databaseUrl: settings.DATABASE_URL,
    databaseTimeouts: databaseTimeouts(settings),
    keyPrefix: settings.CACHE_KEY_PREFIX,
    memory: { maxEntries: settings.CACHE_MEMORY_MAX_ENTRIES, maxBytes: settings.CACHE_MEMORY_MAX_BYTES },
    logger: log.child({ component: 'response-cache' }),
  });
  closers.push({ name: 'response-cache', close: () => cache.close() });
  try {
    // One compile cache for the data plane and the admin's validator when both run here (`start
    // all`): the reload after an apply reuses every Api the validation compiled, rather than
    // compiling them again and keeping a second copy (#16: about 55 MB for 10,000 Apis).
    const compileCache = new CompileCache();
    const localDataPlane = options.role !== 'admin' ? await startDataPlane(stores.config, counters, settings, log, closers, stores.nodes, stores.db, cache, options.role, worker, compileCache) : undefined;
    // A worker is only a data plane: the primary runs the admin API of role `all`.
    if (options.role !== 'gateway' && worker === null) {
      const tokens = withEnvironmentToken(stores.tokens, settings.ADMIN_TOKEN);
      await bootstrapAdminToken(tokens, settings, log);
      const self = selfEndpoints(settings, ['proxy', 'status', 'admin']);
      const outbound: OutboundPolicy = { allowPrivate: settings.WEBHOOK_ALLOW_PRIVATE, allow: parseCidrs(settings.WEBHOOK_ALLOW_CIDRS), ownPorts: new Set(self.ports.keys()) };
      const validate = withWebhookUrlCheck(setValidator(self, compileCache), outbound);
      const portalParts: PortalParts = { store: stores.portal, config: stores.config, validate, apiKeys: stores.apiKeys, oauthClients: stores.oauthClients, audit: stores.audit, counters, db: stores.db };
      const portal = portalEnabled(settings) ? createPortalAccounts(settings, portalParts, log) : undefined;
      if (portal) closers.push({ name: 'portal-mail', close: async () => portal.close() });
      const admin = await buildAdmin({ ...(portal ? { portal: portal.accounts } : {}), ...(localDataPlane ? { localDataPlane } : {}), config: stores.config, tokens, apiKeys: stores.apiKeys, oauthClients: stores.oauthClients, audit: stores.audit, validate, counters, cache, db: stores.db, nodes: { registry: stores.nodes, heartbeatMs: settings.NODE_HEARTBEAT_MS }, bodyLimit: settings.ADMIN_BODY_LIMIT_BYTES, maxDocuments: settings.ADMIN_MAX_DOCUMENTS, consoleSessions: { idleMs: settings.CONSOLE_SESSION_IDLE_MS, absoluteMs: settings.CONSOLE_SESSION_MAX_MS }, trustedProxies: settings.TRUSTED_PROXIES, logger: log.child({ component: 'admin' }) });
      await admin.listen({ host: settings.adminHost, port: settings.ADMIN_PORT });
      // Fastify waits for in-flight admin requests (each bounded by the database deadlines); past the
      // drain timeout their connections are cut.
      closers.push({
        name: 'admin',
        deadlineMs: settings.DRAIN_TIMEOUT_MS + 1_000,
        close: async () => {
          const closed = admin.close();
          if (!(await withDeadline(closed, settings.DRAIN_TIMEOUT_MS))) admin.server.closeAllConnections();
          await closed;
        },
      });
      log.info({ address: `http://${settings.adminHost}:${settings.ADMIN_PORT}` }, 'admin API listening');
      if (portal) {
        const closePortal = await startPortalListener(settings, portal.accounts, portalParts, log);
        closers.push({ name: 'portal', deadlineMs: settings.DRAIN_TIMEOUT_MS + 1_000, close: closePortal });
      }
      if (settings.WEBHOOKS) {
        // Every admin process runs one; SKIP LOCKED claims and leases share the outbox between them.
        const dispatcher = new WebhookDispatcher({
          db: stores.db,
          policy: outbound,
          pollMs: settings.WEBHOOK_POLL_MS,
          timeoutMs: settings.WEBHOOK_TIMEOUT_MS,
          retry: { baseMs: settings.WEBHOOK_RETRY_BASE_MS, maxMs: settings.WEBHOOK_RETRY_MAX_MS, horizonMs: settings.WEBHOOK_RETRY_HORIZON_MS },
          log: log.child({ component: 'webhooks' }),
        });
        dispatcher.start();
        closers.push({ name: 'webhooks', deadlineMs: settings.WEBHOOK_TIMEOUT_MS + 1_000, close: () => dispatcher.stop() });
      }
      // Runs whether or not this process dispatches webhooks (events are written either way); an
      // advisory lock per batch keeps several admin processes from doing the same deletions.
      // Embedded PGlite runs each statement on this event loop, shared with the data plane: smaller
      // batches there (100 events: about 6 ms of CPU each against about 30 ms for 1000,
      // docs/benchmarks.md "Event retention").
      const retention = new EventRetention({ db: stores.db, retentionMs: settings.EVENT_RETENTION_MS, ...(settings.DATABASE_URL ? {} : { batch: 100 }), log: log.child({ component: 'event-retention' }) });
      retention.start();
      closers.push({ name: 'event-retention', close: () => retention.stop() });
      if (settings.BILLING_EXPORT && settings.BILLING_EXPORT_DIR !== '') {
        // Every admin process runs it; an advisory lock and billing_runs.exported_at make the export happen once.
        const exporter = new BillingExportScheduler({
          db: stores.db,
          loadResources: async () => (await stores.config.load()).resources,
          dir: resolve(settings.BILLING_EXPORT_DIR),
          delayMs: settings.BILLING_EXPORT_DELAY,
          intervalMs: settings.BILLING_EXPORT_INTERVAL,
          log: log.child({ component: 'billing-export' }),
        });
        exporter.start();
        closers.push({ name: 'billing-export', close: () => exporter.stop() });
        log.info({ dir: resolve(settings.BILLING_EXPORT_DIR), delayMs: settings.BILLING_EXPORT_DELAY }, 'billing export scheduled');
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { settings, stop };
}

/** The process logger: JSON lines for log shippers, readable lines on a terminal (LOG_FORMAT). */
export function createLogger(settings: Settings, base: Record<string, string | number>): Logger {
  // Asynchronous stdout: an access-log line per request must not block the event loop on a write.
  // Writes still batch while one is in flight; pino flushes what is buffered when the process exits.
  const destination = usePretty(settings.LOG_FORMAT, process.stdout.isTTY === true) ? prettyDestination() : pino.destination({ dest: 1, sync: false });
  return pino({ level: settings.LOG_LEVEL, base: { service: 'tollgate', ...base } }, destination);
}

/**
 * Node id of this data plane (heartbeat, `/status`): NODE_ID names the machine or pod, so each
 * worker of it gets its own suffix (two nodes with one id would overwrite each other's heartbeat).
 * The metering node id is unique per process regardless (name/pid/random), so usage stays exact.
 */
function dataPlaneNodeId(settings: Settings, worker: number | null): string {
  return settings.NODE_ID !== '' && worker !== null ? `${settings.NODE_ID}-w${worker}` : settings.NODE_ID;
}

async function startDataPlane(config: ConfigStore, counters: CounterStore, settings: Settings, log: Logger, closers: Closer[], nodes: NodeRegistry, db: Database, cache: ResponseCache, role: StartRole, worker: number | null, compileCache: CompileCache): Promise<LocalDataPlane> {
  const nodeId = dataPlaneNodeId(settings, worker);
  // Purges published by the admin process reach this gateway's in-memory cache.
  await cache.listen();
  // Usage metering: counted in memory, flushed every USAGE_FLUSH_MS to the Postgres rollups (and Redis live counters).
  const meterRedis = settings.METERING && settings.REDIS_URL ? createMeterRedis(settings.REDIS_URL) : null;
  const meter = settings.METERING ? new Meter({ db, redis: meterRedis, keyPrefix: settings.REDIS_KEY_PREFIX, intervalMs: settings.USAGE_FLUSH_MS, quotaHoldMs: settings.QUOTA_HOLD_MS, nodeName: nodeId || undefined, logger: log.child({ component: 'metering' }), detectors: { windowMs: settings.EVENT_WINDOW_MS, rateLimitedThreshold: settings.EVENT_RATE_LIMITED_THRESHOLD, errorRateThreshold: settings.EVENT_ERROR_RATE_THRESHOLD, errorRateMinRequests: settings.EVENT_ERROR_RATE_MIN_REQUESTS } }) : null;
  if (meter !== null) {
    meter.start();
    // Pushed before the gateway, so it closes after it: the gateway's close flushes the meter after the drain.
    closers.push({
      name: 'metering',
      close: async () => {
        await meter.close();
        meterRedis?.disconnect();
      },
    });
  }
  // The OpenTelemetry SDK is loaded only when an OTLP endpoint is configured.
  const spans = settings.OTEL_EXPORTER_OTLP_ENDPOINT ? await loadOtlpSpanSink({ endpoint: settings.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: settings.OTEL_SERVICE_NAME, nodeId: nodeId || undefined }) : undefined;
  // Token-signing keys live in the database, so every node (and worker) signs and verifies alike.
  const tokenSigner = new StoreTokenSigner({ store: new SqlSigningKeyStore(db), issuer: settings.OAUTH_ISSUER, rotationMs: settings.OAUTH_KEY_ROTATION_SEC * 1000, maxTokenTtlMs: OAUTH_MAX_TOKEN_TTL_MS, logger: log.child({ component: 'token-signer' }) });
  await tokenSigner.start();
  closers.push({ name: 'token-signer', close: async () => tokenSigner.stop() });
  const gateway = buildGateway({
    tokenSigner,
    source: config,
    counters,
    logger: log.child({ component: 'gateway' }),
    options: {
      configPollMs: settings.CONFIG_POLL_MS,
      drainTimeoutMs: settings.DRAIN_TIMEOUT_MS,
      trustedProxies: settings.TRUSTED_PROXIES,
      metrics: settings.METRICS,
      metricsConsumerLabel: settings.METRICS_CONSUMER_LABEL,
      accessLog: settings.ACCESS_LOG,
      accessLogFile: settings.ACCESS_LOG_FILE,
      logHeaders: settings.LOG_HEADERS,
      sensitiveHeaders: settings.SENSITIVE_HEADERS,
      latencyHeaders: settings.LATENCY_HEADERS,
      maxEventLoopDelayMs: settings.MAX_EVENT_LOOP_DELAY_MS,
      nodeId,
      dnsServers: settings.DNS_SERVERS,
    },
    // Probed in the background (never per request) for tollgate_datastore_reachable and /status.
    storeProbes: {
      ...(settings.DATABASE_URL ? { postgres: () => config.version().then(() => true) } : {}),
      ...(settings.REDIS_URL ? { redis: () => counters.ping() } : {}),
    },
    spans,
    nodes,
    heartbeatMs: settings.NODE_HEARTBEAT_MS,
    meter,
    cacheStorages: cache.storages,
    // Only the listeners of this process: a gateway refuses a snapshot that loops back to it.
    selfEndpoints: selfEndpoints(settings, role === 'all' ? ['proxy', 'status', 'admin'] : ['proxy', 'status']),
    compileCache,
  });
  // The gateway bounds each step itself (drain timeout, 5 s final flush, 1 s for the rest).
  closers.push({ name: 'gateway', deadlineMs: settings.DRAIN_TIMEOUT_MS + 10_000, close: () => gateway.close() });
  // A worker's status is asked by the primary (which owns the status port) over IPC.
  // It keeps answering until the process exits, so the primary sees the worker drain.
  if (worker === null) await gateway.status.listen({ host: settings.STATUS_HOST, port: settings.STATUS_PORT });
  else serveWorkerLink(gateway);
  await gateway.ready;
  // Workers share these sockets: node:cluster's primary accepts and hands connections out.
  await gateway.proxy.listen({ host: settings.PROXY_HOST, port: settings.PROXY_PORT });
  await listenTls(gateway, settings.PROXY_HOST, settings.PROXY_TLS_PORT);
  if (worker !== null) announceWorkerReady();
  log.info({ proxy: `http://${settings.PROXY_HOST}:${settings.PROXY_PORT}`, proxyTls: `https://${settings.PROXY_HOST}:${settings.PROXY_TLS_PORT}`, status: `http://${settings.STATUS_HOST}:${settings.STATUS_PORT}`, configVersion: gateway.currentVersion(), semiSpaceMiB: semiSpaceMiB() ?? 'V8 default' }, 'gateway listening');
  return gateway;
}

/** Runs until SIGTERM/SIGINT, then shuts down gracefully (readiness 503, drain, exit 0). */
export async function runUntilSignal(options: StartOptions): Promise<void> {
  if (cluster.isWorker) return runWorker(options);
  if (options.role !== 'admin') {
    const settings = loadSettings(options.env);
    if (settings.WORKERS > 1) {
      const { runPrimary } = await import('./start-workers.js');
      return runPrimary(options, settings);
    }
  }
  const running = await startTollgate(options);
  await nextSignal();
  await running.stop();
}

/** Resolves at the first SIGTERM or SIGINT (a second one, in a single process, kills as usual). */
export function nextSignal(): Promise<void> {
  return new Promise<void>((resolveSignal) => {
    const onSignal = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolveSignal();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/**
 * One gateway worker: the data plane until SIGTERM from the primary. A worker ignores further
 * signals while it drains (Ctrl-C reaches the whole process group, then the primary's SIGTERM
 * follows): the primary's deadline, not a second signal, bounds its shutdown.
 */
async function runWorker(options: StartOptions): Promise<void> {
  const running = await startTollgate({ ...options, worker: true });
  await nextSignal();
  const ignore = () => undefined;
  process.on('SIGTERM', ignore);
  process.on('SIGINT', ignore);
  await running.stop();
}
