import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RequestContext } from '@tollgate/policies';
import { splitTarget } from '@tollgate/router';
import { AccessLog, RequestState } from './access-log.js';
import { TrustedProxies, unmapIp } from './client-address.js';
import type { ConfigManager } from './config-manager.js';
import { pickRequestId } from './headers.js';
import type { ResolvedGatewayOptions } from './options.js';
import { sendGatewayError, sendProblem } from './problem.js';
import { BadHost, requestHost } from './request-host.js';
import type { GatewayMetrics } from './metrics.js';
import { startTrace } from './tracing.js';
import { resolveRoute } from './stages/resolve.js';
import { accessContext, runAccessStage, type AccessVerdict } from './stages/access.js';
import { accessRechecker } from './messaging/recheck.js';
import { createAccounting } from './stages/account.js';
import { forwardHttp, type ForwardSettings } from './stages/forward-http.js';
import { localAnswer } from './stages/local-answer.js';
import { fail, sendLocal, sendPolicyReply } from './stages/respond.js';

import { runAggregate, type RuntimeAggregate } from './aggregate/index.js';
import type { ProtocolHandler } from './protocols/index.js';
import type { UsageRecorder } from '@tollgate/metering';

export { CLIENT_CLOSED_STATUS } from './stages/account.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Per-request state of the Tollgate proxy (null until the handler runs). */
    tg: RequestState | null;
  }
}

/** Methods the catch-all route takes; others get 404 from the not-found handler. */
const PROXIED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];

/** Dependencies of the proxy app. */
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
}

/** Where a graceful shutdown is; the gateway's close sets the flags, the proxy reads them per request. */
export interface DrainState {
  /** SIGTERM received: every response from now on carries `Connection: close`. */
  draining: boolean;
  /** The listener is closing: new requests on kept-alive connections are refused 503 SHUTTING_DOWN. */
  refusing: boolean;
}

/**
 * Builds the proxy Fastify app: one catch-all route dispatching through the current snapshot
 * (Fastify's routes are frozen once ready, fastify#1771), no body parsing (bodies stream).
 */
export function buildProxyApp(deps: ProxyDeps): FastifyInstance {
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
  const accounting = createAccounting({ meter, metrics, accessLog, apiVersions, logger });
  const forwardSettings: ForwardSettings = { maxBodyBytes: maxBody, preserveHost, latencyHeaders, logger, accounting };

  const app = Fastify({
    logger: false,
    requestTimeout: options.requestTimeoutMs,
    connectionTimeout: options.connectionTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    http: { headersTimeout: options.headersTimeoutMs, maxHeaderSize: options.maxHeaderSize },
    // Fastify's own answer while closing is a non-problem JSON 503: refused below instead.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    exposeHeadRoutes: false,
    genReqId: (req) => pickRequestId(req.headers['x-request-id']),
    // Fastify errors raised before our handler (a URL the router cannot decode, etc.) get the same problem shape.
    // Fastify skips the onResponse hook on this path, so the access line is written here.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      // A bad Host is named as such even when Fastify refused the target first (`http:///x`).
      const host = requestHost(request.raw);
      if (host instanceof BadHost) sendGatewayError(reply, 'BAD_HOST', host.detail);
      else if (error.code === 'FST_ERR_BAD_URL') sendGatewayError(reply, 'BAD_PATH', 'the request path is not a valid URL path');
      else sendGatewayError(reply, 'BAD_REQUEST', error.message);
      // The onRequest hook did not run: account when this response is over, like any other.
      accounting.watch(reply);
    },
  });
  app.decorateRequest('tg', null);
  app.removeAllContentTypeParsers();
  // Leave every body unread: it is streamed to the upstream by the handler.
  app.addContentTypeParser('*', (_req: FastifyRequest, _payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void) => done(null));

  const drain = deps.drain ?? { draining: false, refusing: false };
  // Draining: responses ask the client to close the connection (RFC 9112 §9.6), so kept-alive
  // clients reconnect, through the load balancer, to a node that is not going away; requests that
  // still arrive once the listener closes are refused before any work, as problem+json.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!drain.refusing) return done();
    reply.header('retry-after', '0');
    sendGatewayError(reply, 'SHUTTING_DOWN', 'this gateway node is shutting down; retry the request (a new connection reaches another node)', true);
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (drain.draining) reply.header('connection', 'close');
    done(null, payload);
  });
  app.setNotFoundHandler((_req, reply) => void sendGatewayError(reply, 'ROUTE_NOT_FOUND', 'no route matches the request'));
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500)) {
      return void sendGatewayError(reply, 'BAD_REQUEST', err.message);
    }
    const st = request.tg;
    if (st !== null && st.aborted === 'upstream' && !reply.raw.headersSent) {
      // The upstream reset after its status line but before any body byte reached the client:
      // nothing was sent, so this is still a clean 502 — without the upstream's headers.
      for (const name of reply.raw.getHeaderNames()) reply.raw.removeHeader(name);
      for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
      st.errorCode = 'UPSTREAM_UNAVAILABLE';
      return void sendGatewayError(reply, 'UPSTREAM_UNAVAILABLE', `the upstream response failed before its body: ${err.message}`);
    }
    logger.error({ err, requestId: request.id }, 'unexpected error in the proxy');
    if (request.tg) request.tg.errorCode = 'INTERNAL_ERROR';
    return void sendGatewayError(reply, 'INTERNAL_ERROR', 'the gateway failed to handle the request');
  });
  // Always registered: the exchanges' backstop must run even with metrics, metering and the log off.
  app.addHook('onRequest', (_request, reply, done) => {
    accounting.watch(reply);
    done();
  });

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
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
      return fail(reply, state, resolved.code, resolved.detail);
    }
    const { route, found } = resolved;
    const path = resolved.path;
    state.api = route.api;
    state.route = route.route;
    state.units = route.units;
    state.metric = route.metric;

    // Body: a declared length is checked up front; a chunked body is counted while it streams.
    const cl = headers['content-length'];
    const chunked = cl === undefined && headers['transfer-encoding'] !== undefined;
    if (cl !== undefined) {
      const n = Number(cl);
      if (n > maxBody) return fail(reply, state, 'BODY_TOO_LARGE', `the request body (${n} bytes) exceeds ${maxBody} bytes`, true);
      state.bytesIn = n;
    }

    // Stage 2: access policies, with the lifecycle and draft rules (shared with WebSocket handshakes).
    let ctx: RequestContext | null = null;
    if (route.access !== null) {
      ctx = accessContext(route, { requestId: String(request.id), clientIp: state.clientIp, method, path, headers, query: target.query, hostName: state.hostName, secure: (socket as TLSSocket).encrypted === true, trustForwarding });
      // mtls-auth reads the verified client certificate of the connection.
      if (ctx.secure) ctx.tlsSocket = socket as TLSSocket;
      // A policy that must see the body (request-validation) reads it through ctx.readBody; others never touch it.
      if (chunked || state.bytesIn > 0) ctx.bodySource = { stream: raw, maxBytes: maxBody };
      state.accessAt = performance.now();
      let v = runAccessStage(route, route.access, ctx);
      if (v !== undefined && typeof (v as Promise<unknown>).then === 'function') v = await v;
      state.accessMs = performance.now() - state.accessAt;
      // Auth policies take credentials out of the query: the access log sees what is forwarded.
      state.query = ctx.query;
      state.consumer = ctx.consumer?.name ?? null;
      state.subscription = ctx.subscription;
      state.quotaCharge = ctx.quotaCharge;
      const verdict = v as AccessVerdict;
      if (verdict !== undefined) {
        // A refused request's body is never read: close the connection rather than drain it.
        // (A body a policy read whole is not left unread: the connection stays reusable.)
        const unreadBody = (chunked || state.bytesIn > 0) && ctx.bufferedBody === null;
        // A reply standing in for the upstream (a cache hit) is answered as the upstream's would be.
        if (verdict.kind === 'as-upstream') return sendLocal(reply, route, ctx, state, verdict.reply.status, { ...verdict.reply.headers }, verdict.reply.body as Buffer, chunked || state.bytesIn > 0);
        if (verdict.kind === 'hidden') return fail(reply, state, 'ROUTE_NOT_FOUND', `no route for ${method} ${path}`, unreadBody);
        return sendPolicyReply(reply, state, verdict.reply, unreadBody);
      }
    }

    const plan = route.plan;
    const secure = (socket as TLSSocket).encrypted === true;
    // As with a policy refusal, an unread body means the connection is closed, not drained.
    const unread = chunked || state.bytesIn > 0;
    // Stage 3: local answer (redirect, published spec, direct response, abort fault), only on routes that have one.
    if (plan.local) {
      const local = localAnswer(route, { secure, hostHeader, path, query: target.query, headers, trustForwarding });
      if (local !== null) {
        if (local.kind === 'answer') return sendLocal(reply, route, ctx, state, local.status, local.headers, local.body, unread);
        state.errorCode = 'FAULT_ABORT';
        return sendProblem(reply, local.status, 'FAULT_ABORT', 'Fault injected', `the route ${route.id} injects this fault`, unread);
      }
    }
    const actions = route.actions;
    if (actions.delay !== null && Math.random() < actions.delay.fraction) await sleep(actions.delay.ms);
    // Stage 5: the route's kind of exchange, chosen at install.
    const query = ctx !== null ? ctx.query : target.query;
    switch (plan.exchange) {
      case 'aggregate':
        return runAggregate(actions.aggregate as RuntimeAggregate, { reply, state, ctx, captures: found.captures, query, trustForwarding, peer, requestHeaders: actions.requestHeaders, hostRewrite: actions.hostRewrite, logger, metrics, send: (s, h, b) => sendLocal(reply, route, ctx, state, s, h, b, unread) });
      case 'protocol': {
        // gRPC / gRPC-Web / SOAP conversion (protocols/); the path is the one the upstream would see.
        const sp = route.stripPrefix;
        // Aborted when the client goes away: the converter cancels its upstream call.
        state.cancel = new AbortController();
        const handler = actions.protocol as ProtocolHandler;
        // A subscription stream is admitted again per delivered message (messaging/handler.ts).
        const recheck = handler.kind === 'messaging' && route.access !== null ? accessRechecker(route, { requestId: String(request.id), clientIp: state.clientIp, method, path, headers, query: target.query, hostName: state.hostName, secure, trustForwarding }) : undefined;
        const r = await handler.handle({ raw, method, path: sp === null ? path : path.length === sp.length ? '/' : path.slice(sp.length), query, captures: found.captures, headers, ctx, requestHeaders: actions.requestHeaders, requestId: String(request.id), state, deadlineMs: route.headersDeadlineMs, maxBodyBytes: maxBody, pick: { headers, clientIp: state.clientIp, query: target.query }, signal: state.cancel.signal, recheck });
        return sendLocal(reply, route, ctx, state, r.status, r.headers, r.body, r.close === true);
      }
      default:
        return forwardHttp({ reply, raw, requestId: String(request.id), state, route, found, ctx, method, path, query: target.query, headers, hostHeader, peer, secure, trustForwarding, chunked }, forwardSettings);
    }
  }

  app.route({ method: PROXIED_METHODS, url: '*', handler: handle });
  return app;
}
