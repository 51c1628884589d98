import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { RequestContext, runAccess, runResponse, type PolicyProblem, type PolicyReply } from '@tollgate/policies';
import { applyPathMatching, normalizePath, PathError, splitTarget } from '@tollgate/router';
import { BodyLimiter } from '@tollgate/upstream';
import { AccessLog, RequestState } from './access-log.js';
import { TrustedProxies, unmapIp } from './client-address.js';
import type { ConfigManager } from './config-manager.js';
import { clientResponseHeaders, pickRequestId, setForwardedHeaders, upstreamRequestHeaders } from './headers.js';
import type { ResolvedGatewayOptions } from './options.js';
import { mirrorRequest } from './mirror.js';
import { GATEWAY_ERRORS, problemJson, sendGatewayError, sendProblem } from './problem.js';
import { BadHost, requestHost } from './request-host.js';
import { forwardWithRetries } from './retry.js';
import { setLatencyHeaders, type GatewayMetrics } from './metrics.js';
import { injectTrace, startTrace } from './tracing.js';
import { applyHeaderOps, redirectLocation, upstreamPathFor, type RuntimeDestination } from './route-actions.js';
import type { RuntimeRoute } from './runtime.js';
import { runAggregate } from './aggregate/index.js';
import type { UsageRecorder } from '@tollgate/metering';
import { captureResponse, isJsonType, transformRequestBody, transformResponseJson, wantsResponseJson } from './body-transform.js';
import { readBodyUpTo } from './buffered-body.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Per-request state of the Tollgate proxy (null until the handler runs). */
    tg: RequestState | null;
  }
}

/** Methods the catch-all route takes; others get 404 from the not-found handler. */
const PROXIED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];

const kLimiter = Symbol('tollgate.bodyLimiter');
type WithLimiter = IncomingMessage & { [kLimiter]?: BodyLimiter };

function noop(): void {}

/** Status recorded for a request whose client went away before any status was sent (nginx's 499, never sent). */
export const CLIENT_CLOSED_STATUS = 499;

/** The reply a response is still to be accounted for, or null once it was (set by the onRequest hook). */
const kAccount = Symbol('tollgate.account');
/** `performance.now()` when the request head was taken (the onRequest hook). */
const kStartedAt = Symbol('tollgate.startedAt');
type AccountedResponse = ServerResponse & { [kAccount]?: FastifyReply | null; [kStartedAt]?: number };

/**
 * Milliseconds since the request head was taken. (Fastify's `reply.elapsedTime` is only tracked
 * when an onResponse hook exists, and is frozen at 'finish', which an aborted response never reaches.)
 */
function elapsedMs(reply: FastifyReply): number {
  const t = (reply.raw as AccountedResponse)[kStartedAt];
  return t === undefined ? 0 : performance.now() - t;
}

const kState = Symbol('tollgate.state');
type UpstreamBody = Readable & { [kState]?: RequestState };

/** The upstream response body failed (reset mid-body): the exchange was cut by the upstream. */
function onUpstreamBodyError(this: UpstreamBody): void {
  const state = this[kState];
  if (state !== undefined && state.aborted === null) state.aborted = 'upstream';
}

/** Why the upstream exchange of a client that went away is cancelled (classified CLIENT_ABORTED). */
function clientGone(): Error {
  return Object.assign(new Error('the client closed the connection'), { code: 'ECONNABORTED' });
}

/** Client went away mid-body: stop feeding the upstream (module-level, no per-request closure). */
function onClientError(this: WithLimiter, err: Error): void {
  this[kLimiter]?.destroy(err);
}

/** The context object policies read and annotate: one per request, created only when a route has policies. */
const Ctx = RequestContext;
type Ctx = RequestContext;

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
      const res = reply.raw as AccountedResponse;
      if (res[kAccount] === undefined) {
        res[kStartedAt] = performance.now();
        res[kAccount] = reply;
        res.once('close', onResponseClose);
      }
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
   * the gateway because the upstream failed mid-body. Fastify's onResponse runs only on 'finish',
   * never for an aborted response, so this listens to the raw response's 'close', which Node emits
   * after 'finish' and on a connection closed early alike. Whatever upstream targets the request
   * still holds are released here too: one place every path passes through.
   */
  function account(reply: FastifyReply): void {
    const res = reply.raw as AccountedResponse;
    if (res[kAccount] === null) return;
    res[kAccount] = null;
    const request = reply.request;
    // (Undefined on requests Fastify refused before routing: frameworkErrors builds them undecorated.)
    const state = request.tg ?? null;
    if (state !== null) {
      state.releaseLeases();
      if (!res.writableFinished) {
        state.aborted ??= 'client';
        // The upstream exchange of a client that left is cancelled, not awaited (frees its slot).
        if (state.cancel !== null) state.cancel.abort(clientGone());
        if (!res.headersSent && state.errorCode === null) state.errorCode = 'CLIENT_ABORTED';
      }
    }
    // The status the client was given; none at all when it left before the status line (499).
    const status = res.headersSent || res.writableFinished ? reply.statusCode : CLIENT_CLOSED_STATUS;
    const written = (request.raw.socket?.bytesWritten ?? 0) - (state?.writtenAtStart ?? 0);
    const bytesOut = state !== null && written > 0 ? written : 0;
    const latencyMs = elapsedMs(reply);
    try {
      meterRequest(state, status, bytesOut, latencyMs);
      metrics?.record(request, reply, state, status, latencyMs);
      accessLog?.write(request, reply, state, status, latencyMs);
    } catch (err) {
      // An event listener: a throw here would take the whole process down.
      logger.error({ err, requestId: request.id }, 'accounting a request failed');
    }
  }
  function onResponseClose(this: AccountedResponse): void {
    const reply = this[kAccount];
    if (reply !== undefined && reply !== null) account(reply);
  }
  // Always registered: the lease backstop must run even with metrics, metering and the log off.
  app.addHook('onRequest', (request, reply, done) => {
    const res = reply.raw as AccountedResponse;
    res[kStartedAt] = performance.now();
    res[kAccount] = reply;
    res.once('close', onResponseClose);
    done();
  });

  function fail(reply: FastifyReply, state: RequestState, code: Parameters<typeof sendGatewayError>[1], detail: string, close = false): FastifyReply {
    state.errorCode = code;
    return sendGatewayError(reply, code, detail, close);
  }

  function sendPolicyReply(reply: FastifyReply, state: RequestState, r: PolicyReply, close: boolean): FastifyReply {
    if (r.headers) reply.headers(r.headers);
    if (close) reply.header('connection', 'close');
    if (typeof r.body === 'string' || Buffer.isBuffer(r.body)) return reply.code(r.status).header('x-request-id', String(reply.request.id)).send(r.body);
    state.errorCode = r.body.code;
    reply.code(r.status).header('content-type', 'application/problem+json').header('x-request-id', String(reply.request.id));
    return reply.send(problemJson(r.status, r.body.code, r.body.title, r.body.detail ?? r.body.title, String(reply.request.id), r.body.errors));
  }

  /**
   * Answers the problem of a response policy that could not produce the response (a header value
   * from request data that is not a field value): a stable code and the gateway's status for it,
   * never the raw 500 of a head Node refuses to write.
   */
  function sendResponseProblem(reply: FastifyReply, state: RequestState, p: PolicyProblem, close: boolean): FastifyReply {
    state.errorCode = p.code;
    const status = (GATEWAY_ERRORS as Readonly<Record<string, { status: number } | undefined>>)[p.code]?.status ?? 500;
    return sendProblem(reply, status, p.code, p.title, p.detail ?? p.title, close);
  }

  /** The policy context of a request no access policy ran for, made when a response policy needs one. */
  function responseContext(reply: FastifyReply, route: RuntimeRoute, state: RequestState): Ctx {
    const req = reply.request.raw;
    return new Ctx(String(reply.request.id), state.clientIp, req.method ?? 'GET', state.path, req.headers, route.api, route.route, state.query, state.hostName);
  }

  /**
   * Answers from the gateway for a route action (redirect, direct response), with the route's
   * response header changes and response policies applied as for an upstream answer.
   */
  function sendLocal(reply: FastifyReply, route: RuntimeRoute, ctx: Ctx | null, state: RequestState, status: number, extra: Record<string, string>, body: string | Buffer | Readable, close: boolean): FastifyReply {
    const h: Record<string, string | string[] | undefined> = { ...extra, 'x-request-id': String(reply.request.id) };
    if (route.actions.responseHeaders !== null) applyHeaderOps(h, route.actions.responseHeaders);
    if (route.response !== null) {
      ctx ??= responseContext(reply, route, state);
      const p = runResponse(route.response, ctx, { status, headers: h });
      if (p !== undefined) {
        if (body instanceof Readable) body.destroy();
        return sendResponseProblem(reply, state, p, close);
      }
    }
    // Response body changes apply to a local or cached answer as to an upstream one.
    if ((typeof body === 'string' || Buffer.isBuffer(body)) && wantsResponseJson(route.bodies, h)) {
      const raw = typeof body === 'string' ? Buffer.from(body) : body;
      if (raw.length > route.bodies.responseMaxBytes) return fail(reply, state, 'RESPONSE_TOO_LARGE', `the response body exceeds ${route.bodies.responseMaxBytes} bytes, the limit of its transformation`, close);
      ctx ??= responseContext(reply, route, state);
      body = transformResponseJson(route.bodies, ctx, { status, headers: h }, raw);
    }
    if (close) h.connection = 'close';
    return reply.code(status).headers(h).send(body);
  }

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

    // One reference read: the whole request is served by this snapshot even if a swap happens.
    const snap = manager.current;
    const target = splitTarget(raw.url ?? '/');
    state.query = target.query;
    state.path = target.path;
    if (host instanceof BadHost) return fail(reply, state, 'BAD_HOST', host.detail);
    state.hostName = host;
    if (snap === null) return fail(reply, state, 'NOT_READY', 'no configuration is loaded yet');
    // The asterisk-form (`OPTIONS *`, RFC 9112 §3.2.4) addresses the gateway itself, never a route.
    if (target.path.charCodeAt(0) !== 47) return fail(reply, state, 'BAD_PATH', 'the request target must be a path (origin-form or absolute-form)');
    let path: string;
    try {
      path = normalizePath(target.path);
    } catch (err) {
      if (err instanceof PathError) return fail(reply, state, 'BAD_PATH', `${err.message} (${err.code})`);
      throw err;
    }
    state.path = path;
    const method = raw.method ?? 'GET';
    let found = snap.routes.lookup(host, path, method, headers, target.query);
    // A CORS preflight (Fetch §3.2.2) is routed as the request it announces, when that route answers preflights.
    if (found.kind === 'method_not_allowed' && method === 'OPTIONS' && headers.origin !== undefined) {
      const announced = headers['access-control-request-method'];
      const pre = typeof announced === 'string' ? snap.routes.lookup(host, path, announced, headers, target.query) : found;
      if (pre.kind === 'match' && pre.value.actions.answersPreflight) found = pre;
    }
    if (found.kind === 'not_found') return fail(reply, state, 'ROUTE_NOT_FOUND', `no route for ${method} ${path}`);
    if (found.kind === 'method_not_allowed') {
      reply.header('allow', found.allow.join(', '));
      return fail(reply, state, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`);
    }
    // The API's path matching options (`;` parameters, trailing dots, case): the path the route
    // matched is the one policies see and the upstream gets, or the spelling is refused.
    try {
      path = applyPathMatching(path, found.pathMatching);
    } catch (err) {
      if (err instanceof PathError) return fail(reply, state, 'BAD_PATH', `${err.message} (${err.code})`);
      throw err;
    }
    state.path = path;
    const route: RuntimeRoute = found.value;
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

    let ctx: Ctx | null = null;
    if (route.access !== null) {
      ctx = new Ctx(String(request.id), state.clientIp, method, path, headers, route.api, route.route, target.query, host);
      ctx.units = route.units;
      // How the client reached the gateway, as the upstream will be told (the response cache keys on it).
      ctx.secure = (socket as TLSSocket).encrypted === true;
      ctx.trustForwarding = trustForwarding;
      // A policy that must see the body (request-validation) reads it through ctx.readBody; others never touch it.
      if (chunked || state.bytesIn > 0) ctx.bodySource = { stream: raw, maxBytes: maxBody };
      state.accessAt = performance.now();
      let r = runAccess(route.access, ctx);
      if (r !== undefined && typeof (r as Promise<unknown>).then === 'function') r = await r;
      state.accessMs = performance.now() - state.accessAt;
      // Auth policies take credentials out of the query: the access log sees what is forwarded.
      state.query = ctx.query;
      state.consumer = ctx.consumer?.name ?? null;
      state.subscription = ctx.subscription;
      state.quotaCharge = ctx.quotaCharge;
      // A refused request's body is never read: close the connection rather than drain it.
      // A reply standing in for the upstream (a cache hit) is answered as the upstream's would be.
      if (r !== undefined && (r as PolicyReply).asUpstream === true) return sendLocal(reply, route, ctx, state, (r as PolicyReply).status, { ...(r as PolicyReply).headers }, (r as PolicyReply).body as Buffer, chunked || state.bytesIn > 0);
      if (r !== undefined) {
        // A draft is invisible: a refusal to anyone but its preview consumers is the gateway's 404.
        if (route.draftPreview !== null && (ctx.consumer === null || !route.draftPreview.has(ctx.consumer.name)) && (r as PolicyReply).status !== 404) {
          return fail(reply, state, 'ROUTE_NOT_FOUND', `no route for ${method} ${path}`, (chunked || state.bytesIn > 0) && ctx.bufferedBody === null);
        }
        // A deprecated API says so on refusals too (its lifecycle policy adds the headers to other answers).
        if (route.refusalHeaders !== null) reply.headers(route.refusalHeaders);
        // (A body a policy read whole is not left unread: the connection stays reusable.)
        return sendPolicyReply(reply, state, r as PolicyReply, (chunked || state.bytesIn > 0) && ctx.bufferedBody === null);
      }
    }

    // Route actions that answer without an upstream (redirect, direct response, abort fault).
    // As with a policy refusal, an unread body means the connection is closed, not drained.
    const actions = route.actions;
    const unread = chunked || state.bytesIn > 0;
    if (actions.redirect !== null) {
      const location = redirectLocation(actions.redirect, (socket as TLSSocket).encrypted === true, hostHeader, path, target.query);
      return sendLocal(reply, route, ctx, state, actions.redirect.code, { location }, '', unread);
    }
    if (route.publishedSpec !== null) {
      // The Api's OpenAPI document, its servers pointing at this gateway as the client reached it.
      const xp = trustForwarding ? headers['x-forwarded-proto'] : undefined;
      const xh = trustForwarding ? headers['x-forwarded-host'] : undefined;
      const scheme = typeof xp === 'string' && /^https?$/i.test(xp) ? xp.toLowerCase() : (socket as TLSSocket).encrypted ? 'https' : 'http';
      const servers = JSON.stringify([{ url: `${scheme}://${typeof xh === 'string' ? xh : hostHeader}${route.basePath}`, description: 'this gateway' }]);
      return sendLocal(reply, route, ctx, state, 200, { 'content-type': 'application/json' }, route.publishedSpec.head + servers + route.publishedSpec.tail, unread);
    }
    if (actions.direct !== null) return sendLocal(reply, route, ctx, state, actions.direct.status, { 'content-type': actions.direct.contentType }, actions.direct.body, unread);
    if (actions.abort !== null && Math.random() < actions.abort.fraction) {
      state.errorCode = 'FAULT_ABORT';
      return sendProblem(reply, actions.abort.status, 'FAULT_ABORT', 'Fault injected', `the route ${route.id} injects this fault`, unread);
    }
    if (actions.delay !== null && Math.random() < actions.delay.fraction) await sleep(actions.delay.ms);
    if (actions.aggregate !== null) {
      const query = ctx !== null ? ctx.query : target.query;
      return runAggregate(actions.aggregate, { reply, state, ctx, captures: found.captures, query, trustForwarding, peer, requestHeaders: actions.requestHeaders, hostRewrite: actions.hostRewrite, logger, metrics, send: (s, h, b) => sendLocal(reply, route, ctx, state, s, h, b, unread) });
    }
    if (actions.protocol !== null) {
      // gRPC / gRPC-Web / SOAP conversion (protocols/); the path is the one the upstream would see.
      const sp = route.stripPrefix;
      // Aborted when the client goes away: the converter cancels its upstream call.
      state.cancel = new AbortController();
      const r = await actions.protocol.handle({ raw, method, path: sp === null ? path : path.length === sp.length ? '/' : path.slice(sp.length), query: ctx !== null ? ctx.query : target.query, captures: found.captures, headers, ctx, requestHeaders: actions.requestHeaders, requestId: String(request.id), state, deadlineMs: route.headersDeadlineMs, maxBodyBytes: maxBody, pick: { headers, clientIp: state.clientIp, query: target.query }, signal: state.cancel.signal });
      return sendLocal(reply, route, ctx, state, r.status, r.headers, r.body, r.close === true);
    }

    let body: IncomingMessage | BodyLimiter | Readable | null = null;
    let limiter: BodyLimiter | null = null;
    if (ctx !== null && ctx.bufferedBody !== null) {
      // Read (and checked) by a policy: forward exactly those bytes, with their length known.
      state.bytesIn = ctx.bufferedBody.length;
      body = state.bytesIn > 0 ? Readable.from([ctx.bufferedBody], { objectMode: false }) : null;
    } else if (chunked) {
      limiter = new BodyLimiter(maxBody);
      limiter.on('error', noop);
      (raw as WithLimiter)[kLimiter] = limiter;
      raw.on('error', onClientError);
      raw.pipe(limiter);
      body = limiter;
    } else if (state.bytesIn > 0) {
      body = raw;
    }

    const dest = actions.split !== null ? actions.split.pick() : (actions.primary as RuntimeDestination);
    const out = upstreamRequestHeaders(headers, trustForwarding, route.forwardOverrides);
    // Policies' changes (credential removed, X-Consumer-* set) apply after the stripping.
    if (ctx !== null) ctx.applyTo(out);
    if (actions.requestHeaders !== null) applyHeaderOps(out, actions.requestHeaders);
    setForwardedHeaders(out, headers, trustForwarding, peer, (socket as TLSSocket).encrypted === true, hostHeader);
    out['x-request-id'] = String(request.id);
    injectTrace(out, state.trace);
    // JSON request body changes (request-transformer): only routes that have them buffer the body.
    if (body !== null && ctx !== null && route.bodies !== null && route.bodies.requestJson !== null && isJsonType(headers['content-type'])) {
      try {
        body = await transformRequestBody(route.bodies, ctx, body, maxBody, out);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'BODY_TOO_LARGE') {
          state.errorCode = 'CLIENT_ABORTED';
          raw.destroy();
          return reply;
        }
        return fail(reply, state, 'BODY_TOO_LARGE', `the request body exceeds ${Math.min(maxBody, route.bodies.requestMaxBytes)} bytes, the limit of its transformation`, true);
      }
    }
    const fixedHost = actions.hostRewrite ?? (preserveHost && hostHeader !== '' ? hostHeader : null);

    let upstreamPath = upstreamPathFor(actions, path, route.basePath, route.stripPrefix, found);
    const query = ctx !== null ? ctx.query : target.query;
    if (query !== null) upstreamPath = `${upstreamPath}?${query}`;

    const pick = { headers, clientIp: state.clientIp, query: target.query };
    // Gone already (while policies ran or the body was read): nothing to forward.
    if ((reply.raw as AccountedResponse)[kAccount] === null) return reply;
    state.cancel = new AbortController();
    const t0 = performance.now();
    state.upstreamAt = t0;
    const pending = forwardWithRetries({
      holder: state,
      signal: state.cancel.signal,
      destination: dest,
      pick,
      method,
      path: upstreamPath,
      headers: out,
      host: (t) => fixedHost ?? t.host,
      body,
      timeoutMs: route.headersDeadlineMs,
      retries: actions.retries,
      onTry: (t) => void (state.target = t.origin),
    });
    // Fire-and-forget after the primary is on its way, so the copy never delays it.
    if (actions.mirror !== null && body === null && Math.random() < actions.mirror.fraction) {
      mirrorRequest(actions.mirror.destination, pick, method, upstreamPath, out, fixedHost ?? hostHeader);
    }
    const result = await pending;
    state.upstreamMs = performance.now() - t0;
    if (limiter !== null) state.bytesIn = limiter.bytes;
    if (!result.ok) {
      const e = result.error;
      if (typeof e === 'string') {
        const why = e === 'NO_HEALTHY_UPSTREAM' ? `every target of upstream ${dest.upstream} is unhealthy or ejected` : `upstream ${dest.upstream} is at its connection and pending-request limit`;
        return fail(reply, state, e, why, body !== null);
      }
      if (e.code === 'CLIENT_ABORTED') {
        state.errorCode = e.code;
        raw.destroy();
        return reply;
      }
      if (e.code !== 'BODY_TOO_LARGE') logger.warn({ requestId: request.id, upstream: dest.upstream, target: state.target, code: e.code, err: e.message, tries: result.tries }, 'upstream request failed');
      // An unread body remainder cannot be reused on this connection: close it (RFC 9112 §9.6).
      return fail(reply, state, e.code as 'BODY_TOO_LARGE', e.message, body !== null);
    }
    const { res } = result;
    // A reset mid-body is the upstream's doing (Fastify then cuts the client connection, or answers
    // 502 through the error handler when no byte was sent yet); the account flags it.
    (res.body as UpstreamBody)[kState] = state;
    res.body.once('error', onUpstreamBodyError);

    const resHeaders = clientResponseHeaders(res.headers);
    // The response cache sees the upstream's answer before any change (a tee, nothing waits).
    let resBody: Readable = route.bodies !== null && ctx !== null ? captureResponse(route.bodies, ctx, res.statusCode, resHeaders, res.body) : res.body;
    resHeaders['x-request-id'] = String(request.id);
    if (latencyHeaders) setLatencyHeaders(resHeaders, elapsedMs(reply), state);
    if (actions.responseHeaders !== null) applyHeaderOps(resHeaders, actions.responseHeaders);
    if (route.response !== null) {
      ctx ??= responseContext(reply, route, state);
      const p = runResponse(route.response, ctx, { status: res.statusCode, headers: resHeaders });
      if (p !== undefined) {
        // The upstream answered (its health saw that); only this client's answer is replaced.
        res.body.on('error', noop);
        res.body.destroy();
        if (resBody !== res.body) resBody.destroy();
        return sendResponseProblem(reply, state, p, false);
      }
    }
    // JSON response body changes (response-transformer): only such routes buffer the response.
    if (wantsResponseJson(route.bodies, resHeaders)) {
      const limit = route.bodies.responseMaxBytes;
      let buf: Buffer;
      try {
        buf = await readBodyUpTo(resBody, limit);
      } catch (err) {
        resBody.destroy();
        if ((err as { code?: unknown }).code === 'BODY_TOO_LARGE') return fail(reply, state, 'RESPONSE_TOO_LARGE', `the upstream response exceeds ${limit} bytes, the limit of its transformation`);
        return fail(reply, state, 'UPSTREAM_UNAVAILABLE', `the upstream response body failed: ${(err as Error).message}`);
      }
      ctx ??= responseContext(reply, route, state);
      const changed = transformResponseJson(route.bodies, ctx, { status: res.statusCode, headers: resHeaders }, buf);
      return reply.code(res.statusCode).headers(resHeaders).send(changed);
    }
    return reply.code(res.statusCode).headers(resHeaders).send(resBody);
  }

  app.route({ method: PROXIED_METHODS, url: '*', handler: handle });
  return app;
}
