import { describe, expect, it } from 'vitest';
import { mqttTopicIssue, natsSubjectIssue, routingKeyIssue } from './messaging.js';
import { parseResourcesYaml } from './parse.js';
import { redactSecrets, REDACTED_SECRET, restoreSecrets } from './secrets.js';

const broker = (spec: string) => `apiVersion: tollgate.dev/v1\nkind: Broker\nmetadata: { name: b }\nspec: ${spec}\n`;
const api = (messaging: string) => `apiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: a }\nspec:\n  routes:\n    - name: r\n      messaging: ${messaging}\n`;
const issuesOf = (yaml: string) => {
  const r = parseResourcesYaml(yaml);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('subject and topic syntax', () => {
  it('NATS: literal tokens for publish, wildcards only for subscribe, no empty tokens', () => {
    expect(natsSubjectIssue('orders.{id}.created', false)).toBeNull();
    expect(natsSubjectIssue('orders.*', false)).toMatch(/wildcards are for subscribe/);
    expect(natsSubjectIssue('orders.*.created', true)).toBeNull();
    expect(natsSubjectIssue('orders.>', true)).toBeNull();
    expect(natsSubjectIssue('orders.>.x', true)).toMatch(/last token/);
    expect(natsSubjectIssue('a..b', false)).toMatch(/empty tokens/);
    expect(natsSubjectIssue('a.b.', false)).toMatch(/empty tokens/);
    expect(natsSubjectIssue('a b', false)).toMatch(/whitespace/);
    expect(natsSubjectIssue('a.x{id}', false)).toMatch(/whole token/);
    expect(natsSubjectIssue('a.b*', true)).toMatch(/whole tokens/);
  });

  it('MQTT: + and # only for subscribe, # last, no $ topics', () => {
    expect(mqttTopicIssue('plant/{id}/t', false)).toBeNull();
    expect(mqttTopicIssue('plant/+/t', false)).toMatch(/wildcards/);
    expect(mqttTopicIssue('plant/+/t', true)).toBeNull();
    expect(mqttTopicIssue('plant/#/t', true)).toMatch(/last level/);
    expect(mqttTopicIssue('$SYS/x', true)).toMatch(/reserved/);
  });

  it('AMQP routing keys: at most 255 bytes, captures whole words', () => {
    expect(routingKeyIssue('orders.{kind}')).toBeNull();
    expect(routingKeyIssue('x'.repeat(256))).toMatch(/255 bytes/);
    expect(routingKeyIssue('orders.a{kind}')).toMatch(/whole word/);
  });
});

describe('Broker and messaging documents', () => {
  it('refuses a URL scheme of another broker type, credentials in the URL, a token on RabbitMQ', () => {
    expect(issuesOf(broker('{ type: nats, servers: ["amqp://h"] }')).join()).toMatch(/spec.servers\[0\]: a nats broker takes nats:\/\/ or tls:\/\//);
    expect(issuesOf(broker('{ type: rabbitmq, servers: ["amqp://u:p@h"] }')).join()).toMatch(/without credentials/);
    expect(issuesOf(broker('{ type: rabbitmq, servers: ["amqp://h"], token: t }')).join()).toMatch(/spec.token/);
    expect(issuesOf(broker('{ type: mqtt, servers: ["mqtts://h:8883"] }'))).toEqual([]);
  });

  it('refuses QoS out of range, a publish with wildcards, a route without a target, replyHeaders outside request', () => {
    expect(issuesOf(api('{ broker: b, topic: a/b, qos: 3 }')).join()).toMatch(/spec.routes\[0\].messaging.qos/);
    expect(issuesOf(api('{ broker: b, subject: "a.>" }')).join()).toMatch(/spec.routes\[0\].messaging.subject: subject token ">": a publish or request needs a literal subject/);
    expect(issuesOf(api('{ broker: b }')).join()).toMatch(/give subject/);
    expect(issuesOf(api('{ broker: b, subject: a, replyHeaders: [x-y] }')).join()).toMatch(/replyHeaders are for request routes/);
    expect(issuesOf(api('{ broker: b, subject: a, headers: [content-length] }')).join()).toMatch(/headers/);
  });

  it('password, token and TLS key are secrets: redacted on reads, kept when applied back', () => {
    const doc = { apiVersion: 'tollgate.dev/v1', kind: 'Broker', metadata: { name: 'b' }, spec: { type: 'rabbitmq', servers: ['amqp://h'], username: 'u', password: 'hunter2' } };
    const red = redactSecrets(doc);
    expect(red.spec.password).toBe(REDACTED_SECRET);
    expect(red.spec.username).toBe('u');
    expect((restoreSecrets(red, doc) as typeof doc).spec.password).toBe('hunter2');
  });
});
