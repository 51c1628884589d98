import type { ConfigStore } from '@tollgate/stores';

/**
 * What the gateway needs from configuration storage (the ConfigStore satisfies it); with the
 * credential feed (the stores have it), API keys change in place instead of through reloads.
 */
export type ConfigSource = Pick<ConfigStore, 'load' | 'version' | 'watch'> & Partial<Pick<ConfigStore, 'changesSince' | 'watchChanges'>>;

/** Tunables of the data plane; every field has a default. */
export interface GatewayOptions {
  /** Addresses / CIDRs whose X-Forwarded-* headers are trusted. Default: none. */
  trustedProxies?: readonly string[];
  /** Safety-net config version check interval (ms). Default 5000. */
  configPollMs?: number;
  /** How long in-flight requests may take to finish on close (ms). Default 10000. */
  drainTimeoutMs?: number;
  /** Largest request body forwarded (bytes). Default 10 MiB. */
  maxBodyBytes?: number;
  /** Whole-request limit from the first byte to the last (Node `requestTimeout`, ms). Default 60000. */
  requestTimeoutMs?: number;
  /** Time allowed to receive the request headers (Node `headersTimeout`, ms). Default 20000. */
  headersTimeoutMs?: number;
  /** Idle keep-alive connection lifetime (ms). Default 72000 (above common load balancers' 60 s). */
  keepAliveTimeoutMs?: number;
  /** Socket inactivity timeout (Fastify `connectionTimeout`, ms); 0 disables. Default 0. */
  connectionTimeoutMs?: number;
  /** Largest request header section (bytes, Node `maxHeaderSize`). Default 16384. */
  maxHeaderSize?: number;
  /** How long an unused upstream pool stays open for requests of the previous snapshot (ms). Default 30000. */
  poolGraceMs?: number;
  /**
   * Send the client's Host header to the upstream (default true, like a transparent reverse
   * proxy); false sends the target's host:port instead.
   */
  preserveHost?: boolean;
  /** Write one access-log line per request. Default true. */
  accessLog?: boolean;
  /** Include the query string in the access log (values of sensitive params redacted). Default false. */
  logQuery?: boolean;
  /** Query parameter names whose values are never logged. */
  sensitiveQueryParams?: readonly string[];
  /** Request headers to include in the access log (values of credential and sensitive headers redacted). Default none. */
  logHeaders?: readonly string[];
  /** Header names logged as `[REDACTED]` on top of Authorization, Cookie, X-API-Key and the like. */
  sensitiveHeaders?: readonly string[];
  /** Write access-log lines to this file (appended, asynchronously) instead of the main log. Default '' (main log). */
  accessLogFile?: string;
  /** Record Prometheus metrics (served at `/metrics` on the status listener). Default true. */
  metrics?: boolean;
  /** Label `tollgate_http_requests_total` by consumer (one series per consumer). Default false. */
  metricsConsumerLabel?: boolean;
  /** Add `X-Tollgate-Upstream-Latency` and `X-Tollgate-Latency` (ms) to upstream answers. Default false. */
  latencyHeaders?: boolean;
  /** Answer 503 OVERLOADED when the event-loop delay passes this many ms; 0 disables. Default 0. */
  maxEventLoopDelayMs?: number;
  /** How often the event-loop delay is sampled (ms). Default 500. */
  eventLoopSampleMs?: number;
  /** Node id reported by `/status`. Default: the host name and process id. */
  nodeId?: string;
  /** DNS servers (`ip` or `ip:port`) for upstream targets with `discovery`; default none = the system's. */
  dnsServers?: readonly string[];
}

/** Options with defaults filled. */
export type ResolvedGatewayOptions = Required<GatewayOptions>;

/** Default values of {@link GatewayOptions}. */
export const DEFAULT_GATEWAY_OPTIONS: ResolvedGatewayOptions = Object.freeze({
  trustedProxies: [],
  configPollMs: 5_000,
  drainTimeoutMs: 10_000,
  maxBodyBytes: 10 * 1024 * 1024,
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 20_000,
  keepAliveTimeoutMs: 72_000,
  connectionTimeoutMs: 0,
  maxHeaderSize: 16_384,
  poolGraceMs: 30_000,
  preserveHost: true,
  accessLog: true,
  logQuery: false,
  logHeaders: [],
  sensitiveHeaders: [],
  accessLogFile: '',
  metrics: true,
  metricsConsumerLabel: false,
  latencyHeaders: false,
  maxEventLoopDelayMs: 0,
  eventLoopSampleMs: 500,
  nodeId: '',
  dnsServers: [],
  sensitiveQueryParams: ['api_key', 'apikey', 'key', 'token', 'access_token', 'id_token', 'refresh_token', 'password', 'secret', 'signature', 'sig', 'code'],
});

/** Fills defaults; refuses values Node would refuse later with a less clear error. */
export function resolveOptions(options: GatewayOptions = {}): ResolvedGatewayOptions {
  const o = { ...DEFAULT_GATEWAY_OPTIONS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  if (o.requestTimeoutMs > 0 && o.headersTimeoutMs > o.requestTimeoutMs) o.headersTimeoutMs = o.requestTimeoutMs;
  if (!(o.maxBodyBytes >= 0)) throw new Error('maxBodyBytes must be >= 0');
  return Object.freeze(o);
}
