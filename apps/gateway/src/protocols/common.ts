import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { RequestContext } from '@tollgate/policies';
import type { PickRequest } from '@tollgate/upstream';
import type { Metadata } from '@grpc/grpc-js';
import type { RequestState } from '../access-log.js';
import { injectTrace } from '../tracing.js';
import { applyHeaderOps, type HeaderOps } from '../header-ops.js';

/** What a protocol handler reads of a request (the proxy has already routed and authorized it). */
export interface ProtocolRequest {
  readonly raw: IncomingMessage;
  readonly method: string;
  /** The path the upstream would see: below the base path when the API strips it. */
  readonly path: string;
  /** Query string without `?` (credentials taken out by auth policies), or null. */
  readonly query: string | null;
  /** Route path captures (template `{name}` or regex named groups), or null. */
  readonly captures: Readonly<Record<string, string>> | null;
  readonly headers: IncomingHttpHeaders;
  /** The policies' context (credential removal, X-Consumer-* headers), or null. */
  readonly ctx: RequestContext | null;
  /** The route's request header changes (`headers.request`), applied before headers become metadata. */
  readonly requestHeaders?: HeaderOps | null;
  readonly requestId: string;
  readonly state: RequestState;
  /** The route `timeoutMs`, or undefined for the upstream's `responseHeadersMs`. */
  readonly deadlineMs: number | undefined;
  readonly maxBodyBytes: number;
  /** What the balancer reads (consistent hashing). */
  readonly pick: PickRequest;
  /** Aborted when the client goes away: the upstream call is cancelled rather than awaited. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Runs the route's access policies again as for a new request of the same client (auth, ACL,
   * limits, quota), or undefined when the route has none: what a long-lived exchange (a
   * subscription stream) calls per delivered message.
   */
  readonly recheck?: (() => Promise<AccessRecheck>) | undefined;
}

/** What {@link ProtocolRequest.recheck} found: a refusal, or what the quota was charged. */
export interface AccessRecheck {
  readonly refusal: { readonly status: number; readonly code: string; readonly title: string; readonly detail: string } | null;
  readonly quotaCharge: RequestState['quotaCharge'];
}

/** A complete answer; the proxy sends it with the route's response header changes and response policies. */
export interface ProtocolResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** A whole body, or a stream (gRPC-Web server streaming). */
  readonly body: string | Buffer | Readable;
  /** The request body was left unread: close the connection (RFC 9112 §9.6). */
  readonly close?: boolean;
}

/** A converter built once per snapshot for one route. */
export interface ProtocolHandler {
  readonly kind: 'grpc' | 'grpcWeb' | 'soap' | 'messaging';
  handle(req: ProtocolRequest): Promise<ProtocolResult>;
}

/** A problem+json answer with a stable code (RFC 9457), extensions merged in. */
export function problem(req: ProtocolRequest, status: number, code: string, title: string, detail: string, extensions: Record<string, unknown> = {}, close = false): ProtocolResult {
  req.state.errorCode = code;
  const body = JSON.stringify({ type: `https://tollgate.dev/errors/${code.toLowerCase().replaceAll('_', '-')}`, title, status, code, detail, requestId: req.requestId, ...extensions });
  return { status, headers: { 'content-type': 'application/problem+json' }, body, close };
}

/** Thrown while reading a request body that is too large. */
export class BodyTooLarge extends Error {}

/** The client went away before its body was complete. */
export class ClientClosed extends Error {}

/**
 * Reads the whole request body (the conversions need it whole), at most `max` bytes. Returns an
 * empty buffer when there is none.
 */
export function readBody(raw: IncomingMessage, max: number): Promise<Buffer> {
  if (raw.headers['content-length'] === undefined && raw.headers['transfer-encoding'] === undefined) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > max) {
        raw.off('data', onData);
        raw.pause();
        reject(new BodyTooLarge(`the request body exceeds ${max} bytes`));
        return;
      }
      chunks.push(c);
    };
    raw.on('data', onData);
    raw.once('end', () => resolve(Buffer.concat(chunks)));
    // A client that goes away mid-body never sends 'end' (Node emits 'error' "aborted", then 'close').
    const gone = () => reject(new ClientClosed('the client closed the connection before the body was complete'));
    raw.once('error', gone);
    raw.once('close', () => {
      if (!raw.complete) gone();
    });
  });
}

/**
 * Reads the request body for a handler: the bytes, or the answer when it is too large (413) or
 * the client went away (logged as CLIENT_ABORTED; nobody reads the answer).
 */
export async function requestBody(req: ProtocolRequest): Promise<Buffer | ProtocolResult> {
  try {
    const b = await readBody(req.raw, req.maxBodyBytes);
    req.state.bytesIn = b.length;
    return b;
  } catch (err) {
    if (err instanceof BodyTooLarge) return problem(req, 413, 'BODY_TOO_LARGE', 'Request body too large', err.message, {}, true);
    if (err instanceof ClientClosed) return problem(req, 499, 'CLIENT_ABORTED', 'Client closed request', err.message, {}, true);
    throw err;
  }
}

/** Request headers as the upstream should see them: the policies' changes applied. */
export function effectiveHeaders(req: ProtocolRequest): Record<string, string | string[]> {
  const h: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) h[k] = v;
  req.ctx?.applyTo(h);
  if (req.requestHeaders) applyHeaderOps(h, req.requestHeaders);
  return h;
}

/** Request id and W3C trace context (the gateway's span, as for HTTP upstreams) as gRPC metadata. */
export function setGatewayMetadata(md: Metadata, req: ProtocolRequest): void {
  md.set('x-request-id', req.requestId);
  // injectTrace drops `tracestate` when the trace starts here (W3C Trace Context §3.3).
  const t: Record<string, string | string[] | undefined> = { tracestate: '' };
  injectTrace(t, req.state.trace);
  if (typeof t.traceparent === 'string') md.set('traceparent', t.traceparent);
  if (!('tracestate' in t)) md.remove('tracestate');
}

/** Deadline in ms: the route timeout, else the upstream's. */
export function deadlineOf(req: ProtocolRequest, upstreamMs: number): number {
  return req.deadlineMs ?? upstreamMs;
}
