import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { RequestState } from './access-log.js';
import type { AnsweredReply } from './answered.js';
import type { GatewayAnswerStep } from '@tollgate/policies';

/**
 * The data plane's request and reply, on node:http directly (docs/architecture.md, "Why the data
 * plane is not on Fastify"): a header map and a status until the answer is written, then one
 * `writeHead` with the whole head. It keeps the few reply verbs the stages use (`code`, `header`,
 * `headers`, `send`) with Fastify's semantics for them, so the stages read the same, but there is
 * no hook runner, no serializer lookup and no Readable/pipe on the way out.
 */
export class ProxyRequest {
  /** Per-request state of the proxy (null until the route handler runs). */
  tg: RequestState | null = null;
  constructor(
    readonly id: string,
    readonly raw: IncomingMessage,
  ) {}
}

/** Shared by every reply of one listener: the drain flag and what handles a failed body stream. */
export interface ReplyEnv {
  /** SIGTERM received: every response from now on carries `Connection: close` (RFC 9112 §9.6). */
  readonly drain: { readonly draining: boolean };
  /** A response body stream failed before any byte was written: answer an error instead. */
  onStreamError(reply: ProxyReply, err: Error): void;
}

function isStream(v: unknown): v is Readable {
  return v !== null && typeof v === 'object' && typeof (v as { pipe?: unknown }).pipe === 'function';
}

/** The reply of one proxied request, written once with `writeHead`. */
export class ProxyReply implements AnsweredReply {
  statusCode = 200;
  /** `performance.now()` when the request head was taken (set by the account stage's watch), 0 before. */
  startedAt = 0;
  /**
   * What the route's policies add to the gateway's own answers (CORS), set once the request is
   * routed (runtime.ts `gatewayAnswer`); null before routing, on routes without such a policy, and
   * for an answer that must look as if no route matched.
   */
  gatewayAnswer: GatewayAnswerStep | null = null;
  /** Lower-case names. */
  #headers: Record<string, string | string[]> = {};
  #sent = false;

  constructor(
    readonly request: ProxyRequest,
    readonly raw: ServerResponse,
    private readonly env: ReplyEnv,
  ) {}

  /** True once `send` wrote (or started writing) the answer. */
  get sent(): boolean {
    return this.#sent || this.raw.headersSent;
  }

  get elapsedTime(): number {
    return this.startedAt === 0 ? 0 : performance.now() - this.startedAt;
  }

  code(status: number): this {
    this.statusCode = status;
    return this;
  }

  status(status: number): this {
    this.statusCode = status;
    return this;
  }

  /** Sets a header (a second `set-cookie` is added, as Fastify does); undefined is ignored. */
  header(name: string, value: string | number | readonly string[] | undefined): this {
    if (value === undefined) return this;
    const key = name.toLowerCase();
    const v = typeof value === 'number' ? String(value) : (value as string | string[]);
    if (key === 'set-cookie') {
      const prev = this.#headers[key];
      if (prev !== undefined) {
        this.#headers[key] = ([] as string[]).concat(prev, v);
        return this;
      }
    }
    this.#headers[key] = v;
    return this;
  }

  headers(values: Readonly<Record<string, string | number | readonly string[] | undefined>>): this {
    for (const name in values) this.header(name, values[name]);
    return this;
  }

  getHeader(name: string): string | string[] | undefined {
    return this.#headers[name.toLowerCase()];
  }

  getHeaders(): Readonly<Record<string, string | string[]>> {
    return this.#headers;
  }

  hasHeader(name: string): boolean {
    return this.#headers[name.toLowerCase()] !== undefined;
  }

  removeHeader(name: string): this {
    delete this.#headers[name.toLowerCase()];
    return this;
  }

  /**
   * Adds the route's headers for an answer the gateway produced itself (a refusal, an upstream
   * error, 413, 503): called by the writers of those answers, never for one that went through the
   * response policies (they added the same headers, and later policies may have changed them).
   */
  addGatewayAnswerHeaders(): this {
    const step = this.gatewayAnswer;
    if (step !== null) step(this.request.raw.method ?? 'GET', this.request.raw.headers, this.#headers as Record<string, string | string[] | undefined>);
    return this;
  }

  /** Forgets every header set so far (an error answer replacing an upstream's head). */
  clearHeaders(): this {
    this.#headers = {};
    return this;
  }

  /**
   * Writes the answer: a string or Buffer with its length, a stream (the head is written with its
   * first byte, so a stream failing before any byte can still be answered as an error), or
   * nothing. 1xx and 204 carry no body fields (RFC 9110 §8.6), as Fastify does.
   */
  send(payload?: string | Buffer | Readable | null): this {
    if (this.#sent) return this;
    this.#sent = true;
    const res = this.raw;
    if (res.destroyed) {
      if (isStream(payload)) payload.destroy();
      return this;
    }
    const h = this.#headers;
    if (this.env.drain.draining) h.connection = 'close';
    const status = this.statusCode;
    if (payload === undefined || payload === null) {
      if (status >= 200 && status !== 204 && status !== 304 && this.request.raw.method !== 'HEAD') h['content-length'] = '0';
      res.writeHead(status, h as OutgoingHttpHeaders);
      res.end();
      return this;
    }
    if (status < 200 || status === 204) {
      delete h['content-type'];
      delete h['content-length'];
      if (isStream(payload)) payload.resume();
      res.writeHead(status, h as OutgoingHttpHeaders);
      res.end();
      return this;
    }
    if (isStream(payload)) {
      streamBody(this, payload, h);
      return this;
    }
    if (h['content-type'] === undefined) h['content-type'] = typeof payload === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream';
    const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    const declared = h['content-length'];
    if (declared === undefined || (this.request.raw.method !== 'HEAD' && Number(declared) !== length)) h['content-length'] = String(length);
    res.writeHead(status, h as OutgoingHttpHeaders);
    res.end(payload);
    return this;
  }

  /** The env's answer to a body stream that failed before its first byte. */
  streamFailed(err: Error): void {
    this.#sent = false;
    this.env.onStreamError(this, err);
  }
}

/**
 * Streams a response body with backpressure. The head goes out with the first chunk (or the
 * end); a stream that fails before that is answered as an error, after it the connection is cut
 * (the client must not take a truncated body for a complete one, RFC 9112 §6.3).
 */
function streamBody(reply: ProxyReply, body: Readable, h: Record<string, string | string[]>): void {
  const res = reply.raw;
  let headWritten = false;
  const writeHead = (): void => {
    if (headWritten) return;
    headWritten = true;
    res.writeHead(reply.statusCode, h as OutgoingHttpHeaders);
  };
  const onData = (chunk: Buffer): void => {
    writeHead();
    if (!res.write(chunk)) body.pause();
  };
  const onDrain = (): void => void body.resume();
  const onEnd = (): void => {
    cleanup();
    writeHead();
    res.end();
  };
  const onError = (err: Error): void => {
    cleanup();
    if (headWritten || res.destroyed) res.destroy();
    else reply.streamFailed(err);
  };
  const onClose = (): void => {
    // The client went away (or the answer is complete): a body still streaming is not read further.
    cleanup();
    if (!body.readableEnded) body.destroy();
  };
  const cleanup = (): void => {
    body.off('data', onData);
    body.off('end', onEnd);
    body.off('error', onError);
    res.off('drain', onDrain);
    res.off('close', onClose);
  };
  body.on('data', onData);
  body.once('end', onEnd);
  body.once('error', onError);
  res.on('drain', onDrain);
  res.once('close', onClose);
}
