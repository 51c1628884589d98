import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import { compileConfig } from './compile.js';
import type { CompiledMessaging } from './compile-messaging.js';

const BROKERS = `apiVersion: tollgate.dev/v1
kind: Broker
metadata: { name: n }
spec: { type: nats, servers: ["nats://127.0.0.1"], confirmTimeoutMs: 1500 }
---
apiVersion: tollgate.dev/v1
kind: Broker
metadata: { name: r }
spec: { type: rabbitmq, servers: ["amqp://127.0.0.1"] }
---
apiVersion: tollgate.dev/v1
kind: Broker
metadata: { name: m }
spec: { type: mqtt, servers: ["mqtt://127.0.0.1"] }
`;

function resources(yaml: string): Resource[] {
  const r = parseResourcesYaml(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

const api = (route: string) => `---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: a }\nspec:\n  routes:\n    - name: r\n${route.replace(/^/gm, '      ')}\n`;

function compiled(route: string): CompiledMessaging {
  const r = compileConfig(resources(BROKERS + api(route)), 1);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config.routes.entries[0]?.value.actions.protocol as CompiledMessaging;
}

function issues(route: string, withBrokers = true): string[] {
  const r = compileConfig(resources((withBrokers ? BROKERS : '') + api(route)), 1);
  return r.ok ? [] : r.issues.map((i) => `${i.code} ${i.path}: ${i.message}`);
}

describe('compileMessaging', () => {
  it('compiles templates into literal and capture parts, and a literal target once', () => {
    const t = compiled('match: [{ path: { template: "/o/{id}" } }]\nmessaging: { broker: n, subject: "orders.{id}.created", jetstream: true }');
    expect(t.target).toEqual([{ text: 'orders.' }, { capture: 'id' }, { text: '.created' }]);
    expect(t.literal).toBeNull();
    expect(t.broker.name).toBe('n');
    expect(compiled('messaging: { broker: n, subject: audit.http }').literal).toBe('audit.http');
    const mq = compiled('match: [{ path: { template: "/s/{id}" } }]\nmessaging: { broker: m, topic: "plant/{id}/t", qos: 0 }');
    expect(mq.target).toEqual([{ text: 'plant/' }, { capture: 'id' }, { text: '/t' }]);
    expect(mq.qos).toBe(0);
  });

  it('the wait is the action timeout, else the route timeoutMs, else the broker confirmTimeoutMs', () => {
    expect(compiled('messaging: { broker: n, subject: a, timeoutMs: 300 }').timeoutMs).toBe(300);
    expect(compiled('timeoutMs: 700\nmessaging: { broker: n, subject: a }').timeoutMs).toBe(700);
    expect(compiled('messaging: { broker: n, subject: a }').timeoutMs).toBe(1500);
  });

  it('refuses an unknown broker with the path of the field', () => {
    expect(issues('messaging: { broker: nowhere, subject: a }')).toEqual(['unknown_broker spec.routes[0].messaging.broker: Broker "nowhere" does not exist']);
  });

  it('refuses fields of another broker type, request-reply on MQTT, jetstream requests', () => {
    expect(issues('messaging: { broker: r, subject: a }').join()).toMatch(/spec.routes\[0\].messaging.subject: subject does not apply to the rabbitmq broker/);
    expect(issues('messaging: { broker: m, operation: request, topic: a }').join()).toMatch(/messaging.operation: MQTT routes publish or subscribe/);
    expect(issues('messaging: { broker: n, operation: request, subject: a, jetstream: true }').join()).toMatch(/messaging.jetstream/);
    expect(issues('messaging: { broker: r, exchange: x, topic: t }').join()).toMatch(/messaging.routingKey: a rabbitmq publish route needs routingKey/);
  });

  it('refuses a {capture} that is not a capture of every match block, and rewrite/retries on a messaging route', () => {
    expect(issues('match: [{ path: { template: "/o/{id}" } }, { path: { exact: /x } }]\nmessaging: { broker: n, subject: "o.{id}" }').join()).toMatch(/\{id\} is not a path capture of every match block/);
    expect(issues('match: [{ path: { regex: "/o/(?P<id>[a-z]+)" } }]\nmessaging: { broker: n, subject: "o.{id}" }')).toEqual([]);
    expect(issues('rewrite: { prefix: /x }\nmessaging: { broker: n, subject: a }').join()).toMatch(/rewrite does not apply to a messaging route/);
  });
});
