import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as amqpConnect, type Channel, type ChannelModel } from 'amqplib';
import { connectAsync as mqttConnect, type MqttClient } from 'mqtt';
import { connect as natsConnect, headers as natsHeaders, RetentionPolicy, StorageType, type JetStreamManager, type NatsConnection } from 'nats';
import pg from 'pg';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { AMQP_URL, MQTT_URL, NATS_URL, readEvents, runId } from './brokers.js';

// Messaging routes in a running `tollgate start` (fresh Postgres database) against the machine's
// real NATS (with JetStream), RabbitMQ and Mosquitto: publish with confirmation, templated
// subjects, header and identity mapping, request-reply with timeouts, SSE subscribe with resume,
// key-auth and rate limits on messaging routes, per-broker metrics, bad config refused at apply.

const TOKEN = `tgadm_${randomBytes(24).toString('hex')}`;
const KEY = `tg_msg_key_${randomBytes(12).toString('hex')}`;
const P = runId('m');
const STREAM = `${P}_orders`.toUpperCase();

let dir: string;
let db: TestDatabase;
let tg: TollgateProcess;
let nc: NatsConnection;
let jsm: JetStreamManager;
let amqp: ChannelModel;
let ch: Channel;
let mq: MqttClient;

function config(): string {
  return `apiVersion: tollgate.dev/v1
kind: Broker
metadata: { name: nats-main }
spec: { type: nats, servers: ["${NATS_URL}"], confirmTimeoutMs: 2000 }
---
apiVersion: tollgate.dev/v1
kind: Broker
metadata: { name: rabbit }
spec: { type: rabbitmq, servers: ["amqp://127.0.0.1:5672"], username: guest, password: guest }
---
apiVersion: tollgate.dev/v1
kind: Broker
metadata: { name: mosquitto }
spec: { type: mqtt, servers: ["${MQTT_URL}"] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: ann }
spec: { customId: cust-42, keys: [{ name: k, hash: ${createHash('sha256').update(KEY).digest('hex')} }] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: events }
spec:
  basePath: /events
  stripBasePath: true
  policies: [{ name: key-auth }]
  routes:
    - name: order-created
      match: [{ path: { template: "/orders/{id}" }, methods: [POST] }]
      messaging: { broker: nats-main, subject: "${P}.orders.{id}.created", jetstream: true, headers: [x-tenant] }
    - name: core
      match: [{ path: { exact: /core }, methods: [POST] }]
      messaging: { broker: nats-main, subject: "${P}.core" }
    - name: small
      match: [{ path: { exact: /small }, methods: [POST] }]
      messaging: { broker: nats-main, subject: "${P}.small", maxMessageBytes: 16 }
    - name: price
      match: [{ path: { template: "/price/{item}" }, methods: [POST] }]
      timeoutMs: 500
      messaging: { broker: nats-main, operation: request, subject: "${P}.price.{item}", replyHeaders: [x-currency] }
    - name: live
      match: [{ path: { exact: /live }, methods: [GET] }]
      metering: { units: 1, metric: messages }
      messaging: { broker: nats-main, operation: subscribe, subject: "${P}.orders.*.created", jetstream: true }
    - name: quota-feed
      match: [{ path: { exact: /quota-feed }, methods: [GET] }]
      policies: [{ name: rate-limit, config: { name: feedquota, by: consumer, quota: { limit: 3 } } }]
      messaging: { broker: nats-main, operation: subscribe, subject: "${P}.quota" }
    - name: quota-ws
      match: [{ path: { exact: /quota-ws }, methods: [GET] }]
      policies: [{ name: rate-limit, config: { name: wsquota, by: consumer, quota: { limit: 2 } } }]
      messaging: { broker: nats-main, operation: subscribe, subject: "${P}.quotaws" }
    - name: rabbit-feed
      match: [{ path: { exact: /rabbit-feed }, methods: [GET] }]
      messaging: { broker: rabbit, operation: subscribe, queue: "${P}.feed" }
    - name: mqtt-feed
      match: [{ path: { exact: /mqtt-feed }, methods: [GET] }]
      messaging: { broker: mosquitto, operation: subscribe, topic: "${P}/feed/+" }
    - name: limited
      match: [{ path: { exact: /limited }, methods: [POST] }]
      policies: [{ name: rate-limit, config: { by: consumer, limits: [{ limit: 2, window: 1m }] } }]
      messaging: { broker: nats-main, subject: "${P}.limited" }
    - name: rabbit
      match: [{ path: { template: "/rabbit/{kind}" }, methods: [POST] }]
      messaging: { broker: rabbit, exchange: "${P}.x", routingKey: "orders.{kind}", headers: [x-tenant] }
    - name: rabbit-unroutable
      match: [{ path: { exact: /rabbit-nowhere }, methods: [POST] }]
      messaging: { broker: rabbit, exchange: "${P}.x", routingKey: "nobody.listens" }
    - name: rabbit-rpc
      match: [{ path: { exact: /rpc }, methods: [POST] }]
      timeoutMs: 500
      messaging: { broker: rabbit, operation: request, exchange: "", routingKey: "${P}.rpc", replyHeaders: [x-served-by] }
    - name: mqtt
      match: [{ path: { template: "/sensors/{id}" }, methods: [POST] }]
      messaging: { broker: mosquitto, topic: "${P}/sensors/{id}", qos: 1, headers: [x-tenant] }
`;
}

async function apply(yaml: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: yaml });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const post = (path: string, body: string, headers: Record<string, string> = {}) => fetch(`${tg.proxyUrl}/events${path}`, { method: 'POST', headers: { apikey: KEY, 'content-type': 'application/json', ...headers }, body });
const json = async (r: Response) => (await r.json()) as Record<string, unknown>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-messaging-'));
  nc = await natsConnect({ servers: NATS_URL });
  jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: STREAM, subjects: [`${P}.orders.>`], retention: RetentionPolicy.Limits, storage: StorageType.Memory, duplicate_window: 60_000_000_000 });
  amqp = await amqpConnect(AMQP_URL);
  ch = await amqp.createChannel();
  await ch.assertExchange(`${P}.x`, 'topic', { durable: false, autoDelete: true });
  await ch.assertQueue(`${P}.orders`, { durable: false, autoDelete: false });
  await ch.bindQueue(`${P}.orders`, `${P}.x`, 'orders.*');
  mq = await mqttConnect(MQTT_URL, { protocolVersion: 5 });
  db = await createTestDatabase();
  tg = await startTollgateProcess({ env: { TOLLGATE_DATA: join(dir, 'data'), DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, MAX_EVENT_LOOP_DELAY_MS: '0' } });
  const r = await apply(config());
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  // Every broker connected (the gateway answers 503 until then).
  await waitUntil(async () => {
    const m = await (await fetch(`${tg.statusUrl}/metrics`)).text();
    return ['nats-main', 'rabbit', 'mosquitto'].every((b) => new RegExp(`tollgate_broker_connected\\{broker="${b}"[^}]*\\} 1`).test(m));
  }, 15_000);
}, 60_000);

afterAll(async () => {
  await tg?.stop();
  await db?.drop();
  await jsm?.streams.delete(STREAM).catch(() => undefined);
  await ch?.deleteQueue(`${P}.orders`).catch(() => undefined);
  await ch?.deleteQueue(`${P}.rpc`).catch(() => undefined);
  await amqp?.close().catch(() => undefined);
  await nc?.close();
  await mq?.endAsync();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('NATS', () => {
  it('publishes to JetStream with the path capture in the subject, answers 202 with the stream sequence once acked; headers and identity travel with the message', async () => {
    const r = await post('/orders/o-17', '{"total":12}', { 'x-tenant': 'acme', 'x-not-chosen': 'no' });
    expect(r.status).toBe(202);
    const body = await json(r);
    expect(body).toMatchObject({ stream: STREAM, duplicate: false, target: `${P}.orders.o-17.created` });
    expect(String(body.id)).toMatch(/^msg_/);
    const stored = await jsm.streams.getMessage(STREAM, { seq: body.seq as number });
    expect(stored.subject).toBe(`${P}.orders.o-17.created`);
    expect(new TextDecoder().decode(stored.data)).toBe('{"total":12}');
    expect(stored.header.get('x-tenant')).toBe('acme');
    expect(stored.header.get('x-not-chosen')).toBe('');
    expect(stored.header.get('x-consumer-name')).toBe('ann');
    expect(stored.header.get('x-consumer-id')).toBe('cust-42');
    expect(stored.header.get('x-request-id')).not.toBe('');
    expect(stored.header.get('content-type')).toBe('application/json');
    // The API key itself never reaches the broker.
    expect(stored.header.get('apikey')).toBe('');
  });

  it('Idempotency-Key becomes Nats-Msg-Id: a retried publish is acknowledged as a duplicate and stored once', async () => {
    const key = `idem-${randomBytes(6).toString('hex')}`;
    const a = await json(await post('/orders/o-18', '{"n":1}', { 'idempotency-key': key }));
    const b = await json(await post('/orders/o-18', '{"n":1}', { 'idempotency-key': key }));
    expect(a).toMatchObject({ duplicate: false, id: key });
    expect(b).toMatchObject({ duplicate: true, seq: a.seq });
  });

  it('a capture holding a subject separator or wildcard is refused (it would address other subjects)', async () => {
    for (const id of ['a.b', '*', 'x.>']) {
      const r = await post(`/orders/${id}`, '{}');
      expect(r.status, id).toBe(400);
      expect((await json(r)).code).toBe('MESSAGING_BAD_TARGET');
    }
  });

  it('core NATS publish reaches a subscriber; over maxMessageBytes is a 413', async () => {
    const sub = nc.subscribe(`${P}.core`, { max: 1 });
    const got = (async () => {
      for await (const m of sub) return new TextDecoder().decode(m.data);
      return null;
    })();
    await nc.flush();
    const r = await post('/core', 'hello');
    expect(r.status).toBe(202);
    expect(await got).toBe('hello');
    const big = await post('/small', 'x'.repeat(17));
    expect(big.status).toBe(413);
    expect((await json(big)).code).toBe('MESSAGING_MESSAGE_TOO_LARGE');
  });

  it('request-reply answers with the reply and mapped headers; no reply in time is 504, nobody listening 503', async () => {
    const none = await post('/price/apple', '{}');
    expect(none.status).toBe(503);
    expect((await json(none)).code).toBe('MESSAGING_NO_RESPONDERS');
    const sub = nc.subscribe(`${P}.price.*`, {
      callback: (_e, m) => {
        if (m.subject.endsWith('.slow')) return; // never answers
        const h = natsHeaders();
        h.set('x-currency', 'EUR');
        h.set('x-secret', 'not mapped');
        h.set('content-type', 'application/json');
        m.respond(new TextEncoder().encode(JSON.stringify({ item: m.subject.split('.').pop(), tenant: m.headers?.get('x-consumer-name') })), { headers: h });
      },
    });
    await nc.flush();
    const r = await post('/price/apple', '{}');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-currency')).toBe('EUR');
    expect(r.headers.get('x-secret')).toBeNull();
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(await r.json()).toEqual({ item: 'apple', tenant: 'ann' });
    const t0 = Date.now();
    const slow = await post('/price/slow', '{}');
    expect(slow.status).toBe(504);
    expect((await json(slow)).code).toBe('MESSAGING_REPLY_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(1_500);
    sub.unsubscribe();
  });

  it('SSE subscribe streams JetStream messages with the stream sequence as event id, and Last-Event-ID resumes after it', async () => {
    const res = await fetch(`${tg.proxyUrl}/events/live`, { headers: { apikey: KEY, accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reading = readEvents(res, (e) => e.length >= 3);
    // Publish once the subscription exists (new messages only without Last-Event-ID).
    await new Promise((r) => setTimeout(r, 300));
    const seqs: number[] = [];
    for (const n of [1, 2, 3]) seqs.push((await json(await post(`/orders/s${n}`, `{"n":${n}}`))).seq as number);
    const events = await reading;
    expect(events.map((e) => e.data)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    expect(events.map((e) => Number(e.id))).toEqual(seqs);
    // Reconnect after the first: the second and third again, nothing else.
    const again = await fetch(`${tg.proxyUrl}/events/live`, { headers: { apikey: KEY, accept: 'text/event-stream', 'last-event-id': String(seqs[0]) } });
    const resumed = await readEvents(again, (e) => e.length >= 2);
    expect(resumed.map((e) => Number(e.id))).toEqual(seqs.slice(1));
    const bad = await fetch(`${tg.proxyUrl}/events/live`, { headers: { apikey: KEY, accept: 'text/event-stream', 'last-event-id': 'abc' } });
    expect(bad.status).toBe(400);
    const notSse = await fetch(`${tg.proxyUrl}/events/live`, { headers: { apikey: KEY } });
    expect(notSse.status).toBe(406);
  });

  it('a quota used up mid-stream ends the stream with a final event: each delivered message is admitted like a request', async () => {
    const res = await fetch(`${tg.proxyUrl}/events/quota-feed`, { headers: { apikey: KEY, accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    // Opening the stream used 1 of the 3; two messages fit, the third ends it.
    const reading = readEvents(res, (e) => e.some((x) => x.event === 'end'));
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 1; i <= 5; i++) nc.publish(`${P}.quota`, new TextEncoder().encode(`q${i}`));
    await nc.flush();
    const events = await reading;
    expect(events.filter((e) => e.event === 'message').map((e) => e.data)).toEqual(['q1', 'q2']);
    const last = events.at(-1);
    expect(last?.event).toBe('end');
    expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ status: 429, code: 'QUOTA_EXCEEDED' });
    // And the next stream is refused at the door.
    expect((await fetch(`${tg.proxyUrl}/events/quota-feed`, { headers: { apikey: KEY, accept: 'text/event-stream' } })).status).toBe(429);
  });

  it('key-auth and rate limits apply to messaging routes like to any route', async () => {
    const anon = await fetch(`${tg.proxyUrl}/events/core`, { method: 'POST', body: 'x' });
    expect(anon.status).toBe(401);
    const wrong = await fetch(`${tg.proxyUrl}/events/core`, { method: 'POST', headers: { apikey: 'tg_wrong_key_000000000000000000' }, body: 'x' });
    expect(wrong.status).toBe(401);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await post('/limited', 'x')).status);
    expect(statuses).toEqual([202, 202, 429]);
  });
});

describe('RabbitMQ', () => {
  it('publishes to an exchange with the templated routing key; 202 only after the publisher confirm; headers and identity become AMQP headers', async () => {
    const r = await post('/rabbit/created', '{"a":1}', { 'x-tenant': 'acme' });
    expect(r.status).toBe(202);
    const id = (await json(r)).id as string;
    const msg = await waitFor(async () => {
      const m = await ch.get(`${P}.orders`, { noAck: true });
      return m === false ? null : m;
    });
    expect(msg.content.toString()).toBe('{"a":1}');
    expect(msg.fields.routingKey).toBe('orders.created');
    expect(msg.properties.messageId).toBe(id);
    expect(msg.properties.deliveryMode).toBe(2);
    expect(msg.properties.contentType).toBe('application/json');
    expect(msg.properties.headers).toMatchObject({ 'x-tenant': 'acme', 'x-consumer-name': 'ann', 'x-consumer-id': 'cust-42' });
  });

  it('an unroutable message is not confirmed as delivered (503), nor is a publish to a missing exchange', async () => {
    const r = await post('/rabbit-nowhere', 'x');
    expect(r.status).toBe(503);
    expect((await json(r)).code).toBe('MESSAGING_NOT_CONFIRMED');
  });

  it('RPC over direct reply-to answers with the reply and mapped headers; no reply in time is 504', async () => {
    await ch.assertQueue(`${P}.rpc`, { durable: false });
    const r0 = await post('/rpc', 'ping');
    expect(r0.status).toBe(504);
    expect((await json(r0)).code).toBe('MESSAGING_REPLY_TIMEOUT');
    await ch.purgeQueue(`${P}.rpc`);
    const { consumerTag } = await ch.consume(`${P}.rpc`, (m) => {
      if (m === null) return;
      ch.sendToQueue(m.properties.replyTo as string, Buffer.from(`pong:${m.content.toString()}`), { correlationId: m.properties.correlationId as string, contentType: 'text/plain', headers: { 'x-served-by': 'worker-1' } });
      ch.ack(m);
    });
    const r = await post('/rpc', 'ping');
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('pong:ping');
    expect(r.headers.get('x-served-by')).toBe('worker-1');
    await ch.cancel(consumerTag);
  });
});

describe('WebSocket subscriptions', () => {
  /** Opens a WebSocket to a route of the events API and collects its text frames and close code. */
  function socket(path: string, headers: Record<string, string> = { apikey: KEY }) {
    const ws = new WebSocket(`${tg.proxyUrl.replace('http', 'ws')}/events${path}`, { headers });
    const s = { ws, frames: [] as Array<Record<string, unknown>>, close: null as number | null, opened: null as unknown as Promise<void> };
    s.opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
      ws.once('error', reject);
    });
    ws.on('message', (m) => s.frames.push(JSON.parse(m.toString()) as Record<string, unknown>));
    ws.on('close', (code) => (s.close = code));
    return s;
  }

  it('streams JetStream messages as frames with the stream sequence, resumes after lastEventId, and ends on a used-up quota', async () => {
    const js = nc.jetstream();
    const a = socket('/live');
    await a.opened;
    await new Promise((r) => setTimeout(r, 300));
    const seqs: number[] = [];
    for (const n of [1, 2]) seqs.push((await js.publish(`${P}.orders.w${n}.created`, new TextEncoder().encode(`w${n}`))).seq);
    await waitUntil(async () => a.frames.length >= 2, 10_000);
    expect(a.frames.map((f) => f.data)).toEqual(['w1', 'w2']);
    expect(a.frames.map((f) => Number(f.id))).toEqual(seqs);
    a.ws.close();
    const b = socket(`/live?lastEventId=${seqs[0]}`);
    await b.opened;
    await waitUntil(async () => b.frames.length >= 1, 10_000);
    expect(b.frames.map((f) => f.data)).toEqual(['w2']);
    b.ws.close();
    // Without a key the handshake is refused like any request.
    await expect(socket('/live', {}).opened).rejects.toThrow(/401/);
    // A used-up quota ends the socket with a final frame and close code 1008 (policy violation).
    const q = socket('/quota-ws');
    await q.opened;
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 1; i <= 3; i++) nc.publish(`${P}.quotaws`, new TextEncoder().encode(`x${i}`));
    await waitUntil(async () => q.close !== null, 10_000);
    expect(q.frames[0]).toMatchObject({ data: 'x1' });
    expect(q.frames.at(-1)).toMatchObject({ event: 'end', code: 'QUOTA_EXCEEDED', status: 429 });
    expect(q.close).toBe(1008);
  });
});

describe('subscribe on RabbitMQ and MQTT', () => {
  it('a RabbitMQ queue and an MQTT topic filter stream as Server-Sent Events', async () => {
    await ch.assertQueue(`${P}.feed`, { durable: false });
    const rabbit = await fetch(`${tg.proxyUrl}/events/rabbit-feed`, { headers: { apikey: KEY, accept: 'text/event-stream' } });
    expect(rabbit.status).toBe(200);
    const r = readEvents(rabbit, (e) => e.length >= 2);
    ch.sendToQueue(`${P}.feed`, Buffer.from('r1'));
    ch.sendToQueue(`${P}.feed`, Buffer.from('r2'));
    expect((await r).map((e) => e.data)).toEqual(['r1', 'r2']);
    const mqtt = await fetch(`${tg.proxyUrl}/events/mqtt-feed`, { headers: { apikey: KEY, accept: 'text/event-stream' } });
    expect(mqtt.status).toBe(200);
    const m = readEvents(mqtt, (e) => e.length >= 2);
    await new Promise((res) => setTimeout(res, 200));
    await mq.publishAsync(`${P}/feed/a`, 'm1', { qos: 1 });
    await mq.publishAsync(`${P}/other/a`, 'not this', { qos: 1 });
    await mq.publishAsync(`${P}/feed/b`, 'm2', { qos: 1 });
    expect((await m).map((e) => e.data)).toEqual(['m1', 'm2']);
    await ch.deleteQueue(`${P}.feed`);
  });
});

describe('MQTT', () => {
  it('publishes with QoS 1 (202 after PUBACK) to the templated topic; headers and identity become MQTT 5 user properties', async () => {
    await mq.subscribeAsync(`${P}/sensors/+`, { qos: 1 });
    const got = new Promise<{ topic: string; payload: string; props: Record<string, unknown> }>((resolve) => mq.once('message', (topic, payload, packet) => resolve({ topic, payload: payload.toString(), props: (packet.properties?.userProperties ?? {}) as Record<string, unknown> })));
    const r = await post('/sensors/t1', '{"c":21}', { 'x-tenant': 'acme' });
    expect(r.status).toBe(202);
    const m = await got;
    expect(m.topic).toBe(`${P}/sensors/t1`);
    expect(m.payload).toBe('{"c":21}');
    expect(m.props).toMatchObject({ 'x-tenant': 'acme', 'x-consumer-name': 'ann' });
    expect((await post('/sensors/a%2Fb', '{}')).status).toBe(400);
  });
});

describe('metering', () => {
  it('published messages count per request, delivered messages per message (count and bytes), for the consumer', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const sum = async (route: string) => {
        const { rows } = await client.query<{ requests: string; units: string; bytes_out: string; metric: string | null }>(
          "SELECT coalesce(sum(requests), 0) AS requests, coalesce(sum(units), 0) AS units, coalesce(sum(bytes_out), 0) AS bytes_out, max(metric) AS metric FROM usage_rollups WHERE consumer = 'ann' AND api = 'events' AND route = $1 AND status_class = '2xx'",
          [route],
        );
        const r = rows[0] as { requests: string; units: string; bytes_out: string; metric: string | null };
        return { requests: Number(r.requests), units: Number(r.units), bytesOut: Number(r.bytes_out), metric: r.metric };
      };
      // The SSE test received 3 messages on one stream and 2 on the resumed one: each stream counts
      // its opening and each delivered message.
      await waitUntil(async () => (await sum('live')).units === 7, 15_000);
      const live = await sum('live');
      expect(live).toMatchObject({ requests: 2, units: 7, metric: 'messages' });
      expect(live.bytesOut).toBeGreaterThan(5 * '{"n":1}'.length);
      // Publishes of the JetStream route: 1 + 2 (idempotent retry) + 3 (for the SSE test), 202 each.
      await waitUntil(async () => (await sum('order-created')).requests >= 6, 15_000);
      expect(await sum('order-created')).toMatchObject({ requests: 6, units: 6, metric: 'requests' });
    } finally {
      await client.end();
    }
  });
});

describe('operations', () => {
  it('/metrics counts publishes, confirms and failures per broker', async () => {
    const m = await (await fetch(`${tg.statusUrl}/metrics`)).text();
    expect(m).toMatch(/tollgate_broker_publishes_total\{broker="nats-main",type="nats"\} [1-9]/);
    expect(m).toMatch(/tollgate_broker_confirms_total\{broker="rabbit",type="rabbitmq"\} [1-9]/);
    expect(m).toMatch(/tollgate_broker_failures_total\{broker="rabbit",type="rabbitmq"\} [1-9]/);
  });

  it('broker credentials are redacted on reads', async () => {
    const r = await fetch(`${tg.adminUrl}/brokers/rabbit`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
    const doc = (await r.json()) as { spec: Record<string, unknown> };
    expect(doc.spec.password).toBe('<redacted>');
  });

  it('bad config is refused at apply with its path, and nothing changes', async () => {
    const api = (messaging: string, path = '/x') => `apiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: bad }\nspec:\n  routes:\n    - name: r\n      match: [{ path: { template: "${path}" } }]\n      messaging: ${messaging}\n`;
    const cases: Array<[string, string, string]> = [
      [api('{ broker: nowhere, subject: a.b }'), 'spec.routes[0].messaging.broker', 'does not exist'],
      [api('{ broker: nats-main, subject: "a.*.b" }'), 'spec.routes[0].messaging.subject', 'wildcards'],
      [api('{ broker: nats-main, subject: "a..b" }'), 'spec.routes[0].messaging.subject', 'empty tokens'],
      [api('{ broker: mosquitto, topic: "a/#" }'), 'spec.routes[0].messaging.topic', 'wildcards'],
      [api('{ broker: mosquitto, topic: "a/b", qos: 3 }'), 'spec.routes[0].messaging.qos', ''],
      [api('{ broker: nats-main, subject: "a.{missing}" }'), 'spec.routes[0].messaging.subject', 'capture'],
      [api('{ broker: rabbit, subject: "a.b" }'), 'spec.routes[0].messaging.subject', 'does not apply'],
    ];
    for (const [yaml, path, text] of cases) {
      const r = await apply(yaml);
      expect(r.status, yaml).toBe(422);
      const s = JSON.stringify(r.body);
      expect(s, s).toContain(path);
      expect(s).toContain(text);
    }
    const g = await fetch(`${tg.adminUrl}/apis/bad`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(g.status).toBe(404);
  });
  it('a broker no route uses any more has its connection closed (and leaves /metrics)', async () => {
    // A Broker still referenced cannot be deleted: the set would not compile.
    const refused = await fetch(`${tg.adminUrl}/brokers/rabbit`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain('messaging.broker');
    const del = await fetch(`${tg.adminUrl}/apis/events`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(del.status).toBe(204);
    await waitUntil(async () => !/tollgate_broker_connected\{/.test(await (await fetch(`${tg.statusUrl}/metrics`)).text()), 15_000);
    // The Broker resources themselves stay (nothing references them now, so they may be deleted).
    const gone = await fetch(`${tg.adminUrl}/brokers/mosquitto`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(gone.status).toBe(204);
  });
});

async function waitFor<T>(fn: () => Promise<T | null>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
