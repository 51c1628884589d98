import type { Readable } from 'node:stream';
import { classifyUpstreamError, countsAgainstTarget, UpstreamError } from './errors.js';
import { Exchange, type Destination, type ExchangeOwner, type PickFailure, type UpstreamTarget } from './exchange.js';
import { forward, type ForwardResponse } from './forward.js';
import type { PickRequest } from './upstream-runtime.js';

/** Idempotent methods (RFC 9110 §9.2.2): repeating them has the same intended effect. */
export const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

const CONNECT_FAILURES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const RESETS: ReadonlySet<string> = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_CLOSED']);

/** A shadow request never waits longer than this for response headers. */
const MIRROR_TIMEOUT_MS = 10_000;

/** A route's retry policy (Envoy / Istio semantics). */
export interface RetryPolicy {
  readonly attempts: number;
  readonly perTryTimeoutMs: number | undefined;
  readonly onConnectFailure: boolean;
  readonly onReset: boolean;
  /** Statuses (502, 503, 504) that trigger a retry; 504 also covers a per-try timeout. */
  readonly statuses: ReadonlySet<number>;
  readonly allowNonIdempotent: boolean;
}

/** A copy of the request to send to a shadow destination (Istio `mirror`). */
export interface MirrorCopy {
  readonly destination: Destination;
  /** The Host the primary is sent with; the copy gets it with a `-shadow` suffix. */
  readonly host: string;
}

/** One request to forward, with what is needed to pick a target again on a retry. */
export interface ForwardExchange {
  readonly destination: Destination;
  readonly pick: PickRequest;
  readonly method: string;
  /** Path and query for the upstream. */
  readonly path: string;
  /** Outbound headers; `host` is set per try. */
  readonly headers: Record<string, string | string[]>;
  /** The Host to send: a fixed one (host rewrite, preserved Host), or null for the target's own. */
  readonly fixedHost: string | null;
  /** Null when the request has no body (only then may it be retried or mirrored). */
  readonly body: Readable | null;
  /** Route deadline across all tries, or undefined. */
  readonly timeoutMs: number | undefined;
  readonly retries: RetryPolicy | null;
  /** Sent fire-and-forget once the primary is on its way (bodiless requests only), or null. */
  readonly mirror: MirrorCopy | null;
  /** Told the target of every try (for the access log). */
  onTry(target: UpstreamTarget): void;
  /** The client request: ends an exchange still open when its response ends. */
  readonly owner: ExchangeOwner | null;
  /** Aborted when the client goes away: the upstream call is cancelled rather than awaited. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * The final outcome: a response whose exchange ends when its body closes (or when the owner's
 * response is over), or a failure whose exchange has already ended.
 */
export type ForwardResult =
  | { readonly ok: true; readonly res: ForwardResponse; readonly exchange: Exchange; readonly tries: number }
  | { readonly ok: false; readonly error: UpstreamError | PickFailure; readonly tries: number };

function causeCode(err: UpstreamError): string | undefined {
  for (let e: unknown = err.cause, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string' && (CONNECT_FAILURES.has(c) || RESETS.has(c))) return c;
  }
  return undefined;
}

export function retriableError(r: RetryPolicy, err: UpstreamError, perTryTimedOut: boolean): boolean {
  if (err.code === 'UPSTREAM_TIMEOUT') return perTryTimedOut ? r.statuses.has(504) : r.onConnectFailure && causeCode(err) === 'UND_ERR_CONNECT_TIMEOUT';
  if (err.code !== 'UPSTREAM_UNAVAILABLE') return false;
  const code = causeCode(err);
  if (code !== undefined && CONNECT_FAILURES.has(code)) return r.onConnectFailure;
  return r.onReset;
}

function noop(): void {}

/**
 * Forwards one request as exchanges with its destination: pick and admit a target, send, feed
 * passive health, and retry with the route's policy (Envoy/Istio semantics): up to `attempts`
 * more tries on the configured conditions, each picking a target again through the balancer,
 * each bounded by the per-try timeout and all together by the route timeout. Only idempotent
 * methods are retried unless the route opts in, and a request with a body never is: the body is
 * streamed, not buffered, so it cannot be sent twice. On a retried status the last response is
 * returned. Every exchange opened here ends on every path: a failed or retried try at once, the
 * returned one when its body closes, and at the latest with the owner's response.
 */
export async function forwardExchange(x: ForwardExchange): Promise<ForwardResult> {
  const r = x.retries;
  const canRetry = r !== null && r.attempts > 0 && x.body === null && (r.allowNonIdempotent || IDEMPOTENT.has(x.method));
  const maxTries = canRetry ? r.attempts + 1 : 1;
  const end = x.timeoutMs === undefined ? Infinity : performance.now() + x.timeoutMs;
  const dest = x.destination;
  let mirror = x.mirror;
  for (let tries = 1; ; tries++) {
    const ex = Exchange.open(dest.target, dest.subset, x.pick, x.owner);
    if (typeof ex === 'string') return { ok: false, error: ex, tries };
    const t = ex.target;
    x.onTry(t);
    const remaining = end - performance.now();
    const perTry = r?.perTryTimeoutMs;
    const deadline = perTry !== undefined && perTry < remaining ? perTry : remaining === Infinity ? undefined : Math.max(1, Math.ceil(remaining));
    const perTryBound = perTry !== undefined && perTry < remaining;
    x.headers.host = x.fixedHost ?? t.host;
    const pending = forward(t.pool, { method: x.method, path: x.path, headers: x.headers, body: x.body, headersDeadlineMs: deadline, signal: x.signal });
    // Fire-and-forget after the primary is on its way, so the copy never delays it (once, not per try).
    if (mirror !== null && x.body === null) {
      mirrorCopy(mirror.destination, x.pick, x.method, x.path, x.headers, mirror.host);
      mirror = null;
    }
    let res: ForwardResponse;
    try {
      res = await pending;
    } catch (err) {
      const e = classifyUpstreamError(err);
      // A client that went away, or a request the gateway could not send (invalid header, body limit), says nothing about the target.
      ex.end(countsAgainstTarget(e) ? true : undefined);
      if (e.code === 'CLIENT_ABORTED') return { ok: false, error: e, tries };
      const more = canRetry && tries < maxTries && end - performance.now() > 0;
      if (more && retriableError(r, e, perTryBound)) continue;
      // A per-try timeout that cannot be retried is still a 504 for the client.
      return { ok: false, error: e, tries };
    }
    if (canRetry && tries < maxTries && r.statuses.has(res.statusCode) && end - performance.now() > 0) {
      // Drain rather than destroy, so the connection can be reused.
      res.body.on('error', noop).resume();
      ex.end(res.statusCode >= 500);
      continue;
    }
    // In flight (circuit breaking, least requests) until the response body is done or destroyed.
    ex.observe(res.statusCode >= 500);
    ex.attach(res.body);
    return { ok: true, res, exchange: ex, tries };
  }
}

/**
 * Sends a copy of a bodiless request to a shadow destination, fire-and-forget (Istio `mirror`):
 * nothing is awaited by the caller, the response body is discarded, every failure is swallowed,
 * and the Host gets a `-shadow` suffix so the shadow can tell copies apart. Requests with a body
 * are never mirrored: the body is streamed once to the primary and not buffered. The copy's
 * exchange has no owner (it outlives the client request) and ends with its response body.
 */
export function mirrorCopy(dest: Destination, pick: PickRequest, method: string, path: string, headers: Record<string, string | string[]>, host: string): void {
  const ex = Exchange.open(dest.target, dest.subset, pick, null);
  if (typeof ex === 'string') return;
  const h = { ...headers, host: `${host}-shadow` };
  forward(ex.target.pool, { method, path, headers: h, body: null, headersDeadlineMs: MIRROR_TIMEOUT_MS }).then(
    (res) => {
      ex.observe(res.statusCode >= 500);
      // 'close' follows both the end and a failure of the body ('end' alone leaked the slot on a reset).
      res.body.on('error', noop);
      ex.attach(res.body);
      res.body.resume();
    },
    (err: UpstreamError) => ex.end(countsAgainstTarget(err) ? true : undefined),
  );
}
