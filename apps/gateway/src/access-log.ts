import type { AnsweredReply, AnsweredRequest } from './answered.js';
import type { Logger } from 'pino';
import { splitTarget } from '@tollgate/router';
import type { TraceContext } from './tracing.js';
import type { ActiveSubscription, QuotaCharge } from '@tollgate/policies';
import { ExchangeList } from '@tollgate/upstream';
import { AccessLineSink } from './access-line-sink.js';

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
  /**
   * The route has a response-cache policy, whose verdict (`X-Cache`) the metrics count: only then
   * is the answer's header read (a flag set at routing, not a header lookup on every request).
   */
  reportsCache = false;
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

/** Characters a JSON string must escape (RFC 8259 section 7), and lone surrogates, which JSON.stringify escapes. */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/**
 * A JSON string. Most values (ids, paths, hosts, names) need no escape: one regular-expression
 * test finds out, and only those that do go through JSON.stringify. Not a loop over
 * `charCodeAt`: the values come in several string representations (flat, concatenated, sliced,
 * from Buffers), so each `s.length` / `s.charCodeAt` was a megamorphic property load, ~270 per
 * line (callgrind, docs/benchmarks.md).
 */
function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** A JSON string value, or `null`. */
function strOrNull(v: string | null): string {
  return v === null ? 'null' : quote(v);
}

/** A JSON member `,"name":value` for a string field; nothing for undefined (as pino omits it). */
function str(name: string, v: string | null | undefined): string {
  return v === undefined ? '' : v === null ? `,"${name}":null` : `,"${name}":${quote(v)}`;
}

/** A JSON number value; non-finite numbers are null (as pino writes them). */
function numValue(v: number | null): string {
  return v !== null && Number.isFinite(v) ? String(v) : 'null';
}

/** Milliseconds rounded to microseconds, as logged. */
function ms(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** `FRACTION[n]` is how `String` writes the fraction n/1000 after the point: "001", "01" for 10, "5" for 500. */
const FRACTION: readonly string[] = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0').replace(/0+$/, ''));

/**
 * The JSON value of a duration already rounded by {@link ms}: the text `String` would write for
 * it, made from integer microseconds and a table instead of a double-to-shortest-decimal
 * conversion (three per line, ~1,000 instructions; docs/benchmarks.md). Exact: a non-negative
 * number of whole microseconds below 2^31 prints as `<ms>` or `<ms>.<1-3 digits>` (never in
 * exponent form, which JavaScript uses only below 1e-6 or from 1e21 on, ECMA-262 Number::toString);
 * anything else takes `String`.
 */
function msValue(v: number | null): string {
  if (v === null || !(v >= 0)) return numValue(v);
  const us = Math.round(v * 1000);
  if (us > 0x7fffffff) return numValue(v);
  const whole = Math.floor(us / 1000);
  const frac = us - whole * 1000;
  return frac === 0 ? String(whole) : `${whole}.${FRACTION[frac]}`;
}

/** A JSON member for a duration already rounded by {@link ms} (see {@link msValue}). */
export function msMember(name: string, v: number | null): string {
  return `,"${name}":${msValue(v)}`;
}

/** The leading members of a request's line and of a WebSocket session's (which share one format). */
const REQUEST_LINE = ',"type":"access"';
const SESSION_LINE = ',"type":"access","websocket":true';

/** `,"method":"GET"` for the methods Node's parser knows by name, rendered once. */
const METHOD_MEMBERS: ReadonlyMap<string, string> = new Map(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'].map((m) => [m, `,"method":"${m}"`]));

/**
 * The members of a line that are fixed per route (`api`, `apiVersion`, `route`), JSON-escaped
 * once, and those with the route's last upstream target appended (a route usually keeps one
 * target, or alternates over a few: only the last one is kept, so the cache stays one entry per
 * route whatever discovery does to targets).
 */
interface RouteMembers {
  readonly api: string | null;
  readonly route: string | null;
  readonly fixed: string;
  target: string | null;
  withTarget: string;
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
  /** Writes lines as the logger would, batched per event-loop turn; null: through the logger. */
  readonly #sink: AccessLineSink | null;
  /** Route members by API, then route, for the API versions of {@link #membersOf} (reset when those are replaced). */
  #routeMembers = new Map<string, Map<string, RouteMembers>>();
  #membersOf: ReadonlyMap<string, string> | null = null;
  /** The entry the last line used: steady traffic repeats it (compared by reference, no lookup). */
  #lastMembers: RouteMembers | null = null;

  constructor(
    private readonly logger: Logger,
    options: AccessLogOptions,
  ) {
    this.#logQuery = options.logQuery;
    this.#sensitive = new Set(options.sensitiveParams.map((p) => p.toLowerCase()));
    const secret = new Set([...CREDENTIAL_HEADERS, ...(options.sensitiveHeaders ?? []).map((h) => h.toLowerCase())]);
    this.#headers = (options.logHeaders ?? []).map((h) => [h.toLowerCase(), secret.has(h.toLowerCase())] as const);
    this.#apiVersions = options.apiVersions ?? { current: new Map() };
    this.#sink = AccessLineSink.of(logger);
  }

  /** Hands lines still buffered for this turn to the destination (on shutdown, before it is ended). */
  flush(): void {
    this.#sink?.flush();
  }

  /** Writes one line of JSON members (each `,"name":value`), through the sink or the logger. */
  #line(fields: string): void {
    if (this.#sink !== null) this.#sink.write(fields);
    else this.logger.info(JSON.parse(`{${fields.slice(1)}}`) as Record<string, unknown>);
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
   * request's line, `websocket: true`, bytes of the whole session and its duration as latency;
   * no upstreamMs / gatewayMs and no headers. An empty query is written (`"query":""`).
   */
  writeSession(s: SessionLine): void {
    // A line the logger would drop is never built (LOG_LEVEL above info with the access log on).
    if (!this.logger.isLevelEnabled('info')) return;
    this.#render(SESSION_LINE, s.requestId, 'GET', s.path, s.host, s.status, s.clientIp, null, s.consumer, s.api, s.route, s.upstream, s.bytesIn, s.bytesOut, ms(s.latencyMs), undefined, null, s.code, s.aborted === true ? 'client' : null, s.query);
  }

  /** The members of an API and route (null for a request that matched none), with `upstream`. */
  #routeMembersOf(api: string | null, route: string | null, target: string | null): string {
    const versions = this.#apiVersions.current;
    let m = this.#lastMembers;
    if (versions !== this.#membersOf) {
      // A new snapshot's API versions: every entry may name an old version.
      this.#routeMembers = new Map();
      this.#membersOf = versions;
      m = null;
    }
    if (m === null || m.api !== api || m.route !== route) {
      let byRoute: Map<string, RouteMembers> | undefined;
      m = null;
      if (api !== null && route !== null) {
        byRoute = this.#routeMembers.get(api);
        if (byRoute === undefined) this.#routeMembers.set(api, (byRoute = new Map()));
        m = byRoute.get(route) ?? null;
      }
      if (m === null) {
        const fixed = `,"api":${strOrNull(api)},"apiVersion":${strOrNull(api !== null ? (versions.get(api) ?? null) : null)},"route":${strOrNull(route)}`;
        m = { api, route, fixed, target, withTarget: `${fixed},"upstream":${strOrNull(target)}` };
        byRoute?.set(route as string, m);
      }
      this.#lastMembers = m;
    }
    if (m.target !== target) {
      m.target = target;
      m.withTarget = `${m.fixed},"upstream":${strOrNull(target)}`;
    }
    return m.withTarget;
  }

  /**
   * Writes the line for a finished request: `status` is what the client was given (499 when it
   * left before any), and `aborted` (`client` or `upstream`) marks a response cut short.
   * `written` is the connection's `bytesWritten` now (the account stage reads it once for
   * metering, metrics and this line: each read of Node's getter copies the socket's write queue).
   */
  write(request: AnsweredRequest, reply: AnsweredReply, state: RequestState | null, status: number = reply.statusCode, elapsedMs: number = reply.elapsedTime, written: number = request.raw.socket?.bytesWritten ?? 0): void {
    // A line the logger would drop is never built (LOG_LEVEL above info with the access log on).
    if (!this.logger.isLevelEnabled('info')) return;
    if (state === null) {
      this.#writeUnrouted(request, status, elapsedMs);
      return;
    }
    const raw = request.raw;
    const latencyMs = Math.max(0, ms(elapsedMs));
    const trace = state.trace;
    // An empty error code or query (`/p?`) is left out of a request's line.
    this.#render(REQUEST_LINE, request.id, raw.method, state.path, state.host, status, state.clientIp, trace !== null ? trace.traceId : null, state.consumer, state.api, state.route, state.target, state.bytesIn, written - state.writtenAtStart, latencyMs, state.upstreamMs !== null ? ms(state.upstreamMs) : null, raw.headers, state.errorCode || null, state.aborted, state.query || null);
  }

  /** The line of a request refused before the proxy handler took it (no request state). */
  #writeUnrouted(request: AnsweredRequest, status: number, elapsedMs: number): void {
    const raw = request.raw;
    this.#render(REQUEST_LINE, request.id, raw.method, splitTarget(raw.url ?? '/').path, raw.headers.host, status, raw.socket?.remoteAddress, null, null, null, null, null, 0, null, Math.max(0, ms(elapsedMs)), null, raw.headers, null, null, null);
  }

  /**
   * Builds and writes one line: the one format of every access line (requests, routed or not, and
   * WebSocket sessions), its members in this order. One template, so the fixed text between values
   * is part of it and each value costs one piece; positional arguments, so no object per line.
   * `method`, `host` and `clientIp` are left out when undefined (as pino omits them);
   * `upstreamMs` undefined: a session line, without upstreamMs and gatewayMs; `headers` null: no
   * headers member; `code`, `aborted` and `query` are left out when null.
   */
  #render(
    type: string,
    requestId: string,
    method: string | undefined,
    path: string,
    host: string | undefined,
    status: number,
    clientIp: string | undefined,
    traceId: string | null,
    consumer: string | null,
    api: string | null,
    route: string | null,
    target: string | null,
    bytesIn: number,
    bytesOut: number | null,
    latencyMs: number,
    upstreamMs: number | null | undefined,
    headers: AnsweredRequest['raw']['headers'] | null,
    code: string | null,
    aborted: string | null,
    query: string | null,
  ): void {
    let f =
      `${type},"requestId":${quote(requestId)}${(method !== undefined ? METHOD_MEMBERS.get(method) : undefined) ?? str('method', method)},"path":${quote(path)}${str('host', host)}` +
      `,"status":${numValue(status)}${str('clientIp', clientIp)},"traceId":${strOrNull(traceId)},"consumer":${strOrNull(consumer)}` +
      `${this.#routeMembersOf(api, route, target)},"bytesIn":${numValue(bytesIn)},"bytesOut":${numValue(bytesOut)},"latencyMs":${msValue(latencyMs)}`;
    if (upstreamMs !== undefined) f += `,"upstreamMs":${msValue(upstreamMs)},"gatewayMs":${msValue(Math.max(0, ms(latencyMs - (upstreamMs ?? 0))))}`;
    if (headers !== null && this.#headers.length > 0) f += this.#headerMember(headers);
    if (code !== null) f += str('code', code);
    if (aborted !== null) f += str('aborted', aborted);
    if (this.#logQuery && query !== null) f += str('query', this.redactQuery(query));
    this.#line(f);
  }

  /** `,"headers":{…}` of the logged request headers (credentials redacted). */
  #headerMember(headers: AnsweredRequest['raw']['headers']): string {
    const h: Record<string, string> = {};
    for (const [name, secret] of this.#headers) {
      const v = headers[name];
      if (v !== undefined) h[name] = secret ? '[REDACTED]' : String(v);
    }
    return `,"headers":${JSON.stringify(h)}`;
  }
}
