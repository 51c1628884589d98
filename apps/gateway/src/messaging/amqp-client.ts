import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type RecoveringChannelModel } from 'amqplib';
import type { CompiledBroker } from '@tollgate/compiler';
import { BrokerError, newStats, type BrokerClient, type Confirmation, type Delivery, type OutgoingMessage, type Reply, type SubscribeOptions, type Subscription } from './client.js';

/** RabbitMQ's direct reply-to pseudo queue: RPC replies without declaring a queue per caller. */
const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

function amqpUrl(b: CompiledBroker): string {
  const u = new URL(b.spec.servers[0] as string);
  if (b.spec.username !== undefined) u.username = encodeURIComponent(b.spec.username);
  if (b.spec.password !== undefined) u.password = encodeURIComponent(b.spec.password);
  return u.toString();
}

function headerRecord(h: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  for (const [k, v] of Object.entries(h)) if (v !== undefined && v !== null) out[k.toLowerCase()] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  return out;
}

interface PendingReply {
  resolve(r: Reply): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * RabbitMQ (AMQP 0-9-1) through amqplib's recovering connection: one confirm channel for
 * publishes (publisher confirms, `mandatory` so an unroutable message is not confirmed as
 * delivered), one channel for RPC on direct reply-to, and one channel per subscriber.
 */
export class AmqpBrokerClient implements BrokerClient {
  readonly type = 'rabbitmq' as const;
  readonly stats = newStats();
  #conn: RecoveringChannelModel | null = null;
  #model: ChannelModel | null = null;
  #confirm: ConfirmChannel | null = null;
  #rpc: Channel | null = null;
  #up = false;
  #closed = false;
  #connects = 0;
  /** Message ids the broker returned as unroutable (basic.return arrives before the confirm). */
  readonly #returned = new Set<string>();
  readonly #replies = new Map<string, PendingReply>();

  constructor(private readonly broker: CompiledBroker, private readonly onError: (err: unknown) => void) {
    void this.#start();
  }

  get name(): string {
    return this.broker.name;
  }

  async #start(): Promise<void> {
    const s = this.broker.spec;
    const tls = s.tls;
    try {
      const conn = await connect(amqpUrl(this.broker), {
        timeout: s.connectTimeoutMs,
        ...(tls?.ca !== undefined ? { ca: [tls.ca] } : {}),
        ...(tls?.clientCertificate !== undefined ? { cert: tls.clientCertificate, key: tls.clientKey } : {}),
        ...(tls?.serverName !== undefined ? { servername: tls.serverName } : {}),
        recovery: {
          waitForConnect: false,
          calculateDelay: () => s.reconnectDelayMs,
          // Channels are made on every (re)connect; publishes wait for nothing meanwhile (connected() is false).
          setup: async (model: ChannelModel) => this.#setup(model),
        },
      });
      this.#conn = conn;
      conn.on('disconnect', () => this.#down());
      conn.on('error', (err: Error) => this.onError(err));
      conn.on('connect-failed', () => undefined);
      if (this.#closed) await conn.close().catch(() => undefined);
    } catch (err) {
      if (!this.#closed) this.onError(err);
    }
  }

  async #setup(model: ChannelModel): Promise<void> {
    this.#model = model;
    await this.#openConfirm(model);
    const rpc = await model.createChannel();
    rpc.on('error', () => undefined);
    rpc.on('close', () => {
      if (this.#rpc === rpc) this.#rpc = null;
    });
    await rpc.consume(DIRECT_REPLY_TO, (msg) => this.#onReply(msg), { noAck: true });
    this.#rpc = rpc;
    if (this.#connects++ > 0) this.stats.reconnects++;
    this.#up = true;
  }

  async #openConfirm(model: ChannelModel): Promise<void> {
    const ch = await model.createConfirmChannel();
    ch.on('error', () => undefined);
    ch.on('return', (msg: ConsumeMessage) => {
      const id = msg.properties.messageId as string | undefined;
      if (id !== undefined) this.#returned.add(id);
    });
    // A channel error (a publish to a missing exchange) closes the channel: open another one.
    ch.on('close', () => {
      if (this.#confirm !== ch) return;
      this.#confirm = null;
      if (this.#up && this.#model === model) void this.#openConfirm(model).catch(() => undefined);
    });
    this.#confirm = ch;
  }

  #down(): void {
    this.#up = false;
    this.#confirm = null;
    this.#rpc = null;
    this.#model = null;
    for (const [id, p] of this.#replies) {
      clearTimeout(p.timer);
      p.reject(new BrokerError('MESSAGING_BROKER_DOWN', `broker ${this.name} disconnected before the reply`));
      this.#replies.delete(id);
    }
  }

  connected(): boolean {
    return this.#up && this.#confirm !== null;
  }

  publish(m: OutgoingMessage): Promise<Confirmation> {
    const ch = this.#confirm;
    if (!this.#up || ch === null) return Promise.reject(new BrokerError('MESSAGING_BROKER_DOWN', `broker ${this.name} is not connected`));
    this.stats.publishes++;
    return new Promise<Confirmation>((resolve, reject) => {
      let done = false;
      const fail = (e: BrokerError) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#returned.delete(m.id);
        this.stats.failures++;
        reject(e);
      };
      const timer = setTimeout(() => fail(new BrokerError('MESSAGING_NOT_CONFIRMED', `broker ${this.name} did not confirm within ${m.timeoutMs} ms`)), m.timeoutMs);
      try {
        ch.publish(
          m.exchange,
          m.target,
          m.body,
          { persistent: true, mandatory: true, messageId: m.id, timestamp: Math.floor(Date.now() / 1000), headers: { ...m.headers }, ...(m.contentType !== null ? { contentType: m.contentType } : {}) },
          (err: unknown) => {
            if (done) return;
            if (err !== null && err !== undefined) return fail(new BrokerError('MESSAGING_NOT_CONFIRMED', `broker ${this.name} refused the message: ${err instanceof Error ? err.message : String(err)}`));
            if (this.#returned.delete(m.id)) return fail(new BrokerError('MESSAGING_NOT_CONFIRMED', `no queue is bound for routing key "${m.target}" on exchange "${m.exchange}" (the broker returned the message)`));
            done = true;
            clearTimeout(timer);
            this.stats.confirms++;
            resolve({ id: m.id });
          },
        );
      } catch (err) {
        fail(new BrokerError('MESSAGING_BROKER_DOWN', `broker ${this.name}: ${(err as Error).message}`));
      }
    });
  }

  #onReply(msg: ConsumeMessage | null): void {
    if (msg === null) return;
    const id = msg.properties.correlationId as string | undefined;
    const p = id === undefined ? undefined : this.#replies.get(id);
    if (p === undefined || id === undefined) return; // late or foreign reply: dropped
    this.#replies.delete(id);
    clearTimeout(p.timer);
    p.resolve({ body: msg.content, headers: headerRecord(msg.properties.headers as Record<string, unknown> | undefined), contentType: (msg.properties.contentType as string | undefined) ?? null });
  }

  request(m: OutgoingMessage): Promise<Reply> {
    const ch = this.#rpc;
    if (!this.#up || ch === null) return Promise.reject(new BrokerError('MESSAGING_BROKER_DOWN', `broker ${this.name} is not connected`));
    this.stats.requests++;
    const correlationId = randomUUID();
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#replies.delete(correlationId);
        this.stats.failures++;
        reject(new BrokerError('MESSAGING_REPLY_TIMEOUT', `no reply to "${m.target}" within ${m.timeoutMs} ms`));
      }, m.timeoutMs);
      this.#replies.set(correlationId, { resolve, reject, timer });
      try {
        // Direct reply-to: the request is published on the channel that consumes the replies.
        ch.publish(m.exchange, m.target, m.body, { replyTo: DIRECT_REPLY_TO, correlationId, messageId: m.id, expiration: String(m.timeoutMs), headers: { ...m.headers }, ...(m.contentType !== null ? { contentType: m.contentType } : {}) });
      } catch (err) {
        clearTimeout(timer);
        this.#replies.delete(correlationId);
        reject(new BrokerError('MESSAGING_BROKER_DOWN', `broker ${this.name}: ${(err as Error).message}`));
      }
    });
  }

  async subscribe(o: SubscribeOptions, onMessage: (d: Delivery) => void, onEnd: (err: Error) => void): Promise<Subscription> {
    const model = this.#model;
    if (!this.#up || model === null) throw new BrokerError('MESSAGING_BROKER_DOWN', `broker ${this.name} is not connected`);
    const ch = await model.createChannel();
    let closed = false;
    ch.on('error', () => undefined);
    ch.on('close', () => {
      if (!closed) onEnd(new Error(`broker ${this.name}: the subscription channel closed`));
      closed = true;
    });
    await ch.prefetch(64);
    try {
      await ch.consume(o.target, (msg) => {
        if (msg === null) return;
        this.stats.deliveries++;
        onMessage({ id: null, target: o.target, body: msg.content, headers: headerRecord(msg.properties.headers as Record<string, unknown> | undefined) });
        // Acked once handed to the client's stream (at-most-once towards a client that vanishes mid-write).
        ch.ack(msg);
      });
    } catch (err) {
      closed = true;
      throw new BrokerError('MESSAGING_NOT_CONFIRMED', `broker ${this.name} refused to consume queue "${o.target}": ${(err as Error).message}`);
    }
    return {
      close: () => {
        if (closed) return;
        closed = true;
        void ch.close().catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#down();
    const c = this.#conn;
    this.#conn = null;
    if (c !== null) await c.close().catch(() => undefined);
  }
}

