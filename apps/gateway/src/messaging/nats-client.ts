import { connect, DeliverPolicy, ErrorCode, Events, headers as natsHeaders, type ConnectionOptions, type JetStreamClient, type MsgHdrs, type NatsConnection, type NatsError } from 'nats';
import type { CompiledBroker } from '@tollgate/compiler';
import { BrokerError, newStats, withTimeout, type BrokerClient, type Confirmation, type Delivery, type OutgoingMessage, type Reply, type SubscribeOptions, type Subscription } from './client.js';

function headerRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  for (const [k, v] of h) if (v.length > 0) out[k.toLowerCase()] = v.join(', ');
  return out;
}

function natsOptions(b: CompiledBroker): ConnectionOptions {
  const s = b.spec;
  const o: ConnectionOptions = {
    servers: [...s.servers],
    name: `tollgate:${b.name}`,
    timeout: s.connectTimeoutMs,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: s.reconnectDelayMs,
  };
  if (s.username !== undefined) o.user = s.username;
  if (s.password !== undefined) o.pass = s.password;
  if (s.token !== undefined) o.token = s.token;
  const tlsScheme = s.servers.some((u) => u.startsWith('tls:'));
  if (s.tls !== undefined || tlsScheme) {
    o.tls = {
      ...(s.tls?.ca !== undefined ? { ca: s.tls.ca } : {}),
      ...(s.tls?.clientCertificate !== undefined ? { cert: s.tls.clientCertificate } : {}),
      ...(s.tls?.clientKey !== undefined ? { key: s.tls.clientKey } : {}),
      ...(s.tls?.serverName !== undefined ? { servername: s.tls.serverName } : {}),
    } as NonNullable<ConnectionOptions['tls']>;
  }
  return o;
}

function isNatsError(e: unknown): e is NatsError {
  return e instanceof Error && typeof (e as NatsError).code === 'string';
}

/** NATS (core and JetStream) through one nats.js connection per broker. */
export class NatsBrokerClient implements BrokerClient {
  readonly type = 'nats' as const;
  readonly stats = newStats();
  #nc: NatsConnection | null = null;
  #js: JetStreamClient | null = null;
  #up = false;
  #closed = false;
  readonly #streams = new Map<string, string>();
  /** Live subscriptions: ended (with their onEnd) when the client is closed, so no stream hangs on a removed broker. */
  readonly #subs = new Set<{ close(): void; onEnd(err: Error): void }>();

  constructor(private readonly broker: CompiledBroker, private readonly onError: (err: unknown) => void) {
    void this.#start();
  }

  get name(): string {
    return this.broker.name;
  }

  async #start(): Promise<void> {
    // The first connection is retried here rather than by nats.js (`waitOnFirstConnect`), so a
    // broker removed before it was ever reachable leaves no retry loop behind.
    let nc: NatsConnection | null = null;
    while (nc === null) {
      if (this.#closed) return;
      try {
        nc = await connect(natsOptions(this.broker));
      } catch (err) {
        if (this.#closed) return;
        this.onError(err);
        await new Promise((r) => setTimeout(r, this.broker.spec.reconnectDelayMs).unref());
      }
    }
    if (this.#closed) {
      await nc.close();
      return;
    }
    this.#nc = nc;
    this.#js = nc.jetstream();
    this.#up = true;
    try {
      for await (const s of nc.status()) {
        if (s.type === Events.Disconnect) this.#up = false;
        else if (s.type === Events.Reconnect) {
          this.#up = true;
          this.stats.reconnects++;
        }
      }
    } catch (err) {
      if (!this.#closed) this.onError(err);
    }
  }

  connected(): boolean {
    return this.#up && this.#nc !== null && !this.#nc.isClosed();
  }

  #conn(): NatsConnection {
    if (!this.connected()) throw new BrokerError('MESSAGING_BROKER_DOWN', `broker ${this.name} is not connected`);
    return this.#nc as NatsConnection;
  }

  #headers(m: OutgoingMessage): MsgHdrs {
    const h = natsHeaders();
    for (const [k, v] of Object.entries(m.headers)) h.set(k, v);
    if (m.contentType !== null) h.set('content-type', m.contentType);
    return h;
  }

  async publish(m: OutgoingMessage): Promise<Confirmation> {
    const nc = this.#conn();
    this.stats.publishes++;
    try {
      if (m.jetstream) {
        const ack = await (this.#js as JetStreamClient).publish(m.target, m.body, { headers: this.#headers(m), msgID: m.dedupeId ?? m.id, timeout: m.timeoutMs });
        this.stats.confirms++;
        return { id: m.dedupeId ?? m.id, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
      }
      nc.publish(m.target, m.body, { headers: this.#headers(m) });
      // Core NATS has no acknowledgement: a flush (PING/PONG) proves the server read the message.
      await withTimeout(nc.flush(), m.timeoutMs, () => new BrokerError('MESSAGING_NOT_CONFIRMED', `the server did not answer the flush within ${m.timeoutMs} ms`));
      this.stats.confirms++;
      return { id: m.id };
    } catch (err) {
      this.stats.failures++;
      if (err instanceof BrokerError) throw err;
      if (isNatsError(err) && err.code === ErrorCode.NoResponders) throw new BrokerError('MESSAGING_NOT_CONFIRMED', `no JetStream stream stores subject ${m.target}`);
      if (isNatsError(err) && (err.code === ErrorCode.Disconnect || err.code === ErrorCode.ConnectionClosed)) throw new BrokerError('MESSAGING_BROKER_DOWN', `broker ${this.name}: ${err.message}`);
      throw new BrokerError('MESSAGING_NOT_CONFIRMED', `broker ${this.name}: ${(err as Error).message}`);
    }
  }

  async request(m: OutgoingMessage): Promise<Reply> {
    const nc = this.#conn();
    this.stats.requests++;
    try {
      const r = await nc.request(m.target, m.body, { timeout: m.timeoutMs, headers: this.#headers(m) });
      const h = headerRecord(r.headers);
      return { body: Buffer.from(r.data), headers: h, contentType: h['content-type'] ?? null };
    } catch (err) {
      this.stats.failures++;
      if (isNatsError(err) && err.code === ErrorCode.NoResponders) throw new BrokerError('MESSAGING_NO_RESPONDERS', `no subscriber listens on ${m.target}`);
      if (isNatsError(err) && err.code === ErrorCode.Timeout) throw new BrokerError('MESSAGING_REPLY_TIMEOUT', `no reply on ${m.target} within ${m.timeoutMs} ms`);
      throw new BrokerError('MESSAGING_BROKER_DOWN', `broker ${this.name}: ${(err as Error).message}`);
    }
  }

  async #streamOf(subject: string): Promise<string> {
    const known = this.#streams.get(subject);
    if (known !== undefined) return known;
    const jsm = await this.#conn().jetstreamManager();
    const name = await jsm.streams.find(subject);
    this.#streams.set(subject, name);
    return name;
  }

  async subscribe(o: SubscribeOptions, onMessage: (d: Delivery) => void, onEnd: (err: Error) => void): Promise<Subscription> {
    const nc = this.#conn();
    const stats = this.stats;
    if (!o.jetstream) {
      // Core NATS: nats.js re-subscribes after a reconnect; what is published meanwhile is not kept (core semantics).
      const sub = nc.subscribe(o.target, {
        callback: (err, msg) => {
          if (err !== null) return onEnd(err);
          stats.deliveries++;
          onMessage({ id: null, target: msg.subject, body: Buffer.from(msg.data), headers: headerRecord(msg.headers) });
        },
      });
      return this.#track({ close: () => sub.unsubscribe(), onEnd });
    }
    let stream: string;
    try {
      stream = await this.#streamOf(o.target);
    } catch (err) {
      throw new BrokerError('MESSAGING_NOT_CONFIRMED', `no JetStream stream holds subject ${o.target}: ${(err as Error).message}`);
    }
    // An ordered consumer (ephemeral, recreated by nats.js at the right sequence after a gap or a reconnect).
    const consumer = await (this.#js as JetStreamClient).consumers.get(stream, o.after === null ? { filterSubjects: o.target, deliver_policy: DeliverPolicy.New } : { filterSubjects: o.target, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: o.after + 1 });
    const messages = await consumer.consume({
      callback: (msg) => {
        stats.deliveries++;
        onMessage({ id: String(msg.seq), target: msg.subject, body: Buffer.from(msg.data), headers: headerRecord(msg.headers) });
      },
    });
    void messages.closed().then((err) => {
      if (err) onEnd(err);
    });
    return this.#track({ close: () => void messages.close().catch(() => undefined), onEnd });
  }

  #track(s: { close(): void; onEnd(err: Error): void }): Subscription {
    this.#subs.add(s);
    return {
      close: () => {
        if (!this.#subs.delete(s)) return;
        s.close();
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#up = false;
    for (const s of this.#subs) {
      s.close();
      s.onEnd(new Error(`broker ${this.name} was removed or changed`));
    }
    this.#subs.clear();
    const nc = this.#nc;
    this.#nc = null;
    if (nc !== null && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
}
