import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { CompiledBroker } from '@tollgate/compiler';
import { BrokerError, newStats, withTimeout, type BrokerClient, type Confirmation, type Delivery, type OutgoingMessage, type Reply, type SubscribeOptions, type Subscription } from './client.js';

/** Whether an MQTT topic matches a filter (`+` one level, `#` the rest; MQTT 5 §4.7.1). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const x = f[i];
    if (x === '#') return true;
    if (i >= t.length) return false;
    if (x !== '+' && x !== t[i]) return false;
  }
  return f.length === t.length;
}

function userProperties(p: Record<string, string | string[]> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (p === undefined) return out;
  for (const [k, v] of Object.entries(p)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

interface Local {
  readonly filter: string;
  readonly onMessage: (d: Delivery) => void;
  readonly onEnd: (err: Error) => void;
}

/**
 * MQTT 5 through one MQTT.js client per broker: QoS 1 publishes are confirmed by PUBACK, QoS 2
 * by PUBCOMP; headers become MQTT 5 user properties. Subscriptions of every SSE client share the
 * connection (one SUBSCRIBE per filter, counted), and MQTT.js re-subscribes after a reconnect.
 */
export class MqttBrokerClient implements BrokerClient {
  readonly type = 'mqtt' as const;
  readonly stats = newStats();
  readonly #client: MqttClient;
  readonly #locals = new Set<Local>();
  readonly #filters = new Map<string, number>();
  #connects = 0;

  constructor(private readonly broker: CompiledBroker, onError: (err: unknown) => void) {
    const s = broker.spec;
    const servers = s.servers.map((u) => {
      const x = new URL(u);
      return { host: x.hostname, port: Number(x.port || (x.protocol === 'mqtts:' ? 8883 : 1883)), protocol: x.protocol === 'mqtts:' ? ('mqtts' as const) : ('mqtt' as const) };
    });
    const first = servers[0] as (typeof servers)[number];
    const options: IClientOptions = {
      ...first,
      servers,
      protocolVersion: 5,
      clean: true,
      clientId: `tollgate_${broker.name.slice(0, 32)}_${Math.random().toString(36).slice(2, 10)}`,
      connectTimeout: s.connectTimeoutMs,
      reconnectPeriod: s.reconnectDelayMs,
      // Nothing waits in MQTT.js' offline queue: publishes are refused while disconnected.
      queueQoSZero: false,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.password !== undefined ? { password: s.password } : {}),
      ...(s.tls?.ca !== undefined ? { ca: s.tls.ca } : {}),
      ...(s.tls?.clientCertificate !== undefined ? { cert: s.tls.clientCertificate, key: s.tls.clientKey } : {}),
      ...(s.tls?.serverName !== undefined ? { servername: s.tls.serverName } : {}),
    };
    this.#client = connect(options);
    this.#client.on('connect', () => {
      if (this.#connects++ > 0) this.stats.reconnects++;
    });
    this.#client.on('error', (err) => onError(err));
    this.#client.on('message', (topic, payload, packet) => {
      const headers = userProperties(packet.properties?.userProperties);
      for (const l of this.#locals) {
        if (!topicMatches(l.filter, topic)) continue;
        this.stats.deliveries++;
        l.onMessage({ id: null, target: topic, body: payload, headers });
      }
    });
  }

  get name(): string {
    return this.broker.name;
  }

  connected(): boolean {
    return this.#client.connected;
  }

  async publish(m: OutgoingMessage): Promise<Confirmation> {
    if (!this.connected()) throw new BrokerError('MESSAGING_BROKER_DOWN', `broker ${this.name} is not connected`);
    this.stats.publishes++;
    const properties = { userProperties: { ...m.headers, 'x-message-id': m.id }, ...(m.contentType !== null ? { contentType: m.contentType } : {}) };
    try {
      // QoS 1: resolves on PUBACK; QoS 2: on PUBCOMP; QoS 0: once written to the socket.
      await withTimeout(this.#client.publishAsync(m.target, m.body, { qos: m.qos, retain: m.retain, properties }), m.timeoutMs, () => new BrokerError('MESSAGING_NOT_CONFIRMED', `broker ${this.name} did not acknowledge within ${m.timeoutMs} ms`));
      this.stats.confirms++;
      return { id: m.id };
    } catch (err) {
      this.stats.failures++;
      if (err instanceof BrokerError) throw err;
      throw new BrokerError('MESSAGING_NOT_CONFIRMED', `broker ${this.name}: ${(err as Error).message}`);
    }
  }

  request(): Promise<Reply> {
    // Refused at apply (compile-messaging.ts): MQTT has no request-reply here.
    return Promise.reject(new BrokerError('MESSAGING_BROKER_DOWN', 'MQTT routes do not do request-reply'));
  }

  async subscribe(o: SubscribeOptions, onMessage: (d: Delivery) => void, onEnd: (err: Error) => void): Promise<Subscription> {
    if (!this.connected()) throw new BrokerError('MESSAGING_BROKER_DOWN', `broker ${this.name} is not connected`);
    const local: Local = { filter: o.target, onMessage, onEnd };
    const n = this.#filters.get(o.target) ?? 0;
    this.#filters.set(o.target, n + 1);
    if (n === 0) {
      try {
        await withTimeout(this.#client.subscribeAsync(o.target, { qos: o.qos }), this.broker.spec.confirmTimeoutMs, () => new BrokerError('MESSAGING_NOT_CONFIRMED', `broker ${this.name} did not grant the subscription in time`));
      } catch (err) {
        this.#release(o.target);
        throw err instanceof BrokerError ? err : new BrokerError('MESSAGING_NOT_CONFIRMED', `broker ${this.name}: ${(err as Error).message}`);
      }
    }
    this.#locals.add(local);
    let closed = false;
    return {
      close: () => {
        if (closed) return;
        closed = true;
        this.#locals.delete(local);
        this.#release(o.target);
      },
    };
  }

  #release(filter: string): void {
    const n = (this.#filters.get(filter) ?? 1) - 1;
    if (n > 0) this.#filters.set(filter, n);
    else {
      this.#filters.delete(filter);
      if (this.#client.connected) this.#client.unsubscribe(filter);
    }
  }

  async close(): Promise<void> {
    // Subscribers' streams end (the broker was removed or changed) rather than hang.
    for (const l of this.#locals) l.onEnd(new Error(`broker ${this.name} was removed or changed`));
    this.#locals.clear();
    await this.#client.endAsync(true).catch(() => undefined);
  }
}
