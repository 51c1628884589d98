import type { AnsweredReply, AnsweredRequest } from './answered.js';
import type { Logger } from 'pino';
import { splitTarget } from '@tollgate/router';
import type { TraceContext } from './tracing.js';
import type { ActiveSubscription, QuotaCharge } from '@tollgate/policies';
import { ExchangeList } from '@tollgate/upstream';

/** Who cut an exchange short: the client went away, or the upstream failed mid-response. */
export type AbortedBy = 'client' | 'upstream';

/** Per-request facts the proxy collects for the access log. One object per request. */
export class RequestState extends ExchangeList {
  /** Normalized path (or the raw path when it could not be normalized). */
  path = '';
  query: string | null = null;
  /** The Host as received (or the absolute-form target's authority, which replaces it). */
  host = '';
  /** The validated host, normalized once (lower case, no port, no trailing dot): what routing and policies compare. */
  hostName = '';
  api: string | null = null;
  route: string | null = null;
  /** Origin of the chosen upstream target. */
  target: string | null = null;
  /** Request body bytes (Content-Length, or counted while streaming). */
  bytesIn = 0;
  /** `socket.bytesWritten` when the request started, to derive the bytes written for it. */
  writtenAtStart = 0;
  /** Milliseconds from forwarding to the upstream's response headers, or null when not forwarded. */
  upstreamMs: number | null = null;
  /** `performance.now()` when the proxy handler took the request (tracing spans). */
  startedAt = 0;
  /** `performance.now()` when the upstream call started (tracing spans), or null when not forwarded. */
  upstreamAt: number | null = null;
  /** `performance.now()` when the access policies started, and how long they took (tracing spans). */
  accessAt: number | null = null;
  accessMs: number | null = null;
  /** Stable code of a gateway-generated error, when there was one. */
  errorCode: string | null = null;
  /** Client address after trusted-proxy rules. */
  clientIp = '';
  /** Name of the authenticated consumer, or null. */
  consumer: string | null = null;
  /** W3C trace context of the request (continued from the client or started here). */
  trace: TraceContext | null = null;
  /** The caller's active subscription and plan (set by the subscription policy), for metering. */
  subscription: ActiveSubscription | null = null;
  /** What the request charged to its plan's re-seeded quota (set by the subscription limiter), for metering. */
  quotaCharge: QuotaCharge | null = null;
  /** Metering units and metric of the matched route. */
  units = 1;
  metric = 'requests';
  /** Cancels the upstream exchange when the client goes away (made when the request is forwarded). */
  cancel: { abort(reason: Error): void } | null = null;
  /** Set when the response was cut short (client reset, upstream reset mid-body), else null. */
  aborted: AbortedBy | null = null;
}

/** What the access log records of a WebSocket session. */
export interface SessionLine {
  readonly requestId: string;
  readonly path: string;
  readonly host: string | undefined;
  readonly status: number;
  readonly clientIp: string;
  readonly consumer: string | null;
  /** Null for a handshake refused before any route matched. */
  readonly api: string | null;
  readonly route: string | null;
  readonly upstream: string | null;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly latencyMs: number;
  /** Stable code of a gateway refusal, or null. */
  readonly code: string | null;
  /** Query as forwarded (credentials taken out by auth policies), or null. */
  readonly query: string | null;
  /** The client left before the upstream answered the handshake. */
  readonly aborted?: boolean;
}

/** Request headers that always carry credentials: never logged as they are. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'apikey'];

/** Options of {@link AccessLog} beyond the logger. */
export interface AccessLogOptions {
  /** Include the query string (sensitive parameter values redacted). */
  logQuery: boolean;
  /** Query parameter names whose values are never logged. */
  sensitiveParams: readonly string[];
  /** Request headers to log (lower-case names). */
  logHeaders?: readonly string[];
  /** Header names whose values are logged as `[REDACTED]`, on top of the credential headers. */
  sensitiveHeaders?: readonly string[];
  /** Version label of each API (name → `spec.version`), read at write time (swapped on install). */
  apiVersions?: { current: ReadonlyMap<string, string> };
}

/**
 * Writes one JSON line per request. Never writes headers (so never Authorization or cookies);
 * the query string only when enabled, with the values of sensitive parameters redacted.
 */
export class AccessLog {
  readonly #sensitive: ReadonlySet<string>;
  readonly #logQuery: boolean;
  /** Logged headers, each with whether its value is redacted (decided once, not per request). */
  readonly #headers: readonly (readonly [string, boolean])[];
  readonly #apiVersions: { current: ReadonlyMap<string, string> };

  constructor(
    private readonly logger: Logger,
    options: AccessLogOptions,
  ) {
    this.#logQuery = options.logQuery;
    this.#sensitive = new Set(options.sensitiveParams.map((p) => p.toLowerCase()));
    const secret = new Set([...CREDENTIAL_HEADERS, ...(options.sensitiveHeaders ?? []).map((h) => h.toLowerCase())]);
    this.#headers = (options.logHeaders ?? []).map((h) => [h.toLowerCase(), secret.has(h.toLowerCase())] as const);
    this.#apiVersions = options.apiVersions ?? { current: new Map() };
  }

  /** Redacts values of sensitive parameters, leaving the rest of the raw query as it was. */
  redactQuery(query: string): string {
    return query
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        if (eq === -1) return pair;
        let name = pair.slice(0, eq);
        try {
          name = decodeURIComponent(name.replaceAll('+', ' '));
        } catch {
          // keep the raw name
        }
        return this.#sensitive.has(name.toLowerCase()) ? `${pair.slice(0, eq)}=[REDACTED]` : pair;
      })
      .join('&');
  }

  /**
   * Writes the line for a finished WebSocket session (or a refused handshake): the fields of a
   * request's line, `websocket: true`, bytes of the whole session and its duration as latency.
   */
  writeSession(s: SessionLine): void {
    // A line the logger would drop is never built (LOG_LEVEL above info with the access log on).
    if (!this.logger.isLevelEnabled('info')) return;
    const line: Record<string, unknown> = {
      type: 'access',
      websocket: true,
      requestId: s.requestId,
      method: 'GET',
      path: s.path,
      host: s.host,
      status: s.status,
      clientIp: s.clientIp,
      traceId: null,
      consumer: s.consumer,
      api: s.api,
      apiVersion: s.api !== null ? (this.#apiVersions.current.get(s.api) ?? null) : null,
      route: s.route,
      upstream: s.upstream,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      latencyMs: Math.round(s.latencyMs * 1000) / 1000,
    };
    if (s.code !== null) line.code = s.code;
    if (s.aborted === true) line.aborted = 'client';
    if (this.#logQuery && s.query !== null) line.query = this.redactQuery(s.query);
    this.logger.info(line);
  }

  /**
   * Writes the line for a finished request: `status` is what the client was given (499 when it
   * left before any), and `aborted` (`client` or `upstream`) marks a response cut short.
   */
  write(request: AnsweredRequest, reply: AnsweredReply, state: RequestState | null, status: number = reply.statusCode, elapsedMs: number = reply.elapsedTime): void {
    // A line the logger would drop is never built (LOG_LEVEL above info with the access log on).
    if (!this.logger.isLevelEnabled('info')) return;
    const raw = request.raw;
    const written = raw.socket?.bytesWritten ?? 0;
    const latencyMs = Math.max(0, Math.round(elapsedMs * 1000) / 1000);
    const upstreamMs = state?.upstreamMs != null ? Math.round(state.upstreamMs * 1000) / 1000 : null;
    const line: Record<string, unknown> = {
      type: 'access',
      requestId: request.id,
      method: raw.method,
      path: state !== null ? state.path : splitTarget(raw.url ?? '/').path,
      host: state !== null ? state.host : raw.headers.host,
      status,
      clientIp: state?.clientIp ?? raw.socket?.remoteAddress,
      traceId: state?.trace?.traceId ?? null,
      consumer: state?.consumer ?? null,
      api: state?.api ?? null,
      apiVersion: state?.api != null ? (this.#apiVersions.current.get(state.api) ?? null) : null,
      route: state?.route ?? null,
      upstream: state?.target ?? null,
      bytesIn: state?.bytesIn ?? 0,
      bytesOut: state !== null ? written - state.writtenAtStart : null,
      latencyMs,
      upstreamMs,
      gatewayMs: Math.max(0, Math.round((latencyMs - (upstreamMs ?? 0)) * 1000) / 1000),
    };
    if (this.#headers.length > 0) {
      const h: Record<string, string> = {};
      for (const [name, secret] of this.#headers) {
        const v = raw.headers[name];
        if (v !== undefined) h[name] = secret ? '[REDACTED]' : String(v);
      }
      line.headers = h;
    }
    if (state?.errorCode) line.code = state.errorCode;
    if (state != null && state.aborted !== null) line.aborted = state.aborted;
    if (this.#logQuery && state?.query) line.query = this.redactQuery(state.query);
    this.logger.info(line);
  }
}
