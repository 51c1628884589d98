import { randomUUID } from 'node:crypto';
import type { BrokerType } from '@tollgate/model';

/** Why a broker operation failed, as a stable error code of errors.ts. */
export class BrokerError extends Error {
  constructor(
    readonly code: 'MESSAGING_BROKER_DOWN' | 'MESSAGING_NOT_CONFIRMED' | 'MESSAGING_REPLY_TIMEOUT' | 'MESSAGING_NO_RESPONDERS',
    message: string,
  ) {
    super(scrub(message));
  }
}

/** Removes `user:password@` from URLs a client library may have put in an error message (never logged or answered). */
export function scrub(message: string): string {
  return message.replace(/\/\/[^@/\s]*@/g, '//<redacted>@');
}

/** One message to publish (or send as a request). */
export interface OutgoingMessage {
  /** Subject, routing key or topic, rendered. */
  readonly target: string;
  /** RabbitMQ exchange. */
  readonly exchange: string;
  readonly body: Buffer;
  /** Message headers (NATS headers, AMQP headers table, MQTT 5 user properties). */
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType: string | null;
  /** The gateway's id of the message (AMQP message-id, JetStream Nats-Msg-Id unless an Idempotency-Key replaces it). */
  readonly id: string;
  /** Client `Idempotency-Key`: the broker's de-duplication id where it has one (JetStream). */
  readonly dedupeId: string | null;
  readonly jetstream: boolean;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  /** Confirm or reply deadline in ms. */
  readonly timeoutMs: number;
}

/** What the broker said about a confirmed publish. */
export interface Confirmation {
  readonly id: string;
  /** JetStream: the stream and sequence the message got, and whether it was a duplicate. */
  readonly stream?: string;
  readonly seq?: number;
  readonly duplicate?: boolean;
}

/** A reply of request-reply. */
export interface Reply {
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType: string | null;
}

/** One message delivered to a subscriber. */
export interface Delivery {
  /** Event id: the JetStream stream sequence (resumable), else null. */
  readonly id: string | null;
  readonly target: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

export interface SubscribeOptions {
  readonly target: string;
  readonly jetstream: boolean;
  /** JetStream: deliver from after this stream sequence (Last-Event-ID); null: new messages only. */
  readonly after: number | null;
  readonly qos: 0 | 1 | 2;
}

/** A live subscription; `close` stops delivery (idempotent). */
export interface Subscription {
  close(): void;
}

/** Counters `/metrics` reads per broker. */
export interface BrokerStats {
  publishes: number;
  confirms: number;
  failures: number;
  requests: number;
  deliveries: number;
  reconnects: number;
}

/**
 * One pooled, reconnecting connection to a broker, shared by every route of the node that uses
 * it. Operations fail fast with MESSAGING_BROKER_DOWN while it is not connected, rather than
 * queueing in the client library's offline buffer, so a client never waits on a down broker and
 * a 202 always means the broker has the message.
 */
export interface BrokerClient {
  readonly name: string;
  readonly type: BrokerType;
  readonly stats: BrokerStats;
  connected(): boolean;
  publish(m: OutgoingMessage): Promise<Confirmation>;
  request(m: OutgoingMessage): Promise<Reply>;
  /** Starts a subscription; `onEnd` is called once if the broker side ends it (connection lost). */
  subscribe(o: SubscribeOptions, onMessage: (d: Delivery) => void, onEnd: (err: Error) => void): Promise<Subscription>;
  close(): Promise<void>;
}

export function newStats(): BrokerStats {
  return { publishes: 0, confirms: 0, failures: 0, requests: 0, deliveries: 0, reconnects: 0 };
}

/** Rejects with `err` after `ms` unless `p` settles first. */
export function withTimeout<T>(p: Promise<T>, ms: number, err: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(err()), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** A fresh message id (AMQP message-id, JetStream Nats-Msg-Id, MQTT user property): prefixed so a log line tells what it is. */
export function messageId(): string {
  return `msg_${randomUUID().replaceAll('-', '')}`;
}
