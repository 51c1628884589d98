import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { GatewayAnswerStep, RequestContext } from '@tollgate/policies';
import { splitTarget } from '@tollgate/router';
import { AccessLog, RequestState } from './access-log.js';
import { TrustedProxies, unmapIp } from './client-address.js';
import type { ConfigManager } from './config-manager.js';
import { onClientError } from './client-error.js';
import { pickRequestId } from './headers.js';
import type { ResolvedGatewayOptions } from './options.js';
import { sendGatewayError, sendProblem } from './problem.js';
import { BadHost, requestHost } from './request-host.js';
import type { GatewayMetrics } from './metrics.js';
import { startTrace } from './tracing.js';
import { resolveRoute } from './stages/resolve.js';
import type { HttpFlow } from './stages/flow.js';
import { accessContext, answersAsUnrouted, runAccessStage, type AccessVerdict } from './stages/access.js';
import { accessRechecker } from './messaging/recheck.js';
import { createAccounting } from './stages/account.js';
import { forwardHttp, prepareRequest, type ForwardSettings } from './stages/forward-http.js';
import { dispatchHttp } from './stages/forward-dispatch.js';
import { localAnswer } from './stages/local-answer.js';
import { fail, sendLocal, sendPolicyReply } from './stages/respond.js';
import { OVERLOADED, type EventLoopMonitor } from './overload.js';
import { ProxyReply, ProxyRequest, type ReplyEnv } from './reply.js';
import type { SpanSink } from './otlp.js';

import { runAggregate, type RuntimeAggregate } from './aggregate/index.js';
import type { ProtocolHandler } from './protocols/index.js';
import type { UsageRecorder } from '@tollgate/metering';

export { CLIENT_CLOSED_STATUS } from './stages/account.js';
export { ProxyReply, ProxyRequest } from './reply.js';

/** Methods the proxy routes; others get 404 ROUTE_NOT_FOUND. */
const PROXIED_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']);

/** Dependencies of the proxy listener. */
export interface ProxyDeps {
  readonly manager: ConfigManager;
  readonly options: ResolvedGatewayOptions;
  readonly logger: Logger;
  /** Access log built by the gateway (file sink, API versions); default: one from the options. */
  readonly accessLog?: AccessLog | null;
  /** Prometheus metrics to record each answered request in, or null. */
  readonly metrics?: GatewayMetrics | null;
  /** Usage meter: every routed request is recorded after the response (in memory, no I/O), or null. */
  readonly meter?: UsageRecorder | null;
  /** Shutdown state, set by the gateway's close (default: never draining). */
  readonly drain?: DrainState;
  /** Span export: one span per routed request whose response finished. */
  readonly spans?: SpanSink;
  /** Event-loop lag guard: requests are refused 503 OVERLOADED while it reports overload. */
  readonly overload?: { readonly monitor: EventLoopMonitor; readonly retryAfterSeconds: number } | null;
}

/** Where a graceful shutdown is; the gateway's close sets the flags, the proxy reads them per request. */
export interface DrainState {
  /** SIGTERM received: every response from now on carries `Connection: close`. */
  draining: boolean;
  /** The listener is closing: new requests on kept-alive connections are refused 503 SHUTTING_DOWN. */
  refusing: boolean;
}

/** The data-plane listener: a node:http server whose request handler runs the stages. */
export interface ProxyApp {
  readonly server: Server;
  /** The request handler (also installed on the HTTPS listener). */
  readonly routing: (req: IncomingMessage, res: ServerResponse) => void;
  /** Listens; resolves with the address as a URL. */
  listen(at: { readonly host?: string; readonly port: number }): Promise<string>;
  /** Stops accepting, closes idle keep-alive connections, resolves when in-flight requests are done. */
  close(): Promise<void>;
}

/**
 * Builds the proxy listener: node:http, its request handler running the stages directly on
 * IncomingMessage / ServerResponse (docs/architecture.md says why not Fastify: a hook runner,
 * a reply stream path and a router lookup per request for one catch-all route). Bodies stream.
 */
export function buildProxyApp(deps: ProxyDeps): ProxyApp {
  const { manager, options, logger } = deps;
  const trusted = new TrustedProxies(options.trustedProxies);
  const accessLog = deps.accessLog !== undefined ? deps.accessLog : options.accessLog ? new AccessLog(logger, { logQuery: options.logQuery, sensitiveParams: options.sensitiveQueryParams }) : null;
  const metrics = deps.metrics ?? null;
  const meter = deps.meter ?? null;
  const apiVersions = manager.apiVersions;
  const latencyHeaders = options.latencyHeaders;
  const maxBody = options.maxBodyBytes;
  const preserveHost = options.preserveHost;
  // Stage 8 (account) of this app: every response is watched from its head, accounted once.
  const accounting = createAccounting({ meter, metrics, accessLog, apiVersions, logger, spans: deps.spans ?? null });
  const drain = deps.drain ?? { draining: false, refusing: false };
  const overload = deps.overload ?? null;

  /** What Fastify's error handler did: a stable code for whatever the stages threw. */
  function onError(err: Error & { statusCode?: unknown }, reply: ProxyReply): void {
    const res = reply.raw;
    if (res.headersSent) {
      // Part of an answer is out: the client must not take it for a complete one.
      logger.error({ err, requestId: reply.request.id }, 'unexpected error in the proxy after the response started');
      res.destroy();
      return;
    }
    reply.clearHeaders();
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return void sendGatewayError(reply, 'BAD_REQUEST', err.message);
    const st = reply.request.tg;
    if (st !== null && st.aborted === 'upstream') {
      // The upstream reset after its status line but before any body byte reached the client:
      // nothing was sent, so this is still a clean 502, without the upstream's headers.
      st.errorCode = 'UPSTREAM_UNAVAILABLE';
      return void sendGatewayError(reply, 'UPSTREAM_UNAVAILABLE', `the upstream response failed before its body: ${err.message}`);
    }
    logger.error({ err, requestId: reply.request.id }, 'unexpected error in the proxy');
    if (st !== null) st.errorCode = 'INTERNAL_ERROR';
    sendGatewayError(reply, 'INTERNAL_ERROR', 'the gateway failed to handle the request');
  }
  const env: ReplyEnv = { drain, onStreamError: (reply, err) => onError(err, reply) };
  const forwardSettings: ForwardSettings = { maxBodyBytes: maxBody, preserveHost, latencyHeaders, logger, accounting, drain, onError };

  /**
   * The route's additions to a gateway answer (CORS) for a request refused before the stages run
   * (overload, shutting down). Only a browser's request (one with Origin) can use them, so only it
   * pays for the route lookup; a draft Api's route shows nothing (as if no route matched).
   */
  function gatewayAnswerBeforeRouting(req: IncomingMessage): GatewayAnswerStep | null {
    if (req.headers.origin === undefined) return null;
    try {
      const r = resolveRoute(manager.current, requestHost(req), splitTarget(req.url ?? '/'), req.method ?? 'GET', req.headers, true);
      return r.kind === 'route' && r.route.draftPreview === null ? r.route.gatewayAnswer : null;
    } catch {
      // Outside the handler's error path (this runs in the listener's callback): the refusal goes out without them.
      return null;
    }
  }

  function routing(req: IncomingMessage, res: ServerResponse): void {
    const reply = new ProxyReply(new ProxyRequest(pickRequestId(req.headers['x-request-id']), req), res, env);
    // Draining: requests that still arrive once the listener closes are refused before any work,
    // as problem+json (responses ask the client to close, RFC 9112 §9.6, so kept-alive clients
    // reconnect, through the load balancer, to a node that is not going away).
    if (drain.refusing) {
      reply.gatewayAnswer = gatewayAnswerBeforeRouting(req);
      reply.header('retry-after', '0');
      sendGatewayError(reply, 'SHUTTING_DOWN', 'this gateway node is shutting down; retry the request (a new connection reaches another node)', true);
      return;
    }
    // Always: the exchanges' backstop must run even with metrics, metering and the log off.
    accounting.watch(reply);
    if (overload !== null && overload.monitor.overloaded) {
      // RFC 9110 §15.6.4 and §10.2.3; the body is not read, so the connection is closed.
      reply.gatewayAnswer = gatewayAnswerBeforeRouting(req);
      reply.header('retry-after', String(overload.retryAfterSeconds));
      sendProblem(reply, 503, OVERLOADED, 'Gateway overloaded', `the gateway is behind on its work (event-loop delay ${Math.round(overload.monitor.lastDelayMs)} ms); retry later`, true);
      return;
    }
    if (!PROXIED_METHODS.has(req.method ?? '')) {
      sendGatewayError(reply, 'ROUTE_NOT_FOUND', 'no route matches the request');
      return;
    }
    let p: Promise<unknown> | undefined;
    try {
      p = handle(reply);
    } catch (err) {
      onError(err as Error, reply);
      return;
    }
    if (p !== undefined) p.catch((err: unknown) => onError(err as Error, reply));
  }

  const server = createServer({ requestTimeout: options.requestTimeoutMs, headersTimeout: options.headersTimeoutMs, keepAliveTimeout: options.keepAliveTimeoutMs, maxHeaderSize: options.maxHeaderSize }, routing);
  server.setTimeout(options.connectionTimeoutMs);
  server.on('clientError', onClientError);

  /**
   * Stages 1 to 7 of one request. Synchronous up to the exchange on routes whose policies are
   * (no promise, no async frame per request on the plain path); a promise only where a stage
   * waits: an asynchronous policy, an injected delay, a protocol converter.
   */
  function handle(reply: ProxyReply): Promise<unknown> | undefined {
    const request = reply.request;
    const raw = request.raw;
    const headers = raw.headers;
    const state = new RequestState();
    state.startedAt = performance.now();
    request.tg = state;
    const socket = raw.socket;
    state.writtenAtStart = socket.bytesWritten;
    const peer = unmapIp(socket.remoteAddress ?? '');
    const trustForwarding = trusted.isTrusted(peer);
    const xffIn = headers['x-forwarded-for'];
    state.clientIp = trustForwarding ? trusted.clientIp(peer, typeof xffIn === 'string' ? xffIn : undefined) : peer;
    state.trace = startTrace(headers.traceparent);
    // Validated and normalized once (an absolute-form target's authority replaces Host first):
    // routing, policies, the cache key and the access log all use this one value.
    const host = requestHost(raw);
    const hostHeader = headers.host ?? '';
    state.host = hostHeader;

    const target = splitTarget(raw.url ?? '/');
    state.query = target.query;
    if (typeof host === 'string') state.hostName = host;
    const method = raw.method ?? 'GET';
    // Stage 1: resolve route (shared with WebSocket handshakes). One reference read of the
    // snapshot: the whole request is served by it even if a swap happens.
    const resolved = resolveRoute(manager.current, host, target, method, headers, true);
    state.path = resolved.path;
    if (resolved.kind === 'refused') {
      if (resolved.headers !== null) reply.headers(resolved.headers);
      fail(reply, state, resolved.code, resolved.detail);
      return undefined;
    }
    const { route, found } = resolved;
    const path = resolved.path;
    // From here every answer the gateway produces itself carries what the route's policies add (CORS).
    reply.gatewayAnswer = route.gatewayAnswer;
    state.api = route.api;
    state.route = route.route;
    state.units = route.units;
    state.metric = route.metric;
    state.reportsCache = route.reportsCache;

    // Body: a declared length is checked up front; a chunked body is counted while it streams.
    const cl = headers['content-length'];
    const chunked = cl === undefined && headers['transfer-encoding'] !== undefined;
    if (cl !== undefined) {
      const n = Number(cl);
      if (n > maxBody) {
        fail(reply, state, 'BODY_TOO_LARGE', `the request body (${n} bytes) exceeds ${maxBody} bytes`, true);
        return undefined;
      }
      state.bytesIn = n;
    }
    const secure = (socket as TLSSocket).encrypted === true;
    // The one object the later stages get (flow.ts); `ctx` is set by the access stage.
    const req: HttpFlow = { reply, raw, requestId: request.id, state, route, found, ctx: null, method, path, query: target.query, headers, hostHeader, peer, secure, trustForwarding, chunked };

    // Stage 2: access policies, with the lifecycle and draft rules (shared with WebSocket handshakes).
    if (route.access !== null) {
      const ctx = accessContext(route, { requestId: request.id, clientIp: state.clientIp, method, path, headers, query: target.query, hostName: state.hostName, secure, trustForwarding });
      req.ctx = ctx;
      // mtls-auth reads the verified client certificate of the connection.
      if (secure) ctx.tlsSocket = socket as TLSSocket;
      // A policy that must see the body (request-validation) reads it through ctx.readBody; others never touch it.
      if (chunked || state.bytesIn > 0) ctx.bodySource = { stream: raw, maxBytes: maxBody };
      state.accessAt = performance.now();
      const v = runAccessStage(route, route.access, ctx);
      if (v !== undefined && typeof (v as Promise<unknown>).then === 'function') return (v as Promise<AccessVerdict>).then((verdict) => (admitted(req, verdict) ? proceed(req) : undefined));
      if (!admitted(req, v as AccessVerdict)) return undefined;
    }
    return proceed(req);
  }

  /** Records what the access stage decided; false when it answered the request itself. */
  function admitted(req: HttpFlow, verdict: AccessVerdict): boolean {
    const { reply, state, route } = req;
    const ctx = req.ctx as RequestContext;
    state.accessMs = performance.now() - (state.accessAt as number);
    // Auth policies take credentials out of the query: the access log sees what is forwarded.
    state.query = ctx.query;
    state.consumer = ctx.consumer?.name ?? null;
    state.subscription = ctx.subscription;
    state.quotaCharge = ctx.quotaCharge;
    if (verdict === undefined) return true;
    const hasBody = req.chunked || state.bytesIn > 0;
    // A refused request's body is never read: close the connection rather than drain it.
    // (A body a policy read whole is not left unread: the connection stays reusable.)
    const unreadBody = hasBody && ctx.bufferedBody === null;
    // A reply standing in for the upstream (a cache hit) is answered as the upstream's would be.
    if (verdict.kind === 'as-upstream') sendLocal(reply, route, ctx, state, verdict.reply.status, { ...verdict.reply.headers }, verdict.reply.body as Buffer, hasBody);
    else if (verdict.kind === 'hidden') {
      // Exactly as if no route matched: nothing of the route's (no CORS headers) may show.
      reply.gatewayAnswer = null;
      fail(reply, state, 'ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`, unreadBody);
    } else {
      if (answersAsUnrouted(verdict.reply)) reply.gatewayAnswer = null;
      sendPolicyReply(reply, state, verdict.reply, unreadBody);
    }
    return false;
  }

  /** Stages 3 to 7 of an admitted request: local answer, injected delay, the route's kind of exchange. */
  function proceed(req: HttpFlow): Promise<unknown> | undefined {
    const { reply, state, route, ctx } = req;
    // As with a policy refusal, an unread body means the connection is closed, not drained.
    const unread = req.chunked || state.bytesIn > 0;
    // Stage 3: local answer (redirect, published spec, direct response, abort fault), only on routes that have one.
    if (route.plan.local) {
      const local = localAnswer(route, { secure: req.secure, hostHeader: req.hostHeader, path: req.path, query: req.query, headers: req.headers, trustForwarding: req.trustForwarding });
      if (local !== null) {
        if (local.kind === 'answer') sendLocal(reply, route, ctx, state, local.status, local.headers, local.body, unread);
        else {
          state.errorCode = 'FAULT_ABORT';
          sendProblem(reply, local.status, 'FAULT_ABORT', 'Fault injected', `the route ${route.id} injects this fault`, unread);
        }
        return undefined;
      }
    }
    const delay = route.actions.delay;
    if (delay !== null && Math.random() < delay.fraction) return sleep(delay.ms).then(() => exchange(req));
    return exchange(req);
  }

  /** Stage 5: the route's kind of exchange, chosen at install. */
  function exchange(req: HttpFlow): Promise<unknown> | undefined {
    const { reply, state, route, ctx } = req;
    const actions = route.actions;
    const unread = req.chunked || state.bytesIn > 0;
    const query = ctx !== null ? ctx.query : req.query;
    switch (route.plan.exchange) {
      case 'aggregate':
        return runAggregate(actions.aggregate as RuntimeAggregate, { reply, state, ctx, captures: req.found.captures, query, trustForwarding: req.trustForwarding, peer: req.peer, requestHeaders: actions.requestHeaders, hostRewrite: actions.hostRewrite, logger, metrics, send: (s, h, b) => sendLocal(reply, route, ctx, state, s, h, b, unread) });
      case 'protocol':
        return convert(req, query);
      default:
        // The plain path: the upstream's answer streams straight into the client response (forward-dispatch.ts);
        // response policies and body handling take the stream path (forward-http.ts).
        if (route.plan.streams) dispatchHttp(req, forwardSettings, prepareRequest(req, forwardSettings));
        else return forwardHttp(req, forwardSettings);
        return undefined;
    }
  }

  /** gRPC / gRPC-Web / SOAP / messaging conversion (protocols/); the path is the one the upstream would see. */
  async function convert(req: HttpFlow, query: string | null): Promise<unknown> {
    const { reply, raw, requestId, state, route, ctx, path, headers, method } = req;
    const sp = route.stripPrefix;
    // Aborted when the client goes away: the converter cancels its upstream call.
    const cancel = new AbortController();
    state.cancel = cancel;
    const handler = route.actions.protocol as ProtocolHandler;
    // A subscription stream is admitted again per delivered message (messaging/handler.ts).
    const recheck = handler.kind === 'messaging' && route.access !== null ? accessRechecker(route, { requestId, clientIp: state.clientIp, method, path, headers, query: req.query, hostName: state.hostName, secure: req.secure, trustForwarding: req.trustForwarding }) : undefined;
    const r = await handler.handle({ raw, method, path: sp === null ? path : path.length === sp.length ? '/' : path.slice(sp.length), query, captures: req.found.captures, headers, ctx, requestHeaders: route.actions.requestHeaders, requestId, state, deadlineMs: route.headersDeadlineMs, maxBodyBytes: maxBody, pick: { headers, clientIp: state.clientIp, query: req.query }, signal: cancel.signal, recheck });
    return sendLocal(reply, route, ctx, state, r.status, r.headers, r.body, r.close === true);
  }

  return {
    server,
    routing,
    listen: (at) =>
      new Promise<string>((resolve, reject) => {
        server.once('error', reject);
        server.listen(at.port, at.host ?? '0.0.0.0', () => {
          server.off('error', reject);
          const a = server.address();
          resolve(typeof a === 'string' || a === null ? String(a) : `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        // Stop accepting; idle keep-alive sockets close now, in-flight requests finish (bounded by the caller).
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
