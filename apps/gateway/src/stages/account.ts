import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { UsageRecorder } from '@tollgate/metering';
import type { AccessLog, RequestState } from '../access-log.js';
import type { GatewayMetrics } from '../metrics.js';
import type { SpanSink } from '../otlp.js';
import type { ProxyReply } from '../reply.js';

/** Status recorded for a request whose client went away before any status was sent (nginx's 499, never sent). */
export const CLIENT_CLOSED_STATUS = 499;

/** The reply a response is still to be accounted for, or null once it was (set when the request is taken). */
const kAccount = Symbol('tollgate.account');
type AccountedResponse = ServerResponse & { [kAccount]?: ProxyReply | null };

/** Milliseconds since the request head was taken (0 for a reply never watched). */
export function elapsedMs(reply: ProxyReply): number {
  const t = reply.startedAt;
  return t === 0 ? 0 : performance.now() - t;
}

/** Why the upstream exchange of a client that went away is cancelled (classified CLIENT_ABORTED). */
function clientGone(): Error {
  return Object.assign(new Error('the client closed the connection'), { code: 'ECONNABORTED' });
}

/** What accounting writes to: each may be off (null). */
export interface AccountDeps {
  readonly meter: UsageRecorder | null;
  readonly metrics: GatewayMetrics | null;
  readonly accessLog: AccessLog | null;
  /** Each Api's current version (metered with the request). */
  readonly apiVersions: { readonly current: ReadonlyMap<string, string> };
  readonly logger: Logger;
  /** Span export: one span per routed request whose response finished, or null. */
  readonly spans?: SpanSink | null;
}

/** The account stage of one proxy app: {@link Accounting.watch} every response, and it is accounted once. */
export interface Accounting {
  /** Starts the clock of a response and accounts for it when it is over, on any path (idempotent per response). */
  watch(reply: ProxyReply): void;
  /** True once the response was accounted for (the client is gone, or the answer is complete). */
  done(reply: ProxyReply): boolean;
}

/**
 * Stage 8, account: meter, metrics and access log, exactly once per request, when its response
 * is over on any path, and the end of every upstream exchange the request still holds.
 */
export function createAccounting(deps: AccountDeps): Accounting {
  const { meter, metrics, accessLog, apiVersions, logger } = deps;
  const spans = deps.spans ?? null;
  /** Meters a routed request: synchronous, into the meter's in-memory accumulator. */
  function meterRequest(state: RequestState | null, status: number, bytesOut: number, latencyMs: number): void {
    if (meter === null || state === null || state.api === null) return;
    meter.record({
      // The arrival instant decides the hour and the billing month (a request at 23:59:59.900 is that month's).
      at: meter.now() - latencyMs,
      consumer: state.consumer,
      subscription: state.subscription,
      quotaCharge: state.quotaCharge,
      api: state.api,
      apiVersion: apiVersions.current.get(state.api) ?? '',
      route: state.route ?? '',
      status,
      // As the metrics' `source` label: the upstream's status unless the gateway produced the answer.
      source: state.upstreamMs !== null && state.errorCode === null ? 'upstream' : 'gateway',
      units: state.units,
      metric: state.metric,
      bytesIn: state.bytesIn,
      bytesOut,
      latencyMs,
      aborted: state.aborted !== null,
    });
  }

  /**
   * Accounts for a request exactly once, when its response is over on any path: sent completely,
   * cut by the client (reset, disconnect while the upstream works or while it uploads), or cut by
   * the gateway because the upstream failed mid-body. 'finish' never comes for an aborted
   * response, so this listens to the raw response's 'close', which Node emits
   * after 'finish' and on a connection closed early alike. Whatever upstream targets the request
   * still holds are released here too: one place every path passes through.
   */
  function account(reply: ProxyReply): void {
    const res = reply.raw as AccountedResponse;
    if (res[kAccount] === null) return;
    res[kAccount] = null;
    const request = reply.request;
    // (Null on requests refused before routing: unknown method, overload.)
    const state = request.tg;
    if (state !== null) {
      state.endAll();
      if (!res.writableFinished) {
        state.aborted ??= 'client';
        // The upstream exchange of a client that left is cancelled, not awaited (frees its slot).
        if (state.cancel !== null) state.cancel.abort(clientGone());
        if (!res.headersSent && state.errorCode === null) state.errorCode = 'CLIENT_ABORTED';
      }
    }
    // The status the client was given; none at all when it left before the status line (499).
    const status = res.headersSent || res.writableFinished ? reply.statusCode : CLIENT_CLOSED_STATUS;
    // Read once for all three: Node's getter copies the socket's write queue on every read.
    const socketWritten = request.raw.socket?.bytesWritten ?? 0;
    const written = socketWritten - (state?.writtenAtStart ?? 0);
    const bytesOut = state !== null && written > 0 ? written : 0;
    const latencyMs = elapsedMs(reply);
    try {
      meterRequest(state, status, bytesOut, latencyMs);
      metrics?.record(request, reply, state, status, latencyMs, socketWritten);
      accessLog?.write(request, reply, state, status, latencyMs, socketWritten);
      // Spans of answered requests only (a cut response has no status to report).
      if (spans !== null && state !== null && res.writableFinished) spans.record(request, reply, state, latencyMs);
    } catch (err) {
      // An event listener: a throw here would take the whole process down.
      logger.error({ err, requestId: request.id }, 'accounting a request failed');
    }
  }
  function onResponseClose(this: AccountedResponse): void {
    const reply = this[kAccount];
    if (reply !== undefined && reply !== null) account(reply);
  }

  return {
    watch(reply: ProxyReply): void {
      const res = reply.raw as AccountedResponse;
      if (res[kAccount] !== undefined) return;
      reply.startedAt = performance.now();
      res[kAccount] = reply;
      // `on`, not `once`: a response closes once, `account` is idempotent anyway, and `once`
      // allocates a wrapper per request.
      res.on('close', onResponseClose);
    },
    done(reply: ProxyReply): boolean {
      return (reply.raw as AccountedResponse)[kAccount] === null;
    },
  };
}
