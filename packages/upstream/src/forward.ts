import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { classifyUpstreamError, UpstreamError } from './errors.js';

/** A request to send to one upstream target. */
export interface ForwardRequest {
  readonly method: string;
  /** Path and query exactly as they must reach the upstream. */
  readonly path: string;
  /** Outbound headers (hop-by-hop already removed by the caller). */
  readonly headers: Record<string, string | string[]>;
  /** The request body as a stream (never buffered), or null when there is none. */
  readonly body: Readable | null;
  /**
   * A precise deadline for the response headers (a route's `timeoutMs`). Without it the pool's
   * `headersTimeoutMs` applies, which undici checks on a coarse ~1 s timer wheel.
   */
  readonly headersDeadlineMs?: number | undefined;
  /**
   * Cancels the exchange (the client went away): its reason is what the call rejects with, so an
   * error with code `ECONNABORTED` is classified `CLIENT_ABORTED`.
   */
  readonly signal?: AbortSignal | undefined;
}

/** The upstream's answer; `body` streams and must be consumed or destroyed. */
export interface ForwardResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Readable;
}

function onDeadline(ac: AbortController, ms: number): void {
  ac.abort(new UpstreamError('UPSTREAM_TIMEOUT', `no response headers from the upstream within ${ms} ms`));
}

/**
 * Sends a request through a pool, streaming the body both ways. Failures before the response
 * headers are thrown as {@link UpstreamError} with a stable code (see `classifyUpstreamError`).
 */
export async function forward(dispatcher: Dispatcher, req: ForwardRequest): Promise<ForwardResponse> {
  const deadline = req.headersDeadlineMs;
  const outer = req.signal;
  if (deadline === undefined) {
    try {
      const res = await dispatcher.request({ method: req.method as Dispatcher.HttpMethod, path: req.path, headers: req.headers, body: req.body, signal: outer });
      return { statusCode: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      throw classifyUpstreamError(outer?.aborted === true ? outer.reason : err);
    }
  }
  // Native timer (not undici's 1 s wheel) so a route deadline answers 504 close to its value.
  const ac = new AbortController();
  const timer = setTimeout(onDeadline, deadline, ac, deadline);
  const onOuter = outer === undefined ? null : () => ac.abort(outer.reason);
  if (onOuter !== null) {
    if ((outer as AbortSignal).aborted) onOuter();
    else (outer as AbortSignal).addEventListener('abort', onOuter, { once: true });
  }
  try {
    const res = await dispatcher.request({
      method: req.method as Dispatcher.HttpMethod,
      path: req.path,
      headers: req.headers,
      body: req.body,
      signal: ac.signal,
      headersTimeout: deadline + 1_000,
    });
    return { statusCode: res.statusCode, headers: res.headers, body: res.body };
  } catch (err) {
    throw classifyUpstreamError(ac.signal.aborted ? ac.signal.reason : err);
  } finally {
    clearTimeout(timer);
    if (onOuter !== null) (outer as AbortSignal).removeEventListener('abort', onOuter);
  }
}
