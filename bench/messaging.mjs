// `npm run bench:messaging`: publishes per second through the gateway against a direct client
// publishing the same messages with the same confirmation, per broker (#22), in one run.
//
// A `tollgate start` (embedded store) on free ports gets one messaging route per case; each case
// runs ROUNDS rounds of MS milliseconds, gateway and direct alternating, with CONCURRENCY
// requests (or publishes) in flight. The gateway answers 202 only after the broker confirmed, so
// the direct client waits for the same thing:
//   nats core       nc.publish + flush            vs POST -> route { subject }
//   nats jetstream  js.publish (ack)              vs POST -> route { subject, jetstream: true }
//   rabbitmq        confirm channel publish (ack) vs POST -> route { exchange, routingKey }
//   mqtt qos 1      publishAsync (PUBACK)         vs POST -> route { topic, qos: 1 }
// The ratio is gateway / direct (1.0: the gateway costs nothing). Brokers: the machine's
// (NATS_URL, AMQP_URL, MQTT_URL). Run on an otherwise quiet machine; numbers taken on a loaded
// one say so.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect as amqpConnect } from 'amqplib';
import { connectAsync as mqttConnect } from 'mqtt';
import { connect as natsConnect, StorageType } from 'nats';
import { Pool } from 'undici';

const root = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const MS = Number(process.env.MS ?? 1000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const P = `bench${Date.now().toString(36)}`;
const BODY = Buffer.from(JSON.stringify({ order: 'o-1', total: 1234, items: [{ sku: 'a', n: 2 }] }));
const TOKEN = `tgadm_${'b'.repeat(48)}`;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Runs `one()` with CONCURRENCY in flight for MS ms; returns completions per second. */
async function rate(one) {
  let n = 0;
  let failed = 0;
  const deadline = Date.now() + MS;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        if (await one()) n++;
        else failed++;
      }
    }),
  );
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (failed > 0) console.error(`  (${failed} failed)`);
  return n / s;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-messaging-'));
const [proxyPort, adminPort, statusPort, tlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
const child = spawn(process.execPath, [join(root, 'apps/cli/dist/main.js'), 'start', 'all'], {
  env: { PATH: process.env.PATH, PROXY_PORT: String(proxyPort), ADMIN_PORT: String(adminPort), STATUS_PORT: String(statusPort), PROXY_TLS_PORT: String(tlsPort), PROXY_HOST: '127.0.0.1', STATUS_HOST: '127.0.0.1', ADMIN_TOKEN: TOKEN, TOLLGATE_DATA: join(dir, 'data'), LOG_LEVEL: 'warn', ACCESS_LOG: 'false', MAX_EVENT_LOOP_DELAY_MS: '0' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const stop = async () => {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
};

async function until(fn, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {}
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

const nc = await natsConnect({ servers: NATS_URL });
const jsm = await nc.jetstreamManager();
const js = nc.jetstream();
const STREAM = `${P}_S`.toUpperCase();
await jsm.streams.add({ name: STREAM, subjects: [`${P}.js.>`], storage: StorageType.Memory, max_msgs: 100_000 });
const amqp = await amqpConnect(AMQP_URL);
const setup = await amqp.createChannel();
const QUEUE = `${P}.q`;
await setup.assertQueue(QUEUE, { durable: false, autoDelete: false, arguments: { 'x-max-length': 100_000 } });
const confirm = await amqp.createConfirmChannel();
const mq = await mqttConnect(MQTT_URL, { protocolVersion: 5 });

try {
  await until(async () => (await fetch(`http://127.0.0.1:${adminPort}/healthz`)).ok);
  const amqpHost = new URL(AMQP_URL);
  const yaml = `apiVersion: tollgate.dev/v1
kind: Broker
metadata: { name: bench-nats }
spec: { type: nats, servers: ["${NATS_URL}"] }
---
apiVersion: tollgate.dev/v1
kind: Broker
metadata: { name: bench-rabbit }
spec: { type: rabbitmq, servers: ["amqp://${amqpHost.host}${amqpHost.pathname}"], username: "${decodeURIComponent(amqpHost.username) || 'guest'}", password: "${decodeURIComponent(amqpHost.password) || 'guest'}" }
---
apiVersion: tollgate.dev/v1
kind: Broker
metadata: { name: bench-mqtt }
spec: { type: mqtt, servers: ["${MQTT_URL}"] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: bench-messaging }
spec:
  basePath: /b
  routes:
    - { name: core, match: [{ path: { exact: /core } }], messaging: { broker: bench-nats, subject: "${P}.core" } }
    - { name: js, match: [{ path: { exact: /js } }], messaging: { broker: bench-nats, subject: "${P}.js.x", jetstream: true } }
    - { name: rabbit, match: [{ path: { exact: /rabbit } }], messaging: { broker: bench-rabbit, exchange: "", routingKey: "${QUEUE}" } }
    - { name: mqtt, match: [{ path: { exact: /mqtt } }], messaging: { broker: bench-mqtt, topic: "${P}/t", qos: 1 } }
`;
  const applied = await fetch(`http://127.0.0.1:${adminPort}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: yaml });
  if (!applied.ok) throw new Error(`apply: ${applied.status} ${await applied.text()}`);
  const pool = new Pool(`http://127.0.0.1:${proxyPort}`, { connections: CONCURRENCY, pipelining: 1 });
  const post = (path) => async () => {
    const r = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: BODY });
    await r.body.dump();
    return r.statusCode === 202;
  };
  for (const p of ['/b/core', '/b/js', '/b/rabbit', '/b/mqtt']) await until(async () => (await post(p)()) === true, 30_000);

  const cases = [
    { name: 'NATS core (flush)', gateway: post('/b/core'), direct: async () => (nc.publish(`${P}.core`, BODY), await nc.flush(), true) },
    { name: 'NATS JetStream (ack)', gateway: post('/b/js'), direct: async () => (await js.publish(`${P}.js.x`, BODY), true) },
    { name: 'RabbitMQ (publisher confirm)', gateway: post('/b/rabbit'), direct: () => new Promise((resolve) => confirm.publish('', QUEUE, BODY, { persistent: true, mandatory: true }, (err) => resolve(err == null))) },
    { name: 'MQTT QoS 1 (PUBACK)', gateway: post('/b/mqtt'), direct: async () => (await mq.publishAsync(`${P}/t`, BODY, { qos: 1 }), true) },
  ];
  // The gateway's first seconds (JIT, the first usage flushes) would count against the first case.
  const warm = Date.now() + 3_000;
  while (Date.now() < warm) await rate(post('/b/core'));
  const rows = [];
  for (const c of cases) {
    await rate(c.gateway);
    await rate(c.direct); // warm-up
    const g = [];
    const d = [];
    const ratios = [];
    for (let i = 0; i < ROUNDS; i++) {
      const gi = await rate(c.gateway);
      const di = await rate(c.direct);
      g.push(gi);
      d.push(di);
      ratios.push(gi / di);
    }
    rows.push(`| ${c.name} | ${Math.round(median(g)).toLocaleString('en-US')} | ${Math.round(median(d)).toLocaleString('en-US')} | ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) |`);
    console.error(rows.at(-1));
  }
  await pool.close();
  console.log(`Messages per second, ${CONCURRENCY} in flight, ${ROUNDS} rounds of ${MS} ms (medians; ratio = gateway / direct, min–max of the rounds), ${BODY.length}-byte body:\n`);
  console.log('| broker (confirmation) | through the gateway /s | direct client /s | ratio |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
} finally {
  await jsm.streams.delete(STREAM).catch(() => {});
  await setup.deleteQueue(QUEUE).catch(() => {});
  await amqp.close().catch(() => {});
  await mq.endAsync().catch(() => {});
  await nc.close();
  await stop();
}
