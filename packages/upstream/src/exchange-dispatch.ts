import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { util as undiciUtil, type Dispatcher } from 'undici';
import { classifyUpstreamError, countsAgainstTarget, UpstreamError } from './errors.js';
import { Exchange, type Destination, type ExchangeOwner, type PickFailure, type UpstreamTarget } from './exchange.js';
import { IDEMPOTENT, mirrorCopy, retriableError, type MirrorCopy, type RetryPolicy } from './exchange-forward.js';
import type { PickRequest } from './upstream-runtime.js';

/**
 * Where a dispatched exchange delivers the upstream's answer: straight into the client response,
 * with no Readable, pipe or promise in between (undici `dispatch()` with a handler, as the
 * `node-proxy-min` ceiling of the peers benchmark does).
 */
export interface ResponseSink {
  /**
   * The upstream's status and head (once, for the try that is answered), as undici read it:
   * name/value pairs of Buffers, names as sent (`responseHeaderObject` parses them when needed).
   */
  start(statusCode: number, rawHeaders: readonly Buffer[]): void;
  /** A body chunk; false asks the exchange to pause until {@link ResponseSink.onResume} is called back. */
  data(chunk: Buffer): boolean;
  /** The body ended. */
  end(): void;
  /** The body failed after {@link start}: the upstream cut its answer (or the client went away). */
  bodyFailed(err: UpstreamError): void;
  /** No response: every try failed, or no target could be used (the exchange has already ended). */
  failed(err: UpstreamError | PickFailure, tries: number): void;
  /** Registers the callback that resumes a paused body (called once, right after the first `data` that returned false). */
  onResume(resume: () => void): void;
}

/** A raw response head as an object of lower-case names (repeated fields as arrays), as undici's `request()` gives it. */
export function responseHeaderObject(rawHeaders: readonly Buffer[]): IncomingHttpHeaders {
  return undiciUtil.parseHeaders(rawHeaders as Buffer[]) as IncomingHttpHeaders;
}

/** One request to dispatch: as {@link ForwardExchange} of `exchange-forward.ts`, the body may also be a Buffer. */
export interface DispatchExchange {
  readonly destination: Destination;
  readonly pick: PickRequest;
  readonly method: string;
  readonly path: string;
  /** Outbound headers; `host` is set per try. */
  readonly headers: Record<string, string | string[]>;
  readonly fixedHost: string | null;
  readonly body: Readable | Buffer | null;
  readonly timeoutMs: number | undefined;
  readonly retries: RetryPolicy | null;
  readonly mirror: MirrorCopy | null;
  onTry(target: UpstreamTarget): void;
  readonly owner: ExchangeOwner | null;
}

/** A dispatched exchange in flight: the client going away cancels it. */
export interface DispatchRun {
  /** Cancels the exchange (its reason decides the classification: `ECONNABORTED` is `CLIENT_ABORTED`). */
  abort(reason: Error): void;
}

function timedOut(ms: number): UpstreamError {
  return new UpstreamError('UPSTREAM_TIMEOUT', `no response headers from the upstream within ${ms} ms`);
}

/**
 * Forwards one request with undici `Dispatcher.dispatch()`: the same exchange semantics as
 * `forwardExchange` (pick and admit a target, passive health, retries with Envoy/Istio rules on
 * bodiless idempotent requests, mirror, route and per-try deadlines on a native timer, the
 * target released exactly once on every path), but the answer is written through `sink` as it
 * arrives, with backpressure (the dispatch is paused while the client's socket is full).
 */
export function dispatchExchange(x: DispatchExchange, sink: ResponseSink): DispatchRun {
  const run = new Run(x, sink);
  run.next();
  return run;
}

class Run implements DispatchRun {
  readonly canRetry: boolean;
  readonly maxTries: number;
  readonly end: number;
  tries = 0;
  current: Try | null = null;
  cancelled: Error | null = null;
  mirror: MirrorCopy | null;
  resumeRegistered = false;

  constructor(
    readonly x: DispatchExchange,
    readonly sink: ResponseSink,
  ) {
    const r = x.retries;
    this.canRetry = r !== null && r.attempts > 0 && x.body === null && (r.allowNonIdempotent || IDEMPOTENT.has(x.method));
    this.maxTries = this.canRetry && r !== null ? r.attempts + 1 : 1;
    this.end = x.timeoutMs === undefined ? Infinity : performance.now() + x.timeoutMs;
    this.mirror = x.mirror;
  }

  abort(reason: Error): void {
    if (this.cancelled !== null) return;
    this.cancelled = reason;
    this.current?.cut(reason);
  }

  /** Whether another try may follow this one. */
  more(): boolean {
    return this.canRetry && this.tries < this.maxTries && this.end - performance.now() > 0;
  }

  next(): void {
    const x = this.x;
    this.tries++;
    const ex = Exchange.open(x.destination.target, x.destination.subset, x.pick, x.owner);
    if (typeof ex === 'string') return this.sink.failed(ex, this.tries);
    x.onTry(ex.target);
    const remaining = this.end - performance.now();
    const perTry = x.retries?.perTryTimeoutMs;
    const perTryBound = perTry !== undefined && perTry < remaining;
    const deadline = perTryBound ? perTry : remaining === Infinity ? undefined : Math.max(1, Math.ceil(remaining));
    x.headers.host = x.fixedHost ?? ex.target.host;
    const t = new Try(this, ex, deadline, perTryBound);
    this.current = t;
    const opts: Dispatcher.DispatchOptions = { method: x.method as Dispatcher.HttpMethod, path: x.path, headers: x.headers, body: x.body };
    // Undici's own headers timeout is a coarse ~1 s wheel: the native timer above answers first.
    if (deadline !== undefined) opts.headersTimeout = deadline + 1_000;
    // Called on every release: only one before the response ended cuts (and builds an error).
    ex.bind(() => {
      if (!t.over) t.cut(new UpstreamError('CLIENT_ABORTED', 'the exchange was released before its response ended'));
    });
    try {
      ex.target.pool.dispatch(opts, t);
    } catch (err) {
      t.onError(err as Error);
      return;
    }
    // Fire-and-forget after the primary is on its way, so the copy never delays it (once, not per try).
    if (this.mirror !== null && x.body === null) {
      const m = this.mirror;
      this.mirror = null;
      mirrorCopy(m.destination, x.pick, x.method, x.path, x.headers, m.host);
    }
  }
}

/**
 * The undici handler of one try, on undici's callback API (`onConnect`/`onHeaders`/`onData`/
 * `onComplete`/`onError`) rather than the controller API: undici 7 runs its HTTP/1.1 client on
 * the callback API and wraps a controller-API handler per request (a wrapper and a controller
 * object, and the response head and trailers parsed into objects), which the peers benchmark's
 * `node-proxy-min` ceiling does not pay. The head is handed on raw (`Buffer[]` name/value pairs);
 * the sink turns it into an object only when something needs fields by name.
 */
class Try implements Dispatcher.DispatchHandler {
  abortFn: ((err?: Error) => void) | null = null;
  timer: NodeJS.Timeout | null = null;
  /** Why this side cut the try (timeout, client gone), which wins over undici's own error. */
  reason: Error | null = null;
  started = false;
  /** A retried status: its body is drained, not delivered. */
  discard = false;
  /** The body is paused (the client's socket is full) until `resume` is called. */
  paused = false;
  resumeFn: (() => void) | null = null;
  status = 0;
  over = false;

  constructor(
    readonly run: Run,
    readonly ex: Exchange,
    readonly deadline: number | undefined,
    readonly perTryBound: boolean,
  ) {
    if (deadline !== undefined) this.timer = setTimeout(onDeadline, deadline, this, deadline);
  }

  cut(reason: Error): void {
    if (this.over || this.reason !== null) return;
    this.reason = reason;
    // Before onConnect there is nothing to abort yet: onConnect sees the reason and aborts then.
    if (this.abortFn !== null) this.abortFn(reason);
  }

  /** Resumes a paused body (the client's socket drained). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeFn?.();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    const why = this.reason ?? this.run.cancelled;
    if (why !== null) {
      this.reason = why;
      abort(why);
    }
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.started = true;
    this.status = statusCode;
    this.resumeFn = resume;
    const run = this.run;
    if (run.canRetry && run.x.retries?.statuses.has(statusCode) === true && run.more()) {
      // Drained rather than cut, so the connection can be reused.
      this.discard = true;
      return true;
    }
    // In flight (circuit breaking, least requests) until the body is over.
    this.ex.observe(statusCode >= 500);
    run.sink.start(statusCode, rawHeaders);
    return !this.paused;
  }

  onData(chunk: Buffer): boolean {
    if (this.discard) return true;
    const run = this.run;
    if (run.sink.data(chunk)) return true;
    this.paused = true;
    // Registered at the first pause, not per response: most answers fit the socket's buffer and
    // never pause, and a listener per response was a measurable part of the request's cost.
    if (!run.resumeRegistered) {
      run.resumeRegistered = true;
      run.sink.onResume(() => run.current?.resume());
    }
    return false;
  }

  onComplete(): void {
    this.over = true;
    if (this.discard) {
      this.ex.end(this.status >= 500);
      this.run.next();
      return;
    }
    this.ex.end();
    this.run.sink.end();
  }

  onError(err: Error): void {
    if (this.over) return;
    this.over = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const run = this.run;
    const e = classifyUpstreamError(this.reason ?? err);
    if (this.started && !this.discard) {
      // The answer had begun: the target answered (health saw its status), only the body failed.
      this.ex.end();
      run.sink.bodyFailed(e);
      return;
    }
    // A client that went away, or a request the gateway could not send, says nothing about the target.
    this.ex.end(countsAgainstTarget(e) ? true : undefined);
    if (e.code !== 'CLIENT_ABORTED' && run.cancelled === null && run.more() && retriableError(run.x.retries as RetryPolicy, e, this.perTryBound)) return run.next();
    run.sink.failed(e, run.tries);
  }

  onUpgrade(): void {
    // Never asked for (no upgrade is dispatched here); undici requires the method on a handler.
    this.onError(new UpstreamError('UPSTREAM_UNAVAILABLE', 'unexpected upgrade from the upstream'));
  }
}

function onDeadline(t: Try, ms: number): void {
  t.timer = null;
  t.cut(timedOut(ms));
}
