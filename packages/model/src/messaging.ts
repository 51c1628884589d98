import { z } from 'zod';
import { durationMs, GATEWAY_OWNED_HEADERS, httpFieldName, resourceName } from './common.js';

/**
 * The `messaging` route action: the request becomes a message on a broker (publish), a request
 * answered by a reply (request-reply), or a GET streams a subject / queue / topic as Server-Sent
 * Events (subscribe). See docs/messaging.md.
 */

/** `{name}`: a route path capture inserted into a subject, routing key or topic (one whole token). */
const CAPTURE = /^\{[A-Za-z_][A-Za-z0-9_]{0,31}\}$/;

/**
 * NATS subject syntax (NATS docs "Subject-Based Messaging"): tokens separated by `.`, none empty,
 * no whitespace; `*` matches one token and `>` the rest (last token only), for subscribers only.
 */
export function natsSubjectIssue(subject: string, wildcards: boolean): string | null {
  if (/[\s\u0000]/.test(subject)) return 'must not contain whitespace';
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (t === '') return 'must not have empty tokens (leading, trailing or doubled ".")';
    if (CAPTURE.test(t)) continue;
    if (/[{}]/.test(t)) return `token "${t}": a {capture} must be a whole token`;
    if (t === '*' || t === '>') {
      if (!wildcards) return `token "${t}": a publish or request needs a literal subject (wildcards are for subscribe)`;
      if (t === '>' && i !== tokens.length - 1) return '">" may only be the last token';
      continue;
    }
    if (t.includes('*') || t.includes('>')) return `token "${t}": "*" and ">" must be whole tokens`;
  }
  return null;
}

/**
 * MQTT topic syntax (MQTT 5 §4.7): levels separated by `/`; `+` matches one level and `#` the
 * rest (last level only), for subscriptions only; no NUL; `$`-topics are the broker's.
 */
export function mqttTopicIssue(topic: string, wildcards: boolean): string | null {
  if (topic.includes('\u0000')) return 'must not contain NUL';
  if (topic.startsWith('$')) return 'topics starting with "$" are reserved for the broker (MQTT 5 §4.7.2)';
  const levels = topic.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] as string;
    if (CAPTURE.test(l)) continue;
    if (/[{}]/.test(l)) return `level "${l}": a {capture} must be a whole level`;
    if (l === '+' || l === '#') {
      if (!wildcards) return `level "${l}": a publish needs a literal topic (wildcards are for subscribe)`;
      if (l === '#' && i !== levels.length - 1) return '"#" may only be the last level';
      continue;
    }
    if (l.includes('+') || l.includes('#')) return `level "${l}": "+" and "#" must be whole levels`;
  }
  if (levels.every((l) => l === '')) return 'must not be empty';
  return null;
}

/** AMQP 0-9-1 routing keys: up to 255 bytes; `.`-separated words for topic exchanges. */
export function routingKeyIssue(key: string): string | null {
  if (Buffer.byteLength(key) > 255) return 'must be at most 255 bytes (AMQP 0-9-1 shortstr)';
  for (const w of key.split('.')) if (/[{}]/.test(w) && !CAPTURE.test(w)) return `word "${w}": a {capture} must be a whole word`;
  return null;
}

/** Message header names: what a consumer reads; the gateway sets `x-request-id` and the identity headers itself. */
const messageHeaderName = httpFieldName.refine((n) => !GATEWAY_OWNED_HEADERS.has(n) && !n.startsWith('nats-'), 'must not be a hop-by-hop, gateway-owned or Nats-* header');

export const MESSAGING_OPERATIONS = ['publish', 'request', 'subscribe'] as const;

export const messagingActionSchema = z
  .strictObject({
    broker: resourceName.describe('Name of the Broker resource.'),
    operation: z
      .enum(MESSAGING_OPERATIONS)
      .default('publish')
      .describe('`publish`: the request body becomes a message, 202 once the broker confirmed it. `request`: NATS request or RabbitMQ RPC, the reply is the response. `subscribe`: a GET with `Accept: text/event-stream` streams messages as Server-Sent Events.'),
    subject: z.string().min(1).max(1024).optional().describe('NATS subject; `{name}` tokens are route path captures. Wildcards `*` and `>` only with `subscribe`.'),
    jetstream: z.boolean().default(false).describe('NATS JetStream: a publish waits for the stream\'s ack (and `Idempotency-Key` becomes `Nats-Msg-Id`); a subscribe reads the stream from an ordered consumer, with the stream sequence as the event id so `Last-Event-ID` resumes.'),
    exchange: z.string().max(255).optional().describe('RabbitMQ exchange to publish to (`""`, the default exchange, routes by queue name).'),
    routingKey: z.string().max(255).optional().describe('RabbitMQ routing key; `{name}` words are route path captures.'),
    queue: z.string().min(1).max(255).optional().describe('RabbitMQ queue a `subscribe` route consumes from (each message goes to one subscriber).'),
    topic: z.string().min(1).max(65_535).optional().describe('MQTT topic; `{name}` levels are route path captures. Wildcards `+` and `#` only with `subscribe`.'),
    qos: z.number().int().min(0).max(2).default(1).describe('MQTT QoS: 0 (at most once, answered 202 once written), 1 (202 after PUBACK), 2 (202 after PUBCOMP).'),
    retain: z.boolean().default(false).describe('MQTT retain flag of published messages.'),
    headers: z.array(messageHeaderName).max(64).default([]).describe('Request headers copied into the message (NATS headers, AMQP properties headers, MQTT 5 user properties). The consumer identity (`x-consumer-name`, `x-consumer-id`) and `x-request-id` are always added.'),
    replyHeaders: z.array(messageHeaderName).max(64).default([]).describe('`request`: reply message headers copied to the HTTP response.'),
    timeoutMs: durationMs.optional().describe('`publish`: how long to wait for the broker to confirm (default the broker `confirmTimeoutMs`), past it 503. `request`: how long to wait for the reply, past it 504. Default the route `timeoutMs`, else the broker `confirmTimeoutMs`.'),
    maxMessageBytes: z.number().int().min(1).max(67_108_864).default(1_048_576).describe('Largest request body accepted as a message; a larger one is a 413.'),
    contentType: z.string().min(1).max(256).optional().describe('Content type given to the messages (AMQP `content-type`, MQTT 5 content type, NATS `Content-Type` header); default the request\'s.'),
  })
  .superRefine((m, ctx) => {
    const sub = m.operation === 'subscribe';
    const targets = (['subject', 'routingKey', 'queue', 'topic'] as const).filter((k) => m[k] !== undefined);
    if (targets.length === 0) ctx.addIssue({ code: 'custom', path: ['subject'], message: 'give subject (NATS), exchange and routingKey or queue (RabbitMQ), or topic (MQTT)' });
    if (m.subject !== undefined) {
      const issue = natsSubjectIssue(m.subject, sub);
      if (issue !== null) ctx.addIssue({ code: 'custom', path: ['subject'], message: `subject ${issue}` });
    }
    if (m.topic !== undefined) {
      const issue = mqttTopicIssue(m.topic, sub);
      if (issue !== null) ctx.addIssue({ code: 'custom', path: ['topic'], message: `topic ${issue}` });
    }
    if (m.routingKey !== undefined) {
      const issue = routingKeyIssue(m.routingKey);
      if (issue !== null) ctx.addIssue({ code: 'custom', path: ['routingKey'], message: `routingKey ${issue}` });
    }
    if (m.queue !== undefined && !sub) ctx.addIssue({ code: 'custom', path: ['queue'], message: 'queue is for subscribe routes; publish with exchange and routingKey (the default exchange "" routes by queue name)' });
    if (sub && m.routingKey !== undefined) ctx.addIssue({ code: 'custom', path: ['routingKey'], message: 'a RabbitMQ subscribe route reads a queue: give queue' });
    if (m.replyHeaders.length > 0 && m.operation !== 'request') ctx.addIssue({ code: 'custom', path: ['replyHeaders'], message: 'replyHeaders are for request routes' });
  })
  .describe('Send the request to a message broker (publish, request-reply) or stream messages to the client (subscribe). See docs/messaging.md.');

export type MessagingAction = z.infer<typeof messagingActionSchema>;
