import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { CompiledMessaging } from '@tollgate/compiler';
import { isFieldValue } from '@tollgate/model';
import { BodyTooLarge, ClientClosed, effectiveHeaders, problem, readBody, type ProtocolHandler, type ProtocolRequest, type ProtocolResult } from '../protocols/common.js';
import type { BrokerPool } from './broker-pool.js';
import { BrokerError, messageId, type BrokerClient, type Delivery, type OutgoingMessage, type Subscription } from './client.js';
import { MESSAGING_ERRORS } from './errors.js';

/** A comment line every so often keeps proxies and load balancers from closing an idle stream. */
const SSE_HEARTBEAT_MS = 15_000;

/** Characters a path capture may not bring into a target: separators and wildcards of the broker type would address other subjects. */
const UNSAFE: Record<'nats' | 'rabbitmq' | 'mqtt', RegExp> = {
  nats: /[.*>\s\u0000-\u001f]/,
  rabbitmq: /[.*#\u0000-\u001f]/,
  mqtt: /[/+#\u0000]/,
};

/** One Server-Sent Events frame (WHATWG HTML §9.2): each line of the data in its own `data:` field. */
export function sseFrame(d: Delivery, event = 'message'): string {
  let out = d.id !== null ? `id: ${d.id}\n` : '';
  out += `event: ${event}\n`;
  for (const line of d.body.toString('utf8').split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

function fail(req: ProtocolRequest, err: unknown): ProtocolResult {
  if (!(err instanceof BrokerError)) throw err;
  const spec = MESSAGING_ERRORS[err.code];
  return problem(req, spec.status, err.code, spec.title, err.message);
}

/**
 * A messaging route's exchange: run by the same stages as every route (auth, limits, quotas,
 * transforms, lifecycle happen before `handle`; metering after), it publishes the request body,
 * sends it as a request and answers with the reply, or streams deliveries as Server-Sent Events.
 */
export class MessagingHandler implements ProtocolHandler {
  readonly kind = 'messaging' as const;

  constructor(
    private readonly action: CompiledMessaging,
    private readonly pool: BrokerPool,
  ) {}

  /** The subject / routing key / topic of this request, or null when a capture would change its shape. */
  #target(req: ProtocolRequest): string | null {
    const a = this.action;
    if (a.literal !== null) return a.literal;
    const unsafe = UNSAFE[a.broker.spec.type];
    let out = '';
    for (const p of a.target) {
      if ('text' in p) out += p.text;
      else {
        const v = req.captures?.[p.capture] ?? '';
        if (v === '' || unsafe.test(v)) return null;
        out += v;
      }
    }
    return out;
  }

  #client(req: ProtocolRequest): BrokerClient | ProtocolResult {
    const c = this.pool.get(this.action.broker.name);
    req.state.target = `${this.action.broker.spec.type}:${this.action.broker.name}`;
    if (c === null || !c.connected()) return problem(req, 503, 'MESSAGING_BROKER_DOWN', MESSAGING_ERRORS.MESSAGING_BROKER_DOWN.title, `broker ${this.action.broker.name} is not connected`);
    return c;
  }

  async handle(req: ProtocolRequest): Promise<ProtocolResult> {
    const target = this.#target(req);
    if (target === null) return problem(req, 400, 'MESSAGING_BAD_TARGET', MESSAGING_ERRORS.MESSAGING_BAD_TARGET.title, 'a path value is empty or holds a separator or wildcard of the broker', {}, true);
    if (this.action.operation === 'subscribe') return this.#subscribe(req, target);
    return this.#send(req, target);
  }

  async #body(req: ProtocolRequest): Promise<Buffer | ProtocolResult> {
    const max = this.action.maxMessageBytes;
    // A request-transform policy may have read (and changed) the body already.
    const buffered = req.ctx?.bufferedBody ?? null;
    if (buffered !== null) {
      if (buffered.length > max) return problem(req, 413, 'MESSAGING_MESSAGE_TOO_LARGE', MESSAGING_ERRORS.MESSAGING_MESSAGE_TOO_LARGE.title, `the message exceeds maxMessageBytes (${max})`);
      return buffered;
    }
    const declared = Number(req.raw.headers['content-length'] ?? 0);
    if (declared > max) return problem(req, 413, 'MESSAGING_MESSAGE_TOO_LARGE', MESSAGING_ERRORS.MESSAGING_MESSAGE_TOO_LARGE.title, `the message exceeds maxMessageBytes (${max})`, {}, true);
    try {
      const b = await readBody(req.raw, max);
      req.state.bytesIn = b.length;
      return b;
    } catch (err) {
      if (err instanceof BodyTooLarge) return problem(req, 413, 'MESSAGING_MESSAGE_TOO_LARGE', MESSAGING_ERRORS.MESSAGING_MESSAGE_TOO_LARGE.title, `the message exceeds maxMessageBytes (${max})`, {}, true);
      if (err instanceof ClientClosed) return problem(req, 499, 'CLIENT_ABORTED', 'Client closed request', err.message, {}, true);
      throw err;
    }
  }

  /** Chosen request headers, the consumer identity (as the X-Consumer-* headers HTTP upstreams get) and the request id. */
  #headers(req: ProtocolRequest): Record<string, string> {
    const eff = effectiveHeaders(req);
    const out: Record<string, string> = {};
    const take = (n: string): void => {
      const v = eff[n];
      if (v !== undefined) out[n] = Array.isArray(v) ? v.join(', ') : v;
    };
    for (const n of this.action.headers) take(n);
    for (const n of Object.keys(eff)) if (n.startsWith('x-consumer-')) take(n);
    const c = req.ctx?.consumer ?? null;
    if (c !== null) {
      out['x-consumer-name'] ??= c.name;
      if (c.customId !== null) out['x-consumer-id'] ??= c.customId;
    }
    out['x-request-id'] = req.requestId;
    return out;
  }

  async #send(req: ProtocolRequest, target: string): Promise<ProtocolResult> {
    const a = this.action;
    const client = this.#client(req);
    if (!('publish' in client)) return { ...client, close: true };
    const body = await this.#body(req);
    if (!Buffer.isBuffer(body)) return body;
    const key = req.headers['idempotency-key'];
    const dedupeId = typeof key === 'string' && key.length > 0 && key.length <= 256 && isFieldValue(key) ? key : null;
    const ct = req.headers['content-type'];
    const m: OutgoingMessage = {
      target,
      exchange: a.exchange,
      body,
      headers: this.#headers(req),
      contentType: a.contentType ?? (typeof ct === 'string' ? ct : null),
      id: messageId(),
      dedupeId,
      jetstream: a.jetstream,
      qos: a.qos,
      retain: a.retain,
      timeoutMs: a.timeoutMs,
    };
    const t0 = performance.now();
    try {
      if (a.operation === 'publish') {
        const c = await client.publish(m);
        req.state.upstreamMs = performance.now() - t0;
        const out: Record<string, unknown> = { id: c.id, broker: a.broker.name, target };
        if (c.stream !== undefined) Object.assign(out, { stream: c.stream, seq: c.seq, duplicate: c.duplicate });
        return { status: 202, headers: { 'content-type': 'application/json', 'x-message-id': c.id }, body: JSON.stringify(out) };
      }
      const r = await client.request(m);
      req.state.upstreamMs = performance.now() - t0;
      const headers: Record<string, string> = { 'content-type': r.contentType !== null && r.contentType !== '' && isFieldValue(r.contentType) ? r.contentType : 'application/octet-stream' };
      for (const n of a.replyHeaders) {
        const v = r.headers[n];
        if (v !== undefined && isFieldValue(v)) headers[n] = v;
      }
      return { status: 200, headers, body: r.body };
    } catch (err) {
      req.state.upstreamMs = performance.now() - t0;
      return fail(req, err);
    }
  }

  /** The JetStream sequence to resume after (`Last-Event-ID`), null for new messages only, or the 400 answer. */
  #resumeAfter(req: ProtocolRequest, last: string | undefined): number | null | ProtocolResult {
    if (!this.action.jetstream || last === undefined || last === '') return null;
    if (!/^\d{1,15}$/.test(last)) return problem(req, 400, 'MESSAGING_BAD_EVENT_ID', MESSAGING_ERRORS.MESSAGING_BAD_EVENT_ID.title, 'Last-Event-ID must be the stream sequence of the last event received');
    return Number(last);
  }

  async #subscribe(req: ProtocolRequest, target: string): Promise<ProtocolResult> {
    const accept = req.headers.accept;
    if (req.method !== 'GET' || typeof accept !== 'string' || !accept.toLowerCase().includes('text/event-stream')) {
      return problem(req, 406, 'MESSAGING_SSE_REQUIRED', MESSAGING_ERRORS.MESSAGING_SSE_REQUIRED.title, 'send GET with Accept: text/event-stream, or open a WebSocket', {}, true);
    }
    const last = req.headers['last-event-id'];
    const after = this.#resumeAfter(req, typeof last === 'string' ? last : undefined);
    if (after !== null && typeof after === 'object') return after;
    const out = new PassThrough();
    const heartbeat = setInterval(() => out.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
    heartbeat.unref();
    const opened = await this.subscription(req, target, after, {
      message: (d) => out.write(sseFrame(d)),
      end: (final) => {
        clearInterval(heartbeat);
        if (final !== null && !out.writableEnded) out.write(`event: ${final.event}\ndata: ${JSON.stringify(final.data)}\n\n`);
        out.end();
      },
    });
    if ('status' in opened) {
      clearInterval(heartbeat);
      return opened;
    }
    out.on('close', () => opened.close());
    // `retry` (WHATWG HTML §9.2.4): how soon an EventSource reconnects after the stream ends.
    out.write('retry: 2000\n\n');
    return { status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' }, body: out };
  }

  /**
   * Opens a subscription for one client (a Server-Sent Events stream or a WebSocket): each
   * delivered message is admitted through the route's access policies first when it has any (in
   * order, one check at a time) and metered; a refusal or a broker failure ends it with a final
   * event. Returns the live subscription, or the answer when it could not be opened.
   */
  async subscription(req: ProtocolRequest, target: string, after: number | null, sink: SubscriptionSink): Promise<Subscription | ProtocolResult> {
    const a = this.action;
    const client = this.#client(req);
    if (!('subscribe' in client)) return client;
    const state = req.state;
    const perMessage = state.units;
    // Metering: opening the subscription counts `metering.units` like any request, and so does
    // each delivered message (count), with the bytes written; the quota is charged the same.
    const admitted = state.quotaCharge;
    let charged = 0;
    const recheck = req.recheck;
    let sub: Subscription | null = null;
    let ended = false;
    const end = (final: FinalEvent | null): void => {
      if (ended) return;
      ended = true;
      sub?.close();
      sink.end(final);
    };
    req.signal?.addEventListener('abort', () => end(null), { once: true });
    const deliver = (d: Delivery): void => {
      if (ended) return;
      state.units += perMessage;
      sink.message(d);
    };
    let queue: Promise<void> = Promise.resolve();
    const admit = (d: Delivery): void => {
      queue = queue.then(async () => {
        if (ended || recheck === undefined) return;
        const r = await recheck().catch((err: unknown) => ({ refusal: { status: 500, code: 'INTERNAL_ERROR', title: 'The policies could not be run', detail: (err as Error).message }, quotaCharge: null }));
        if (ended) return;
        // A limit or the quota ran out (or the credential was revoked) mid-stream: a final event says why.
        if (r.refusal !== null) return end({ event: 'end', data: { ...r.refusal } });
        if (r.quotaCharge !== null) {
          charged += r.quotaCharge.units;
          state.quotaCharge = { ...(admitted ?? r.quotaCharge), units: (admitted?.units ?? 0) + charged };
        }
        deliver(d);
      });
    };
    try {
      sub = await client.subscribe({ target, jetstream: a.jetstream, after, qos: a.qos }, recheck === undefined ? deliver : admit, (err) => end({ event: 'error', data: { code: 'MESSAGING_BROKER_DOWN', detail: err.message } }));
    } catch (err) {
      ended = true;
      return fail(req, err);
    }
    if (ended) sub.close();
    return { close: () => end(null) };
  }

  /** Whether the route's broker is connected now (a WebSocket handshake is refused with 503 otherwise). */
  brokerConnected(): boolean {
    return this.pool.get(this.action.broker.name)?.connected() === true;
  }

  /** Whether the route streams messages (`operation: subscribe`). */
  get subscribes(): boolean {
    return this.action.operation === 'subscribe';
  }

  /** The target of a subscription request, or null (see {@link MessagingHandler.handle}). */
  targetOf(req: ProtocolRequest): string | null {
    return this.#target(req);
  }

  /** `Last-Event-ID` (or the WebSocket `lastEventId` query parameter) as the sequence to resume after. */
  resumeAfter(req: ProtocolRequest, last: string | undefined): number | null | ProtocolResult {
    return this.#resumeAfter(req, last);
  }
}

/** The last event of a subscription that did not end by the client's choice. */
export interface FinalEvent {
  readonly event: 'end' | 'error';
  readonly data: Record<string, unknown>;
}

/** Where a subscription writes: an SSE stream or a WebSocket. */
export interface SubscriptionSink {
  message(d: Delivery): void;
  end(final: FinalEvent | null): void;
}
