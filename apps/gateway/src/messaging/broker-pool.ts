import type { CompiledBroker } from '@tollgate/compiler';
import type { Logger } from 'pino';
import { AmqpBrokerClient } from './amqp-client.js';
import { scrub, type BrokerClient } from './client.js';
import { MqttBrokerClient } from './mqtt-client.js';
import { NatsBrokerClient } from './nats-client.js';

interface Entry {
  readonly hash: string;
  readonly client: BrokerClient;
}

/** Errors of a broker connection are logged at most this often per broker (a down broker retries every second). */
const LOG_EVERY_MS = 30_000;

/**
 * The broker connections of one gateway: one client per Broker resource that a route uses,
 * created when a snapshot that uses it is installed, kept across snapshots while its spec is
 * unchanged, and closed when no route uses it any more or its spec changed.
 */
export class BrokerPool {
  readonly #entries = new Map<string, Entry>();
  readonly #lastLogged = new Map<string, number>();
  logger: Logger | null = null;

  /** Makes the pool hold exactly the given brokers (by name and spec hash). */
  sync(brokers: ReadonlyMap<string, CompiledBroker>): void {
    for (const [name, e] of this.#entries) {
      const b = brokers.get(name);
      if (b !== undefined && b.hash === e.hash) continue;
      this.#entries.delete(name);
      void e.client.close().catch(() => undefined);
    }
    for (const [name, b] of brokers) {
      if (this.#entries.has(name)) continue;
      this.#entries.set(name, { hash: b.hash, client: createClient(b, (err) => this.#logError(name, err)) });
    }
  }

  /** The client of a broker, or null when no installed route uses it. */
  get(name: string): BrokerClient | null {
    return this.#entries.get(name)?.client ?? null;
  }

  clients(): BrokerClient[] {
    return [...this.#entries.values()].map((e) => e.client);
  }

  async closeAll(): Promise<void> {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map((e) => e.client.close().catch(() => undefined)));
  }

  #logError(name: string, err: unknown): void {
    const now = Date.now();
    if (now - (this.#lastLogged.get(name) ?? 0) < LOG_EVERY_MS) return;
    this.#lastLogged.set(name, now);
    // The message only: connection errors never carry the broker's credentials (they are not in the URLs).
    this.logger?.warn({ broker: name, err: scrub(String((err as Error)?.message ?? err)) }, 'message broker connection error');
  }
}

function createClient(b: CompiledBroker, onError: (err: unknown) => void): BrokerClient {
  if (b.spec.type === 'nats') return new NatsBrokerClient(b, onError);
  if (b.spec.type === 'rabbitmq') return new AmqpBrokerClient(b, onError);
  return new MqttBrokerClient(b, onError);
}

const pools = new WeakMap<object, BrokerPool>();

/** The broker pool of one gateway (keyed by its HTTP pool registry, like the gRPC channels). */
export function brokerPool(owner: object): BrokerPool {
  let p = pools.get(owner);
  if (p === undefined) {
    p = new BrokerPool();
    pools.set(owner, p);
  }
  return p;
}

/** Closes a gateway's broker connections (at shutdown). */
export async function closeBrokers(owner: object): Promise<void> {
  await pools.get(owner)?.closeAll();
}
