import type { OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { runResponse, runResponseFields } from '@tollgate/policies';
import { dispatchExchange, responseHeaderObject, UpstreamError, type BodyLimiter, type PickFailure, type ResponseSink } from '@tollgate/upstream';
import { applyHeaderOps } from '../header-ops.js';
import { clientResponseHeaders, pushRawClientResponseHeaders } from '../headers.js';
import { setLatencyHeaders } from '../metrics.js';
import { elapsedMs } from './account.js';
import type { HttpFlow } from './flow.js';
import { answerFailure, type ForwardSettings, type UpstreamRequest } from './forward-http.js';
import { responseContext, sendResponseProblem } from './respond.js';

/**
 * Stages 5 to 7 of a route whose answer streams (plan `streams`: no response body capture or
 * transformation; response policies change the head only): the exchange is dispatched with undici `dispatch()` and the
 * upstream's status, headers and body are written straight into the client response, with one
 * `writeHead` of a flat header list and backpressure both ways. The Exchange still owns pick,
 * retries, mirror, passive health, circuit accounting and the release of the target.
 */
export function dispatchHttp(f: HttpFlow, s: ForwardSettings, p: UpstreamRequest): HttpFlow['reply'] {
  const { reply, state, route } = f;
  // Gone already (while policies ran or the body was read): nothing to forward.
  if (s.accounting.done(reply)) return reply;
  const actions = route.actions;
  const t0 = performance.now();
  state.upstreamAt = t0;
  const sink = new StreamedAnswer(f, s, p, t0);
  state.cancel = dispatchExchange(
    {
      owner: state,
      destination: p.destination,
      pick: { headers: f.headers, clientIp: state.clientIp, query: f.query },
      method: f.method,
      path: p.path,
      headers: p.headers,
      fixedHost: p.fixedHost,
      body: p.body,
      timeoutMs: route.headersDeadlineMs,
      retries: actions.retries,
      mirror: actions.mirror !== null && p.body === null && Math.random() < actions.mirror.fraction ? { destination: actions.mirror.destination, host: p.fixedHost ?? f.hostHeader } : null,
      onTry: (t) => void (state.target = t.origin),
    },
    sink,
  );
  return reply;
}

/** Response fields the gateway sets itself on an upstream's answer (the upstream's are dropped). */
const OWNED: ReadonlySet<string> = new Set(['x-request-id']);
const OWNED_WITH_LATENCY: ReadonlySet<string> = new Set(['x-request-id', 'x-tollgate-upstream-latency', 'x-tollgate-latency']);

/** The client response of one dispatched exchange: the head is written with the first body byte (or the end). */
class StreamedAnswer implements ResponseSink {
  #status = 0;
  #head: (string | string[])[] | OutgoingHttpHeaders | null = null;
  /** A response policy answered a problem instead: the upstream's answer is cut, never written. */
  #replaced = false;

  constructor(
    readonly f: HttpFlow,
    readonly s: ForwardSettings,
    readonly p: UpstreamRequest,
    readonly t0: number,
  ) {}

  start(statusCode: number, rawHeaders: readonly Buffer[]): void {
    const { state, route, requestId } = this.f;
    state.upstreamMs = performance.now() - this.t0;
    const limiter: BodyLimiter | null = this.p.limiter;
    if (limiter !== null) state.bytesIn = limiter.bytes;
    this.#status = statusCode;
    const ops = route.actions.responseHeaders;
    // 1xx and 204 carry no body fields (RFC 9110 §8.6); header changes and response policies need
    // the fields by name, unless every policy appends its own fields (`responseFields`: the limits').
    const fields = route.responseFields;
    if (ops !== null || (route.response !== null && fields === null) || statusCode < 200 || statusCode === 204) {
      const h = clientResponseHeaders(responseHeaderObject(rawHeaders));
      h['x-request-id'] = requestId;
      if (this.s.latencyHeaders) setLatencyHeaders(h, elapsedMs(this.f.reply), state);
      if (ops !== null) applyHeaderOps(h, ops);
      if (route.response !== null) {
        const f = this.f;
        f.ctx ??= responseContext(f.reply, route, state);
        const p = runResponse(route.response, f.ctx, { status: statusCode, headers: h });
        if (p !== undefined) {
          // The upstream answered (its health saw that); only this client's answer is replaced,
          // and the upstream's body is cut rather than read for nobody.
          this.#replaced = true;
          sendResponseProblem(f.reply, state, p, false);
          state.cancel?.abort(new UpstreamError('UPSTREAM_UNAVAILABLE', 'the response was replaced by a response policy'));
          return;
        }
      }
      if (statusCode < 200 || statusCode === 204) {
        delete h['content-type'];
        delete h['content-length'];
      }
      if (this.s.drain.draining) h.connection = 'close';
      this.#head = h;
      return;
    }
    const head: (string | string[])[] = [];
    pushRawClientResponseHeaders(rawHeaders, head, this.s.latencyHeaders ? OWNED_WITH_LATENCY : OWNED);
    head.push('x-request-id', requestId);
    if (this.s.latencyHeaders) {
      const upstreamMs = state.upstreamMs;
      head.push('x-tollgate-upstream-latency', String(Math.round(upstreamMs)), 'x-tollgate-latency', String(Math.max(0, Math.round(elapsedMs(this.f.reply) - upstreamMs))));
    }
    if (fields !== null) {
      const f = this.f;
      f.ctx ??= responseContext(f.reply, route, state);
      runResponseFields(fields, f.ctx, head);
    }
    // Draining: the client is asked to reconnect elsewhere (RFC 9112 §9.6).
    if (this.s.drain.draining) head.push('connection', 'close');
    this.#head = head;
  }

  /** Writes the head once; false when Node refused it (the client was answered with an error instead). */
  #writeHead(): boolean {
    const head = this.#head;
    if (head === null) return true;
    this.#head = null;
    const { reply } = this.f;
    const res = reply.raw;
    if (res.destroyed) return false;
    reply.statusCode = this.#status;
    try {
      res.writeHead(this.#status, head as OutgoingHttpHeaders);
      return true;
    } catch (err) {
      // A field value Node will not write (RFC 9110 §5.5): no part of the answer is out yet.
      this.f.state.cancel?.abort(err as Error);
      reply.statusCode = 200;
      this.s.onError(err as Error, reply);
      return false;
    }
  }

  data(chunk: Buffer): boolean {
    if (this.#replaced) return true;
    if (this.#head !== null && !this.#writeHead()) return true;
    return this.f.reply.raw.write(chunk);
  }

  end(): void {
    if (this.#replaced) return;
    if (this.#head !== null && !this.#writeHead()) return;
    this.f.reply.raw.end();
  }

  bodyFailed(err: UpstreamError): void {
    if (this.#replaced) return;
    const { state, reply } = this.f;
    if (err.code !== 'CLIENT_ABORTED' && state.aborted === null) state.aborted = 'upstream';
    const res = reply.raw;
    if (this.#head !== null && !res.destroyed && err.code !== 'CLIENT_ABORTED') {
      // Reset after the status line but before any body byte: a clean 502, without the upstream's headers.
      this.#head = null;
      this.s.onError(err, reply);
      return;
    }
    // Part of the answer is out: the client must not take a truncated body for a complete one (RFC 9112 §6.3).
    res.destroy();
  }

  failed(err: UpstreamError | PickFailure, tries: number): void {
    const { state } = this.f;
    state.upstreamMs = performance.now() - this.t0;
    if (this.p.limiter !== null) state.bytesIn = this.p.limiter.bytes;
    answerFailure(this.f, this.s, this.p.destination.upstream, err, tries, this.p.body !== null);
  }

  onResume(resume: () => void): void {
    this.f.reply.raw.on('drain', resume);
  }
}
