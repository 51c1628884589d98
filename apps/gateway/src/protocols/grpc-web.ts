import { performance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import { Metadata, type StatusObject } from '@grpc/grpc-js';
import type { CompiledGrpcWeb } from '@tollgate/compiler';
import { Exchange, type TargetUpstream as RuntimeUpstream } from '@tollgate/upstream';
import type { GrpcChannel } from './channels.js';
import { deadlineOf, effectiveHeaders, problem, requestBody, setGatewayMetadata, type ProtocolHandler, type ProtocolRequest, type ProtocolResult } from './common.js';
import { grpcCodeName, isTargetFailure, isTransportStatus } from './grpc-status.js';

/**
 * gRPC-Web (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md) to gRPC: the body is
 * length-prefixed frames (flag byte, 4-byte big-endian length); the response carries the
 * messages as data frames and the trailers as a final frame with flag 0x80; `-text` variants
 * are base64 on the wire. Messages pass through as bytes, so no schema is needed.
 */

const CONTENT_TYPE = /^application\/grpc-web(-text)?(\+proto)?\s*(;|$)/i;

/** Request headers never forwarded as metadata: hop-by-hop, framing, browser and gRPC-reserved ones. */
const NOT_METADATA = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'content-type',
  'content-length',
  'accept',
  'accept-encoding',
  'accept-language',
  'origin',
  'referer',
  'cookie',
  'user-agent',
  'x-grpc-web',
  'x-user-agent',
  'proxy-authorization',
  'sec-fetch-mode',
  'sec-fetch-site',
  'sec-fetch-dest',
]);

/**
 * Base64 of a byte stream in pieces that decode on their own: only whole 3-byte groups are
 * encoded as they come, the rest waits, and the padding comes at the end (as Envoy's gRPC-Web
 * filter does), so a client may decode the text stream chunk by chunk.
 */
export class Base64Stream {
  #rest: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer {
    const all = this.#rest.length > 0 ? Buffer.concat([this.#rest, chunk]) : chunk;
    const n = all.length - (all.length % 3);
    this.#rest = all.subarray(n);
    return Buffer.from(all.subarray(0, n).toString('base64'));
  }
  end(): Buffer {
    const out = Buffer.from(this.#rest.toString('base64'));
    this.#rest = Buffer.alloc(0);
    return out;
  }
}

/** Splits gRPC frames. Returns null for a truncated frame. */
export function parseFrames(buf: Buffer): Array<{ flag: number; data: Buffer }> | null {
  const out: Array<{ flag: number; data: Buffer }> = [];
  let i = 0;
  while (i < buf.length) {
    if (i + 5 > buf.length) return null;
    const flag = buf[i] as number;
    const len = buf.readUInt32BE(i + 1);
    if (i + 5 + len > buf.length) return null;
    out.push({ flag, data: buf.subarray(i + 5, i + 5 + len) });
    i += 5 + len;
  }
  return out;
}

/** One frame: flag, length, payload. */
export function frame(flag: number, data: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h[0] = flag;
  h.writeUInt32BE(data.length, 1);
  return Buffer.concat([h, data]);
}

/** `grpc-message` is percent-encoded outside printable ASCII and `%` (PROTOCOL-HTTP2.md). */
export function encodeGrpcMessage(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** The trailer frame: `name: value\r\n` lines, grpc-status and grpc-message first. */
export function trailerFrame(status: number, message: string, trailers: Metadata | null): Buffer {
  let text = `grpc-status: ${status}\r\n`;
  if (message !== '') text += `grpc-message: ${encodeGrpcMessage(message)}\r\n`;
  if (trailers !== null) {
    for (const [k, v] of Object.entries(trailers.getMap())) {
      if (k.startsWith('grpc-')) continue;
      text += `${k}: ${Buffer.isBuffer(v) ? v.toString('base64') : v}\r\n`;
    }
  }
  return frame(0x80, Buffer.from(text, 'latin1'));
}

/** `grpc-timeout` (e.g. `10S`, `500m`) in milliseconds, or null. */
export function parseGrpcTimeout(v: string | undefined): number | null {
  const m = v === undefined ? null : /^(\d{1,8})([HMSmun])$/.exec(v);
  if (!m) return null;
  const n = Number(m[1]);
  const factor = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 }[m[2] as 'H'];
  return Math.max(1, Math.ceil(n * factor));
}

/** Decodes a -text body: concatenated base64 chunks, each possibly padded. */
function decodeText(b: Buffer): Buffer {
  const s = b.toString('latin1').replace(/\s+/g, '');
  const parts = s.split(/(?<==)(?=[^=])/);
  return Buffer.concat(parts.map((p) => Buffer.from(p, 'base64')));
}

export class GrpcWebProxy implements ProtocolHandler {
  readonly kind = 'grpcWeb' as const;
  constructor(
    private readonly action: CompiledGrpcWeb,
    private readonly upstream: RuntimeUpstream,
    private readonly channels: ReadonlyMap<string, GrpcChannel>,
    private readonly channelKey: (origin: string) => string,
    private readonly upstreamDeadlineMs: number,
  ) {}

  async handle(req: ProtocolRequest): Promise<ProtocolResult> {
    const ct = req.headers['content-type'] ?? '';
    const m = CONTENT_TYPE.exec(ct);
    const hasBody = req.raw.headers['content-length'] !== undefined || req.raw.headers['transfer-encoding'] !== undefined;
    if (req.method !== 'POST' || m === null) return problem(req, 415, 'GRPC_WEB_REQUIRED', 'This route takes gRPC-Web', 'send POST with Content-Type application/grpc-web, application/grpc-web+proto or application/grpc-web-text', {}, hasBody);
    const text = m[1] !== undefined;
    if (!/^\/[^/]+\/[^/]+$/.test(req.path)) return problem(req, 404, 'GRPC_NO_METHOD', 'Not a gRPC method path', `a gRPC-Web call goes to /package.Service/Method, not ${req.path}`, {}, hasBody);
    const body = await requestBody(req);
    if (!Buffer.isBuffer(body)) return body;
    const frames = parseFrames(text ? decodeText(body) : body);
    const data = frames?.filter((f) => (f.flag & 0x80) === 0) ?? null;
    if (frames === null || data === null || data.length !== 1) return problem(req, 400, 'GRPC_WEB_BAD_FRAME', 'Malformed gRPC-Web body', 'the body must be exactly one length-prefixed message frame (unary and server-streaming calls)');
    if (((data[0] as { flag: number }).flag & 0x01) !== 0) return problem(req, 400, 'GRPC_WEB_BAD_FRAME', 'Compressed gRPC-Web messages are not supported', 'send uncompressed messages (grpc-encoding identity)');
    const message = (data[0] as { data: Buffer }).data;

    const md = new Metadata();
    if (this.action.forwardHeaders) {
      for (const [k, v] of Object.entries(effectiveHeaders(req))) {
        if (NOT_METADATA.has(k) || k.startsWith('grpc-') || k.startsWith(':') || !/^[0-9a-z_.-]+$/.test(k)) continue;
        for (const x of Array.isArray(v) ? v : [v]) {
          try {
            md.add(k, k.endsWith('-bin') ? Buffer.from(x, 'base64') : x);
          } catch {
            // a value grpc-js refuses (non-printable) is left out
          }
        }
      }
    }
    setGatewayMetadata(md, req);
    const exchange = Exchange.open(this.upstream, this.action.subset, req.pick, req.state);
    if (typeof exchange === 'string') return problem(req, 503, exchange, 'No upstream target available', `upstream ${this.action.upstream}: ${exchange}`);
    const picked = exchange.target;
    req.state.target = picked.origin;
    const channel = this.channels.get(this.channelKey(picked.origin));
    // (A missing channel is a bug: the throw is a 500, and the request ends the exchange (its owner).)
    if (channel === undefined) throw new Error(`no gRPC channel for ${picked.origin}`);
    const clientTimeout = parseGrpcTimeout(req.headers['grpc-timeout'] as string | undefined);
    const ms = Math.min(deadlineOf(req, this.upstreamDeadlineMs), clientTimeout ?? Number.POSITIVE_INFINITY);
    const t0 = performance.now();
    const baseHeaders = (initial: Metadata | null): Record<string, string> => {
      const h: Record<string, string> = { 'content-type': text ? 'application/grpc-web-text+proto' : 'application/grpc-web+proto' };
      if (initial !== null) {
        for (const [k, v] of Object.entries(initial.getMap())) {
          if (k.startsWith('grpc-') || NOT_METADATA.has(k) || k === 'date' || k === 'server') continue;
          h[k] = Buffer.isBuffer(v) ? v.toString('base64') : v;
        }
      }
      // Browsers let scripts read only exposed headers (Fetch §3.2.3); gRPC-Web clients need these.
      if (req.headers.origin !== undefined) h['access-control-expose-headers'] = 'grpc-status, grpc-message';
      return h;
    };
    const finish = (status: StatusObject) => {
      exchange.end(isTargetFailure(status.code));
      if (isTransportStatus(status.code)) req.state.errorCode = `GRPC_${grpcCodeName(status.code)}`;
    };
    // A server-streaming call works for unary methods too (one message, then the status), so the
    // gateway need not know which kind the method is. The answer starts with the first message
    // and streams each message as it comes; a status before any message is a trailers-only answer.
    return new Promise<ProtocolResult>((resolve) => {
      let initial: Metadata | null = null;
      let out: PassThrough | null = null;
      let done = false;
      const encoder = text ? new Base64Stream() : null;
      const call = channel.client.makeServerStreamRequest<Buffer, Buffer>(req.path, (b) => b, (b) => b, message, md, { deadline: Date.now() + ms });
      const write = (chunk: Buffer) => {
        const o = out as PassThrough;
        const data = encoder !== null ? encoder.push(chunk) : chunk;
        if (data.length > 0 && !o.write(data)) {
          call.pause();
          o.once('drain', () => call.resume());
        }
      };
      // The client went away before the first message: cancel the call (the exchange ends with the response).
      const onGone = (): void => {
        if (!done) call.cancel();
      };
      req.signal?.addEventListener('abort', onGone, { once: true });
      call.on('metadata', (h: Metadata) => (initial = h));
      call.on('data', (b: Buffer) => {
        if (out === null) {
          req.state.upstreamMs = performance.now() - t0;
          out = new PassThrough();
          // The client went away mid-stream: cancel the call upstream.
          out.once('close', () => {
            if (!done) call.cancel();
          });
          resolve({ status: 200, headers: baseHeaders(initial), body: out });
        }
        write(frame(0x00, b));
      });
      call.on('error', () => undefined); // the status event carries the outcome
      call.on('status', (status: StatusObject) => {
        done = true;
        req.signal?.removeEventListener('abort', onGone);
        finish(status);
        const trailers = trailerFrame(status.code, status.details ?? '', status.metadata);
        if (out === null) {
          req.state.upstreamMs = performance.now() - t0;
          const headers = baseHeaders(initial);
          // Trailers-only: the status is in the headers too (clients read either).
          headers['grpc-status'] = String(status.code);
          if (status.details) headers['grpc-message'] = encodeGrpcMessage(status.details);
          resolve({ status: 200, headers, body: text ? Buffer.from(trailers.toString('base64')) : trailers });
          return;
        }
        write(trailers);
        if (encoder !== null) out.write(encoder.end());
        out.end();
      });
    });
  }
}
