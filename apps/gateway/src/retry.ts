import type { Readable } from 'node:stream';
import { classifyUpstreamError, countsAgainstTarget, forward, UpstreamError, type ForwardResponse, type PickRequest } from '@tollgate/upstream';
import type { RuntimeRetries } from './route-actions.js';
import type { RuntimeDestination } from './route-actions.js';
import { acquireTarget, type Lease, type LeaseHolder, type PickFailure, type RuntimeTarget } from './runtime.js';

/** Idempotent methods (RFC 9110 §9.2.2): repeating them has the same intended effect. */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

const CONNECT_FAILURES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const RESETS: ReadonlySet<string> = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_CLOSED']);

/** One exchange to forward, with what is needed to pick a target again on a retry. */
export interface Exchange {
  readonly destination: RuntimeDestination;
  readonly pick: PickRequest;
  readonly method: string;
  /** Path and query for the upstream. */
  readonly path: string;
  /** Outbound headers without `host`. */
  readonly headers: Record<string, string | string[]>;
  /** The Host to send for a target. */
  host(target: RuntimeTarget): string;
  /** Null when the request has no body (only then may it be retried). */
  readonly body: Readable | null;
  /** Route deadline across all tries, or undefined. */
  readonly timeoutMs: number | undefined;
  readonly retries: RuntimeRetries | null;
  /** Told the target of every try (for the access log). */
  onTry(target: RuntimeTarget): void;
  /** The client request: releases a lease still held when its response ends. */
  readonly holder: LeaseHolder | null;
  /** Aborted when the client goes away: the upstream call is cancelled rather than awaited. */
  readonly signal?: AbortSignal | undefined;
}

/** The final outcome: a response still to be released, or a failure. */
export type ExchangeResult =
  | { readonly ok: true; readonly res: ForwardResponse; readonly lease: Lease; readonly tries: number }
  | { readonly ok: false; readonly error: UpstreamError | PickFailure; readonly tries: number };

function causeCode(err: UpstreamError): string | undefined {
  for (let e: unknown = err.cause, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string' && (CONNECT_FAILURES.has(c) || RESETS.has(c))) return c;
  }
  return undefined;
}

function retriableError(r: RuntimeRetries, err: UpstreamError, perTryTimedOut: boolean): boolean {
  if (err.code === 'UPSTREAM_TIMEOUT') return perTryTimedOut ? r.statuses.has(504) : r.onConnectFailure && causeCode(err) === 'UND_ERR_CONNECT_TIMEOUT';
  if (err.code !== 'UPSTREAM_UNAVAILABLE') return false;
  const code = causeCode(err);
  if (code !== undefined && CONNECT_FAILURES.has(code)) return r.onConnectFailure;
  return r.onReset;
}

/**
 * Forwards with the route's retry policy (Envoy/Istio semantics): up to `attempts` more tries on
 * the configured conditions, each picking a target again through the balancer, each bounded by
 * the per-try timeout and all together by the route timeout. Only idempotent methods are retried
 * unless the route opts in, and a request with a body never is: the body is streamed, not
 * buffered, so it cannot be sent twice. On a retried status the last response is returned.
 */
export async function forwardWithRetries(x: Exchange): Promise<ExchangeResult> {
  const r = x.retries;
  const canRetry = r !== null && r.attempts > 0 && x.body === null && (r.allowNonIdempotent || IDEMPOTENT.has(x.method));
  const maxTries = canRetry ? r.attempts + 1 : 1;
  const end = x.timeoutMs === undefined ? Infinity : performance.now() + x.timeoutMs;
  const dest = x.destination;
  for (let tries = 1; ; tries++) {
    const lease = acquireTarget(dest.target, dest.subset, x.pick, x.holder);
    if (typeof lease === 'string') return { ok: false, error: lease, tries };
    const t = lease.target;
    x.onTry(t);
    const remaining = end - performance.now();
    const perTry = r?.perTryTimeoutMs;
    const deadline = perTry !== undefined && perTry < remaining ? perTry : remaining === Infinity ? undefined : Math.max(1, Math.ceil(remaining));
    const perTryBound = perTry !== undefined && perTry < remaining;
    x.headers.host = x.host(t);
    let res: ForwardResponse;
    try {
      res = await forward(t.pool, { method: x.method, path: x.path, headers: x.headers, body: x.body, headersDeadlineMs: deadline, signal: x.signal });
    } catch (err) {
      const e = classifyUpstreamError(err);
      // A client that went away, or a request the gateway could not send (invalid header, body limit), says nothing about the target.
      lease.release(countsAgainstTarget(e) ? true : undefined);
      if (e.code === 'CLIENT_ABORTED') return { ok: false, error: e, tries };
      const more = canRetry && tries < maxTries && end - performance.now() > 0;
      if (more && retriableError(r, e, perTryBound)) continue;
      // A per-try timeout that cannot be retried is still a 504 for the client.
      return { ok: false, error: e, tries };
    }
    if (canRetry && tries < maxTries && r.statuses.has(res.statusCode) && end - performance.now() > 0) {
      // Drain rather than destroy, so the connection can be reused.
      res.body.on('error', () => undefined).resume();
      lease.release(res.statusCode >= 500);
      continue;
    }
    // In flight (circuit breaking, least requests) until the response body is done or destroyed.
    lease.observe(res.statusCode >= 500);
    lease.body = res.body;
    res.body.once('close', () => lease.release());
    return { ok: true, res, lease, tries };
  }
}
