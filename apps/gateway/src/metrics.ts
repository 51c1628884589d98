import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AnsweredReply, AnsweredRequest } from './answered.js';
import type { RequestState } from './access-log.js';
import type { RuntimeSnapshot } from './runtime.js';
import type { UsageStats } from '@tollgate/metering';
import { certificateExpiries } from './certificate-expiry.js';
import { CounterFamily, HistogramFamily, type CounterSeries, type HistogramSeries } from './metric-accumulators.js';

/** Label value of `api` and `route` for requests that matched no route (keeps cardinality bounded). */
export const NO_ROUTE = '(none)';

/** Methods that get their own label value; any other method is counted as `OTHER`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** Seconds: from 1 ms to 60 s, dense where API latencies usually are. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Stable error codes of authentication and authorization refusals (policies), the `reason` label. */
export const AUTH_FAILURE_CODES = ['AUTH_REQUIRED', 'INVALID_CREDENTIAL', 'CLAIM_MISMATCH', 'INSUFFICIENT_SCOPE', 'ACL_DENIED'] as const;

/** Options of {@link GatewayMetrics}. */
export interface MetricsOptions {
  /** Add a `consumer` label to `tollgate_http_requests_total` (one series per consumer: mind cardinality). */
  consumerLabel?: boolean;
  /** Also export Node process metrics (`process_*`, `nodejs_*`). Default true. */
  processMetrics?: boolean;
  /** Version of the serving snapshot (-1 before the first), read at scrape time. */
  configVersion?: () => number;
}

type CounterChild = ReturnType<Counter<string>['labels']>;

/**
 * The series of one route, found once so recording a request does no label lookups or hashing.
 * Each is resolved on its first use (a series shows in `/metrics` from its first update, as with
 * prom-client).
 */
interface RouteSeries {
  readonly labels: { api: string; api_version: string; route: string };
  total: HistogramSeries | null;
  upstream: HistogramSeries | null;
  gateway: HistogramSeries | null;
  rateLimited: CounterSeries | null;
  /** By method, then source (0 gateway, 1 upstream), then status code. */
  readonly requests: Map<string, [Map<number, CounterSeries>, Map<number, CounterSeries>]>;
  /** By who cut the response short (client, upstream). */
  readonly aborted: Map<string, CounterSeries>;
  /** By X-Cache result. */
  readonly cache: Map<string, CounterSeries>;
}

/**
 * The gateway's Prometheus metrics, in base units and prefixed `tollgate_`. Per-request metrics
 * are plain numeric accumulators (`metric-accumulators.ts`) that prom-client's registry reads at
 * scrape time; recording a request costs a few Map lookups and additions. A route's series
 * references are cached per route and dropped when a new snapshot is installed (an API version
 * may have changed); the accumulated values stay.
 */
export class GatewayMetrics {
  /** The registry `/metrics` serializes. */
  readonly registry = new Registry();
  readonly #consumerLabel: boolean;
  readonly #requests: CounterFamily;
  readonly #duration: HistogramFamily;
  readonly #upstreamDuration: HistogramFamily;
  readonly #gatewayDuration: HistogramFamily;
  readonly #bytesIn: CounterSeries;
  readonly #bytesOut: CounterSeries;
  readonly #rateLimited: CounterFamily;
  readonly #cache: CounterFamily;
  readonly #aggregateMissing: Counter<string>;
  readonly #aborted: CounterFamily;
  readonly #authFailures = new Map<string, CounterChild>();
  readonly #reloadFailures: Counter<string>;
  readonly #quotaAlerts: Counter<string>;
  readonly #datastore: Gauge<string>;
  readonly #limitLocal = new Map<string, CounterChild>();
  #routes = new Map<string, Map<string, RouteSeries>>();
  #apiVersions: ReadonlyMap<string, string> = new Map();
  #snapshot: RuntimeSnapshot | null = null;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.#consumerLabel = options.consumerLabel === true;
    const requestLabels = ['api', 'api_version', 'route', 'method', 'code', 'source'];
    if (this.#consumerLabel) requestLabels.push('consumer');
    const r = this.registry;
    this.#requests = new CounterFamily(r, 'tollgate_http_requests_total', 'Requests answered, by route, method, status code and who produced the status (gateway or upstream).', requestLabels);
    const hl = ['api', 'api_version', 'route'];
    this.#duration = new HistogramFamily(r, 'tollgate_request_duration_seconds', 'Time from the request head to the last response byte.', hl, DURATION_BUCKETS);
    this.#upstreamDuration = new HistogramFamily(r, 'tollgate_upstream_duration_seconds', 'Time from forwarding to the upstream response headers (all tries), for forwarded requests.', hl, DURATION_BUCKETS);
    this.#gatewayDuration = new HistogramFamily(r, 'tollgate_gateway_duration_seconds', 'Time spent in Tollgate itself: total duration minus upstream duration.', hl, DURATION_BUCKETS);
    const bandwidth = new CounterFamily(r, 'tollgate_bandwidth_bytes_total', 'Bytes of request bodies received (ingress) and of responses written (egress).', ['direction']);
    this.#bytesIn = bandwidth.of({ direction: 'ingress' });
    this.#bytesOut = bandwidth.of({ direction: 'egress' });
    this.#rateLimited = new CounterFamily(r, 'tollgate_rate_limited_total', 'Requests refused with 429 by the gateway.', ['api', 'route']);
    this.#cache = new CounterFamily(r, 'tollgate_cache_responses_total', 'Responses of routes with a response-cache policy, by X-Cache result (HIT, MISS, BYPASS).', ['api', 'route', 'result']);
    this.#aggregateMissing = new Counter({ name: 'tollgate_aggregate_missing_total', help: 'Backends of aggregate routes left out of an answer (failed, non-2xx, non-JSON, oversized, late), by backend name.', labelNames: ['api', 'route', 'backend'], registers });
    this.#aborted = new CounterFamily(r, 'tollgate_http_requests_aborted_total', 'Requests whose response was cut short, by who cut it: the client (reset or disconnect before the end) or the upstream (failure mid-response). Also counted in tollgate_http_requests_total.', ['api', 'route', 'by']);
    const auth = new Counter({ name: 'tollgate_auth_failures_total', help: 'Requests refused by authentication or authorization policies, by error code.', labelNames: ['reason'], registers });
    for (const code of AUTH_FAILURE_CODES) this.#authFailures.set(code, auth.labels(code.toLowerCase()));
    const versionOf = options.configVersion ?? (() => this.#snapshot?.version ?? -1);
    new Gauge({
      name: 'tollgate_config_version',
      help: 'Version of the serving configuration snapshot (-1 before the first).',
      registers,
      // Over several workers (WORKERS): the oldest version still serving, so a stuck worker shows.
      aggregator: 'min',
      collect() {
        this.set(versionOf());
      },
    });
    this.#reloadFailures = new Counter({ name: 'tollgate_config_reload_failures_total', help: 'Configuration versions refused (did not compile or install) or that failed to load.', registers });
    const local = new Counter({ name: 'tollgate_limits_local_decisions_total', help: 'Requests whose limits the shared counter store (Redis) could not decide, by the plan or policy fail mode (open: decided per node; closed: refused with 503) and reason (error, timeout, unseeded).', labelNames: ['fail_mode', 'reason'], registers });
    for (const mode of ['open', 'closed']) for (const reason of ['error', 'timeout', 'unseeded']) this.#limitLocal.set(`${mode}:${reason}`, local.labels(mode, reason));
    this.#datastore = new Gauge({ name: 'tollgate_datastore_reachable', help: '1 when the last background probe of the store succeeded, 0 otherwise.', labelNames: ['store'], registers, aggregator: 'min' });
    // Read at scrape time from the live target states: nothing to do per request or per probe.
    const metrics = this;
    new Gauge({
      name: 'tollgate_upstream_target_health',
      help: '1 when the target may receive traffic (actively healthy and not ejected), 0 otherwise.',
      labelNames: ['upstream', 'target'],
      registers,
      // Each worker checks targets itself: healthy only when every worker sees the target healthy.
      aggregator: 'min',
      collect() {
        this.reset();
        const snap = metrics.#snapshot;
        if (snap === null) return;
        const now = Date.now();
        for (const [name, u] of snap.upstreams) for (const t of u.targets) this.labels(name, t.origin).set(t.state.available(now) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tollgate_certificate_expiry_seconds',
      help: 'Seconds until the leaf of each served TLS certificate expires (negative once expired).',
      labelNames: ['certificate'],
      registers,
      collect() {
        this.reset();
        const snap = metrics.#snapshot;
        if (snap === null) return;
        const now = Date.now();
        for (const e of certificateExpiries(snap.certificates)) this.labels(e.name).set(Math.round((e.notAfter - now) / 1000));
      },
    });
    this.#quotaAlerts = new Counter({ name: 'tollgate_quota_alerts_total', help: 'quota.threshold and quota.exhausted events this node wrote to the outbox (each is written once across nodes), by plan and percent (100 = exhausted).', labelNames: ['plan', 'percent'], registers });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts a backend of an aggregate route that was left out of the answer (docs/aggregation.md). */
  aggregateMissing(api: string, route: string, backend: string): void {
    this.#aggregateMissing.inc({ api, route, backend });
  }

  /** Follows a newly installed snapshot (target health, fresh label cache). */
  install(snapshot: RuntimeSnapshot, apiVersions: ReadonlyMap<string, string>): void {
    this.#snapshot = snapshot;
    this.#apiVersions = apiVersions;
    this.#routes = new Map();
  }

  /** Counts a quota event this node wrote (see `Meter.onQuotaEvent`). */
  quotaAlert(plan: string, percent: number): void {
    this.#quotaAlerts.inc({ plan, percent: String(percent) });
  }

  /** Counts a configuration version that was refused or could not be loaded. */
  reloadFailed(): void {
    this.#reloadFailures.inc();
  }

  /**
   * Usage metering metrics, read from the meter at scrape time: `tollgate_usage_flush_lag_seconds`
   * (age of the oldest usage not yet committed to Postgres), `tollgate_usage_backlog_requests`
   * (requests counted but not committed) and `tollgate_usage_flush_failures_total{store}`.
   */
  watchUsage(usage: UsageStats): void {
    const registers = [this.registry];
    new Gauge({
      name: 'tollgate_usage_flush_lag_seconds',
      help: 'Age of the oldest metered request not yet committed to the Postgres rollups (0 when all are).',
      registers,
      aggregator: 'max',
      collect() {
        this.set(usage.flushLagSeconds());
      },
    });
    new Gauge({
      name: 'tollgate_usage_backlog_requests',
      help: 'Requests metered on this node but not yet committed to the Postgres rollups.',
      registers,
      collect() {
        this.set(usage.backlogRequests());
      },
    });
    new Counter({
      name: 'tollgate_usage_flush_failures_total',
      help: 'Failed usage flush attempts, by store (postgres: rollup batches; redis: live counters).',
      labelNames: ['store'],
      registers,
      collect() {
        // Monotonic in the meter; mirrored here at scrape time.
        this.reset();
        const f = usage.flushFailures();
        for (const store of ['postgres', 'redis'] as const) this.inc({ store }, f[store]);
      },
    });
  }

  /** A request the shared counter store could not decide (a `LimitEvents` observer of the limiters). */
  local(failMode: 'open' | 'closed', reason: 'error' | 'timeout' | 'unseeded'): void {
    this.#limitLocal.get(`${failMode}:${reason}`)?.inc();
  }

  /** Records the result of a background store probe. */
  setDatastoreReachable(store: 'postgres' | 'redis', reachable: boolean): void {
    this.#datastore.labels(store).set(reachable ? 1 : 0);
  }

  #children(api: string, route: string): RouteSeries {
    let byRoute = this.#routes.get(api);
    if (byRoute === undefined) this.#routes.set(api, (byRoute = new Map()));
    let c = byRoute.get(route);
    if (c === undefined) {
      const labels = { api, api_version: api === NO_ROUTE ? '' : (this.#apiVersions.get(api) ?? ''), route };
      c = { labels, total: null, upstream: null, gateway: null, rateLimited: null, requests: new Map(), aborted: new Map(), cache: new Map() };
      byRoute.set(route, c);
    }
    return c;
  }

  /** Counts one request of route `c` (the consumer only when the consumer label is on). */
  #countRequest(c: RouteSeries, method: string, code: number, fromUpstream: boolean, consumer: string | null): void {
    const source = fromUpstream ? 'upstream' : 'gateway';
    if (this.#consumerLabel) {
      // Opt-in and unbounded by route: one key per request, as prom-client's label hash was.
      this.#requests.of({ ...c.labels, method, code, source, consumer: consumer ?? '' }).value += 1;
      return;
    }
    let bySource = c.requests.get(method);
    if (bySource === undefined) c.requests.set(method, (bySource = [new Map(), new Map()]));
    const byCode = bySource[fromUpstream ? 1 : 0];
    let s = byCode.get(code);
    if (s === undefined) byCode.set(code, (s = this.#requests.of({ ...c.labels, method, code, source })));
    s.value += 1;
  }

  #countRateLimited(c: RouteSeries): void {
    (c.rateLimited ??= this.#rateLimited.of({ api: c.labels.api, route: c.labels.route })).value += 1;
  }

  #countAborted(c: RouteSeries, by: string): void {
    let s = c.aborted.get(by);
    if (s === undefined) c.aborted.set(by, (s = this.#aborted.of({ api: c.labels.api, route: c.labels.route, by })));
    s.value += 1;
  }

  /**
   * Records a finished WebSocket session (or refused handshake) as one GET of its route with its
   * status and source, and its bytes in the bandwidth counter. Session durations are not observed
   * in the latency histograms: minutes-long sessions would swamp the request latencies.
   */
  recordSession(api: string, route: string, code: number, fromUpstream: boolean, bytesIn: number, bytesOut: number, consumer: string | null, aborted = false): void {
    const c = this.#children(api, route);
    this.#countRequest(c, 'GET', code, fromUpstream, consumer);
    if (bytesIn > 0) this.#bytesIn.value += bytesIn;
    if (bytesOut > 0) this.#bytesOut.value += bytesOut;
    if (code === 429 && !fromUpstream) this.#countRateLimited(c);
    if (aborted) this.#countAborted(c, 'client');
  }

  /**
   * Records one request when its response is over (complete or cut short). `status` is what the
   * client was given (499 when it left before any); an aborted request also counts in
   * `tollgate_http_requests_aborted_total` by who cut it. The source is the upstream when the
   * upstream answered and the gateway generated no error; otherwise (errors, policy refusals,
   * redirects, direct responses) the gateway produced the status, as Kong's `source` label.
   * `written` is the connection's `bytesWritten` now (read once by the account stage).
   */
  record(request: AnsweredRequest, reply: AnsweredReply, state: RequestState | null, status: number = reply.statusCode, latencyMs: number = reply.elapsedTime, written: number = request.raw.socket?.bytesWritten ?? 0): void {
    const api = state?.api ?? NO_ROUTE;
    const route = state?.route ?? NO_ROUTE;
    const c = this.#children(api, route);
    const raw = request.raw;
    const method = KNOWN_METHODS.has(raw.method ?? '') ? (raw.method as string) : 'OTHER';
    const fromUpstream = state !== null && state.upstreamMs !== null && state.errorCode === null;
    this.#countRequest(c, method, status, fromUpstream, state?.consumer ?? null);
    const totalS = Math.max(0, latencyMs / 1000);
    this.#duration.observe((c.total ??= this.#duration.of(c.labels)), totalS);
    const upstreamS = state?.upstreamMs != null ? state.upstreamMs / 1000 : 0;
    if (state?.upstreamMs != null) this.#upstreamDuration.observe((c.upstream ??= this.#upstreamDuration.of(c.labels)), upstreamS);
    this.#gatewayDuration.observe((c.gateway ??= this.#gatewayDuration.of(c.labels)), Math.max(0, totalS - upstreamS));
    if (state !== null) {
      if (state.bytesIn > 0) this.#bytesIn.value += state.bytesIn;
      const out = written - state.writtenAtStart;
      if (out > 0) this.#bytesOut.value += out;
      if (state.aborted !== null) this.#countAborted(c, state.aborted);
      if (state.errorCode !== null) {
        const auth = this.#authFailures.get(state.errorCode);
        if (auth !== undefined) auth.inc();
      }
    }
    if (status === 429 && !fromUpstream) this.#countRateLimited(c);
    // The response-cache policy's verdict, read only on routes that have the policy (an upstream's
    // own X-Cache on another route is not this metric's; optional call: unit tests record with a
    // minimal reply).
    const cached = state !== null && state.reportsCache ? reply.getHeader?.('x-cache') : undefined;
    if (cached === 'HIT' || cached === 'MISS' || cached === 'BYPASS') {
      let s = c.cache.get(cached);
      if (s === undefined) c.cache.set(cached, (s = this.#cache.of({ api, route, result: cached })));
      s.value += 1;
    }
  }

  /** The text exposition of every metric. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * Opt-in latency headers on upstream answers, in ms (as Kong's `X-Kong-Upstream-Latency` and
 * `X-Kong-Proxy-Latency`): time to the upstream's response headers, and time spent in Tollgate
 * until then.
 */
export function setLatencyHeaders(headers: Record<string, string | string[] | undefined>, elapsedMs: number, state: RequestState): void {
  const upstreamMs = state.upstreamMs ?? 0;
  headers['x-tollgate-upstream-latency'] = String(Math.round(upstreamMs));
  headers['x-tollgate-latency'] = String(Math.max(0, Math.round(elapsedMs - upstreamMs)));
}
