import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import type { BodySink, PolicyContext, PolicyInstance, PolicyResponse } from '@tollgate/policies';
import { readBodyUpTo } from './buffered-body.js';

type RequestJsonStep = NonNullable<PolicyInstance['requestJson']>['apply'];
type ResponseJsonStep = NonNullable<PolicyInstance['responseJson']>['apply'];
type CaptureStep = NonNullable<PolicyInstance['capture']>;

/**
 * A route's body hooks, collected from its policy instances when the snapshot is installed. The
 * proxy streams bodies; only routes with a hook buffer (request or response JSON changes) or tee
 * (the response cache) them, so every other route keeps streaming untouched.
 */
export interface RouteBodyHooks {
  readonly requestJson: readonly RequestJsonStep[] | null;
  /** Smallest `maxBytes` of the request hooks. */
  readonly requestMaxBytes: number;
  readonly responseJson: readonly ResponseJsonStep[] | null;
  readonly responseMaxBytes: number;
  readonly capture: readonly CaptureStep[] | null;
}

/** Collects the body hooks of a route's policy instances (in priority order), or null when none has one. */
export function collectBodyHooks(instances: readonly PolicyInstance[]): RouteBodyHooks | null {
  const req: RequestJsonStep[] = [];
  const res: ResponseJsonStep[] = [];
  const cap: CaptureStep[] = [];
  let reqMax = Infinity;
  let resMax = Infinity;
  for (const i of instances) {
    if (i.requestJson !== undefined) {
      req.push(i.requestJson.apply);
      reqMax = Math.min(reqMax, i.requestJson.maxBytes);
    }
    if (i.responseJson !== undefined) {
      res.push(i.responseJson.apply);
      resMax = Math.min(resMax, i.responseJson.maxBytes);
    }
    if (i.capture !== undefined) cap.push(i.capture.bind(i));
  }
  if (req.length + res.length + cap.length === 0) return null;
  return Object.freeze({
    requestJson: req.length > 0 ? req : null,
    requestMaxBytes: reqMax,
    responseJson: res.length > 0 ? res : null,
    responseMaxBytes: resMax,
    capture: cap.length > 0 ? cap : null,
  });
}

/** `application/json` or any `+json` media type (RFC 6839 §3.1), parameters ignored. */
export function isJsonType(contentType: string | string[] | undefined): boolean {
  if (typeof contentType !== 'string') return false;
  const semi = contentType.indexOf(';');
  const t = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return t === 'application/json' || (t.startsWith('application/') && t.endsWith('+json'));
}

/** Parses JSON, or returns `undefined` for an empty or malformed body (which then passes unchanged). */
function parse(buf: Buffer): unknown {
  if (buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Buffers a JSON request body (up to `limit`; past it `readBodyUpTo` rejects with
 * `BodyTooLargeError` and the caller answers 413), applies the route's request hooks, and fixes
 * the outgoing `Content-Length`. A malformed or empty body is forwarded as received: the upstream,
 * not the gateway, judges what it accepts.
 */
export async function transformRequestBody(hooks: RouteBodyHooks, ctx: PolicyContext, body: Readable, limit: number, out: Record<string, string | string[]>): Promise<Readable> {
  const buf = await readBodyUpTo(body, Math.min(limit, hooks.requestMaxBytes));
  let result = buf;
  let value = parse(buf);
  if (value !== undefined && hooks.requestJson !== null) {
    for (const step of hooks.requestJson) value = step(ctx, value);
    result = Buffer.from(JSON.stringify(value));
  }
  // The length is now known; a client's chunked framing is not relayed (hop-by-hop).
  out['content-length'] = String(result.length);
  return Readable.from([result], { objectMode: false });
}

/** Whether a response is given to the response JSON hooks: JSON and not content-coded (a gzip body passes unchanged). */
export function wantsResponseJson(hooks: RouteBodyHooks | null, headers: Record<string, string | string[] | undefined>): hooks is RouteBodyHooks & { responseJson: readonly ResponseJsonStep[] } {
  if (hooks === null || hooks.responseJson === null) return false;
  const ce = headers['content-encoding'];
  return isJsonType(headers['content-type']) && (ce === undefined || ce === 'identity');
}

/** Applies the response JSON hooks to a whole body and fixes `Content-Length`; a malformed body is returned unchanged. */
export function transformResponseJson(hooks: RouteBodyHooks & { responseJson: readonly ResponseJsonStep[] }, ctx: PolicyContext, res: PolicyResponse, buf: Buffer): Buffer {
  let value = parse(buf);
  if (value === undefined) return buf;
  for (const step of hooks.responseJson) value = step(ctx, res, value);
  const out = Buffer.from(JSON.stringify(value));
  res.headers['content-length'] = String(out.length);
  delete res.headers.etag; // the representation changed (RFC 9110 §8.8.3): the upstream's validator no longer describes it
  return out;
}

/** Passes chunks through while keeping a copy up to `limit`; gives the whole body to the sinks at the end. */
class Tee extends Transform {
  #chunks: Buffer[] = [];
  #bytes = 0;
  #over = false;
  constructor(
    private readonly sinks: readonly BodySink[],
    private readonly limit: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.#over) {
      this.#bytes += chunk.length;
      if (this.#bytes > this.limit) {
        this.#over = true;
        this.#chunks = [];
      } else this.#chunks.push(chunk);
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (!this.#over) {
      const body = Buffer.concat(this.#chunks, this.#bytes);
      for (const s of this.sinks) if (body.length <= s.maxBytes) s.done(body);
    }
    cb();
  }
}

/**
 * Offers the upstream's answer (status and headers as received, before any response change) to
 * the capture hooks (the response cache). When one wants it, the body is teed while it streams to
 * the client: nothing waits for the copy, and a body past every sink's limit is simply not kept.
 * A failed or aborted stream never reaches a sink.
 */
export function captureResponse(hooks: RouteBodyHooks, ctx: PolicyContext, status: number, headers: Record<string, string | string[] | undefined>, body: Readable): Readable {
  if (hooks.capture === null) return body;
  const sinks: BodySink[] = [];
  for (const c of hooks.capture) {
    const s = c(ctx, status, headers);
    if (s !== null) sinks.push(s);
  }
  if (sinks.length === 0) return body;
  const tee = new Tee(sinks, Math.max(...sinks.map((s) => s.maxBytes)));
  // pipeline destroys the upstream body when the client goes away (and the other way round).
  return pipeline(body, tee, () => undefined);
}
