import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { ProxyReply } from '../reply.js';
import type { Logger } from 'pino';
import { runResponse } from '@tollgate/policies';
import { BodyLimiter, forwardExchange, type ForwardResponse, type PickFailure, type UpstreamError } from '@tollgate/upstream';
import type { RequestState } from '../access-log.js';
import { captureResponse, isJsonType, transformRequestBody, transformResponseJson, wantsResponseJson } from '../body-transform.js';
import { readBodyUpTo } from '../buffered-body.js';
import { applyHeaderOps } from '../header-ops.js';
import { clientResponseHeaders } from '../headers.js';
import { setLatencyHeaders } from '../metrics.js';
import type { RuntimeDestination } from '../route-actions.js';
import { injectTrace } from '../tracing.js';
import type { Accounting } from './account.js';
import { elapsedMs } from './account.js';
import type { HttpFlow } from './flow.js';
import { upstreamHead } from './prepare.js';
import { fail, responseContext, sendResponseProblem } from './respond.js';

const kLimiter = Symbol('tollgate.bodyLimiter');
type WithLimiter = IncomingMessage & { [kLimiter]?: BodyLimiter };

function noop(): void {}

const kState = Symbol('tollgate.state');
type UpstreamBody = Readable & { [kState]?: RequestState };

/** The upstream response body failed (reset mid-body): the exchange was cut by the upstream. */
function onUpstreamBodyError(this: UpstreamBody): void {
  const state = this[kState];
  if (state !== undefined && state.aborted === null) state.aborted = 'upstream';
}

/** Client went away mid-body: stop feeding the upstream (module-level, no per-request closure). */
function onClientError(this: WithLimiter, err: Error): void {
  this[kLimiter]?.destroy(err);
}

/** Settings of the HTTP exchange, fixed per proxy app. */
export interface ForwardSettings {
  readonly maxBodyBytes: number;
  readonly preserveHost: boolean;
  readonly latencyHeaders: boolean;
  readonly logger: Logger;
  readonly accounting: Accounting;
  /** The listener's drain flag: responses carry `Connection: close` while draining. */
  readonly drain: { readonly draining: boolean };
  /** The listener's error answer (a stable code) for a failure before the response started. */
  readonly onError: (err: Error, reply: ProxyReply) => void;
}

/** The upstream request, prepared (stage 4). */
export interface UpstreamRequest {
  readonly destination: RuntimeDestination;
  readonly headers: Record<string, string | string[]>;
  readonly path: string;
  readonly fixedHost: string | null;
  /** A policy's buffered copy, or the request (or its length-limited stream), or null. */
  readonly body: Readable | Buffer | null;
  readonly limiter: BodyLimiter | null;
}

/**
 * Stage 4, prepare upstream request: the body as it is forwarded (a policy's buffered copy, a
 * length-limited chunked stream, or the request itself), the header hygiene (headers.ts), the
 * policies' and the route's header changes, forwarding headers, request id and trace, the Host
 * rule and the upstream path. JSON body changes come after, in {@link prepare}.
 */
export function prepareRequest(f: HttpFlow, s: ForwardSettings): UpstreamRequest {
  const { raw, state, route, ctx } = f;
  const actions = route.actions;
  let body: IncomingMessage | BodyLimiter | Readable | Buffer | null = null;
  let limiter: BodyLimiter | null = null;
  if (ctx !== null && ctx.bufferedBody !== null) {
    // Read (and checked) by a policy: forward exactly those bytes, with their length known.
    state.bytesIn = ctx.bufferedBody.length;
    body = state.bytesIn > 0 ? ctx.bufferedBody : null;
  } else if (f.chunked) {
    limiter = new BodyLimiter(s.maxBodyBytes);
    limiter.on('error', noop);
    (raw as WithLimiter)[kLimiter] = limiter;
    raw.on('error', onClientError);
    raw.pipe(limiter);
    body = limiter;
  } else if (state.bytesIn > 0) {
    body = raw;
  }
  const destination = actions.split !== null ? actions.split.pick() : (actions.primary as RuntimeDestination);
  const head = upstreamHead(f);
  injectTrace(head.headers, state.trace);
  const fixedHost = actions.hostRewrite ?? (s.preserveHost && f.hostHeader !== '' ? f.hostHeader : null);
  return { destination, headers: head.headers, path: head.path, fixedHost, body, limiter };
}

/** Stage 4 with the route's JSON request body changes (request-transformer); null when the client was answered. */
async function prepare(f: HttpFlow, s: ForwardSettings): Promise<UpstreamRequest | null> {
  const p = prepareRequest(f, s);
  const { raw, state, route, ctx, headers, reply } = f;
  let body: Readable | Buffer | null = p.body;
  if (Buffer.isBuffer(body)) body = Readable.from([body], { objectMode: false });
  // JSON request body changes (request-transformer): only routes that have them buffer the body.
  if (body !== null && ctx !== null && route.bodies !== null && route.bodies.requestJson !== null && isJsonType(headers['content-type'])) {
    try {
      body = await transformRequestBody(route.bodies, ctx, body, s.maxBodyBytes, p.headers);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'BODY_TOO_LARGE') {
        state.errorCode = 'CLIENT_ABORTED';
        raw.destroy();
        return null;
      }
      fail(reply, state, 'BODY_TOO_LARGE', `the request body exceeds ${Math.min(s.maxBodyBytes, route.bodies.requestMaxBytes)} bytes, the limit of its transformation`, true);
      return null;
    }
  }
  return { ...p, body };
}

/**
 * Stages 4 to 7 of a route that forwards to one upstream: prepare, the exchange (pick, forward,
 * retry, mirror, passive health, circuit accounting and the target's release, all owned by
 * `forwardExchange` in @tollgate/upstream), the response policies and the answer.
 */
export async function forwardHttp(f: HttpFlow, s: ForwardSettings): Promise<ProxyReply> {
  const prepared = await prepare(f, s);
  if (prepared === null) return f.reply;
  const { reply, state, route, raw } = f;
  const actions = route.actions;
  const { destination: dest, limiter } = prepared;
  const body = prepared.body as Readable | null;
  // Gone already (while policies ran or the body was read): nothing to forward.
  if (s.accounting.done(reply)) return reply;
  const cancel = new AbortController();
  state.cancel = cancel;
  const t0 = performance.now();
  state.upstreamAt = t0;
  const result = await forwardExchange({
    owner: state,
    signal: cancel.signal,
    destination: dest,
    pick: { headers: f.headers, clientIp: state.clientIp, query: f.query },
    method: f.method,
    path: prepared.path,
    headers: prepared.headers,
    fixedHost: prepared.fixedHost,
    body,
    timeoutMs: route.headersDeadlineMs,
    retries: actions.retries,
    mirror: actions.mirror !== null && body === null && Math.random() < actions.mirror.fraction ? { destination: actions.mirror.destination, host: prepared.fixedHost ?? f.hostHeader } : null,
    onTry: (t) => void (state.target = t.origin),
  });
  state.upstreamMs = performance.now() - t0;
  if (limiter !== null) state.bytesIn = limiter.bytes;
  if (!result.ok) return answerFailure(f, s, dest.upstream, result.error, result.tries, body !== null);
  return respondUpstream(f, s, result.res);
}

/** The client's answer when the exchange got no response: a stable code, or nothing for a client that left. */
export function answerFailure(f: HttpFlow, s: ForwardSettings, upstream: string, e: UpstreamError | PickFailure, tries: number, hadBody: boolean): ProxyReply {
  const { reply, state } = f;
  if (typeof e === 'string') {
    const why = e === 'NO_HEALTHY_UPSTREAM' ? `every target of upstream ${upstream} is unhealthy or ejected` : `upstream ${upstream} is at its connection and pending-request limit`;
    return fail(reply, state, e, why, hadBody);
  }
  if (e.code === 'CLIENT_ABORTED') {
    state.errorCode = e.code;
    f.raw.destroy();
    return reply;
  }
  if (e.code !== 'BODY_TOO_LARGE') s.logger.warn({ requestId: f.requestId, upstream, target: state.target, code: e.code, err: e.message, tries }, 'upstream request failed');
  // An unread body remainder cannot be reused on this connection: close it (RFC 9112 §9.6).
  return fail(reply, state, e.code as 'BODY_TOO_LARGE', e.message, hadBody);
}

/** Stages 6 and 7 for an upstream's answer: response header changes, response policies, JSON body changes, the answer. */
async function respondUpstream(f: HttpFlow, s: ForwardSettings, res: ForwardResponse): Promise<ProxyReply> {
  const { reply, state, route } = f;
  const actions = route.actions;
  // A reset mid-body is the upstream's doing (Fastify then cuts the client connection, or answers
  // 502 through the error handler when no byte was sent yet); the account flags it.
  (res.body as UpstreamBody)[kState] = state;
  res.body.once('error', onUpstreamBodyError);

  const resHeaders = clientResponseHeaders(res.headers);
  // The response cache sees the upstream's answer before any change (a tee, nothing waits).
  const resBody: Readable = route.bodies !== null && f.ctx !== null ? captureResponse(route.bodies, f.ctx, res.statusCode, resHeaders, res.body) : res.body;
  resHeaders['x-request-id'] = f.requestId;
  if (s.latencyHeaders) setLatencyHeaders(resHeaders, elapsedMs(reply), state);
  if (actions.responseHeaders !== null) applyHeaderOps(resHeaders, actions.responseHeaders);
  if (route.response !== null) {
    f.ctx ??= responseContext(reply, route, state);
    const p = runResponse(route.response, f.ctx, { status: res.statusCode, headers: resHeaders });
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
    f.ctx ??= responseContext(reply, route, state);
    const changed = transformResponseJson(route.bodies, f.ctx, { status: res.statusCode, headers: resHeaders }, buf);
    return reply.code(res.statusCode).headers(resHeaders).send(changed);
  }
  return reply.code(res.statusCode).headers(resHeaders).send(resBody);
}
