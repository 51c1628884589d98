import { createHash } from 'node:crypto';
import { canonicalJson, type BrokerResource, type BrokerSpec, type BrokerType, type ConfigIssue, type MessagingAction, type Route } from '@tollgate/model';

/** A broker as routes reach it: its spec and a hash of it, so a node keeps a connection until the spec changes. */
export interface CompiledBroker {
  readonly name: string;
  readonly spec: BrokerSpec;
  /** SHA-256 of the canonical spec: a changed broker gets a new connection, an unchanged one keeps its own. */
  readonly hash: string;
}

/** One part of a subject / routing key / topic: literal text or a path capture. */
export type MessagingTemplatePart = { readonly text: string } | { readonly capture: string };

/** A route's `messaging` action, checked against its broker. */
export interface CompiledMessaging {
  readonly kind: 'messaging';
  readonly broker: CompiledBroker;
  readonly operation: MessagingAction['operation'];
  /** Subject (NATS), routing key (RabbitMQ publish / request), queue (RabbitMQ subscribe) or topic (MQTT). */
  readonly target: readonly MessagingTemplatePart[];
  /** The target has no capture: its text (no rendering per request). */
  readonly literal: string | null;
  readonly jetstream: boolean;
  /** RabbitMQ exchange ('' the default exchange). */
  readonly exchange: string;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly headers: readonly string[];
  readonly replyHeaders: readonly string[];
  /** Confirm (publish) or reply (request) deadline, in ms. */
  readonly timeoutMs: number;
  readonly maxMessageBytes: number;
  readonly contentType: string | null;
}

/** Compiles the brokers of a resource set by name. */
export function compileBrokers(resources: readonly { kind: string }[]): Map<string, CompiledBroker> {
  const out = new Map<string, CompiledBroker>();
  for (const r of resources) {
    if (r.kind !== 'Broker') continue;
    const b = r as BrokerResource;
    out.set(b.metadata.name, { name: b.metadata.name, spec: b.spec, hash: createHash('sha256').update(canonicalJson(b.spec)).digest('hex') });
  }
  return out;
}

/** Names a route's path can capture: template `{name}` segments and regex named groups. */
function captureNames(route: Route): Set<string>[] {
  return route.match.map((m) => {
    const names = new Set<string>();
    const p = m.path;
    if ('template' in p) for (const x of p.template.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) names.add(x[1] as string);
    if ('regex' in p) for (const x of p.regex.matchAll(/\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/g)) names.add(x[1] as string);
    return names;
  });
}

function parseTemplate(text: string, separator: string): MessagingTemplatePart[] {
  const parts: MessagingTemplatePart[] = [];
  const tokens = text.split(separator);
  tokens.forEach((t, i) => {
    const m = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(t);
    const sep = i < tokens.length - 1 ? separator : '';
    if (m) {
      parts.push({ capture: m[1] as string });
      if (sep !== '') parts.push({ text: sep });
    } else parts.push({ text: t + sep });
  });
  // Adjacent literal parts merged: rendering is a short loop.
  const merged: MessagingTemplatePart[] = [];
  for (const p of parts) {
    const last = merged[merged.length - 1];
    if (last !== undefined && 'text' in last && 'text' in p) merged[merged.length - 1] = { text: last.text + p.text };
    else merged.push(p);
  }
  return merged;
}

/** The field of the action that names the target for a broker type and operation. */
function targetField(type: BrokerType, m: MessagingAction): 'subject' | 'routingKey' | 'queue' | 'topic' {
  if (type === 'nats') return 'subject';
  if (type === 'mqtt') return 'topic';
  return m.operation === 'subscribe' ? 'queue' : 'routingKey';
}

const FIELDS_OF: Record<BrokerType, ReadonlySet<string>> = {
  nats: new Set(['subject', 'jetstream']),
  rabbitmq: new Set(['exchange', 'routingKey', 'queue']),
  mqtt: new Set(['topic', 'qos', 'retain']),
};
const TYPED_FIELDS = ['subject', 'jetstream', 'exchange', 'routingKey', 'queue', 'topic', 'retain'] as const;

/**
 * Compiles a route's `messaging` action: the broker must exist, the fields must be those of its
 * type, and each `{name}` of the target must be a capture of every match block of the route.
 * Returns null when issues were pushed.
 */
export function compileMessaging(route: Route, ri: number, brokers: ReadonlyMap<string, CompiledBroker>, resource: string, issues: ConfigIssue[]): CompiledMessaging | null {
  const m = route.messaging;
  if (m === undefined) return null;
  const at = `spec.routes[${ri}].messaging`;
  const before = issues.length;
  for (const k of ['rewrite', 'mirror', 'retries'] as const) {
    if (route[k] !== undefined) issues.push({ code: 'unsupported_with_protocol', message: `${k} does not apply to a messaging route`, resource, path: `spec.routes[${ri}].${k}` });
  }
  const broker = brokers.get(m.broker);
  if (broker === undefined) {
    issues.push({ code: 'unknown_broker', message: `Broker "${m.broker}" does not exist`, resource, path: `${at}.broker` });
    return null;
  }
  const type = broker.spec.type;
  for (const f of TYPED_FIELDS) {
    const set = (f === 'jetstream' || f === 'retain' ? m[f] === true : m[f] !== undefined);
    if (set && !FIELDS_OF[type].has(f)) issues.push({ code: 'invalid_messaging', message: `${f} does not apply to the ${type} broker "${broker.name}"`, resource, path: `${at}.${f}` });
  }
  if (type === 'mqtt' && m.operation === 'request') issues.push({ code: 'invalid_messaging', message: 'MQTT routes publish or subscribe; request-reply needs NATS or RabbitMQ', resource, path: `${at}.operation` });
  if (m.jetstream && m.operation === 'request') issues.push({ code: 'invalid_messaging', message: 'jetstream applies to publish and subscribe; a request goes through core NATS', resource, path: `${at}.jetstream` });
  const field = targetField(type, m);
  const text = m[field];
  if (text === undefined) {
    issues.push({ code: 'invalid_messaging', message: `a ${type} ${m.operation} route needs ${field}`, resource, path: `${at}.${field}` });
    return null;
  }
  const separator = type === 'mqtt' ? '/' : '.';
  const target = parseTemplate(text, separator);
  const blocks = captureNames(route);
  for (const p of target) {
    if (!('capture' in p)) continue;
    if (field === 'queue') issues.push({ code: 'invalid_messaging', message: 'a queue name is literal (no {capture})', resource, path: `${at}.queue` });
    else if (!blocks.every((names) => names.has(p.capture))) issues.push({ code: 'invalid_messaging', message: `{${p.capture}} is not a path capture of every match block of the route (use a path template such as /orders/{${p.capture}})`, resource, path: `${at}.${field}` });
  }
  if (issues.length > before) return null;
  const literal = target.every((p) => 'text' in p) ? target.map((p) => ('text' in p ? p.text : '')).join('') : null;
  return {
    kind: 'messaging',
    broker,
    operation: m.operation,
    target,
    literal,
    jetstream: m.jetstream,
    exchange: m.exchange ?? '',
    qos: m.qos as 0 | 1 | 2,
    retain: m.retain,
    headers: [...m.headers],
    replyHeaders: [...m.replyHeaders],
    // The action's own timeout, else the route's `timeoutMs`, else the broker's confirm timeout.
    timeoutMs: m.timeoutMs ?? route.timeoutMs ?? broker.spec.confirmTimeoutMs,
    maxMessageBytes: m.maxMessageBytes,
    contentType: m.contentType ?? null,
  };
}
