// `npm run bench:keys`: API keys at scale, on one Postgres and one Redis with an admin process and
// two gateway processes (the production shape).
//
// For each consumer count in CONSUMERS (default "10,100000"):
//  1. seeds that many Consumers in bulk (through the config store, in one apply) and 1,000 API
//     keys spread over them (one bulk create), plus one Api behind key-auth;
//  2. key-auth p99: steady load on gateway 1 rotating over the 1,000 keys (autocannon);
//  3. a new key under load: the same load runs while a key is created through the admin API; the
//     new key is probed on both gateways every 5 ms until it is accepted. Prints the time until
//     usable on each node and the worst and p99 latency (and non-2xx) of the load meanwhile;
//  4. a new Consumer under the same load: created through the admin API (`POST /consumers`),
//     then a key for it; prints the time from the POST until that key works on both nodes (on a
//     build where Consumers are change-feed deltas, no node reloads for it either).
//
// Databases: TEST_DATABASE_URL's server (a fresh database per run, dropped after), REDIS_URL
// (default redis://127.0.0.1:6379/15). ROOT=<checkout> runs another checkout's build (e.g. main,
// for "before" numbers); the seeding uses only store calls main has too.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';

const root = process.env.ROOT ?? fileURLToPath(new URL('..', import.meta.url));
const { createPostgresStores } = await import(pathToFileURL(join(root, 'packages/stores/dist/index.js')).href);
const { validateDocuments } = await import(pathToFileURL(join(root, 'packages/model/dist/index.js')).href);
const SERVER = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/15';
const COUNTS = (process.env.CONSUMERS ?? '10,100000').split(',').map(Number);
const KEYS = Number(process.env.KEYS ?? 1000);
const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 10);
const TOKEN = 'bench-admin-token-0123456789abcdef';
const HOST = 'keys.bench';
const children = [];
const sha = (s) => createHash('sha256').update(s).digest('hex');

let nextPort = 19400 + Math.floor(Math.random() * 200) * 4;
function startTollgate(role, env) {
  const ports = { PROXY_PORT: nextPort++, ADMIN_PORT: nextPort++, STATUS_PORT: nextPort++, PROXY_TLS_PORT: nextPort++ };
  const child = spawn(process.execPath, [join(root, 'apps/cli/dist/main.js'), 'start', role], {
    env: { PATH: process.env.PATH, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), PROXY_HOST: '127.0.0.1', STATUS_HOST: '127.0.0.1', NODE_ENV: 'production', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Drained (a full pipe would block the child); the logs are not needed.
  child.stdout.resume();
  children.push(child);
  return { child, proxy: `http://127.0.0.1:${ports.PROXY_PORT}`, admin: `http://127.0.0.1:${ports.ADMIN_PORT}`, status: `http://127.0.0.1:${ports.STATUS_PORT}` };
}

async function waitFor(fn, timeoutMs = 300_000) {
  const start = Date.now();
  for (;;) {
    if (await fn().catch(() => false)) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function get(url, key) {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/k/x`, { headers: { host: HOST, 'x-api-key': key }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

function load(url, keys, seconds) {
  let i = 0;
  return new Promise((resolve, reject) =>
    autocannon(
      {
        url: `${url}/k/x`,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, host: HOST, 'x-api-key': keys[i++ % keys.length] } }) }],
      },
      (err, r) => (err ? reject(err) : resolve(r)),
    ),
  );
}

const consumerDoc = (i) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: `c${i}`, labels: {}, annotations: {} }, spec: { groups: [], jwtSubjects: [], keys: [], metadata: {} } });

async function runOne(consumers, upstreamUrl) {
  const dbName = `tollgate_bench_keys_${process.pid}_${consumers}`;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(SERVER);
  url.pathname = `/${dbName}`;
  const stores = await createPostgresStores({ url: url.toString() });
  try {
    const seedStart = Date.now();
    const docs = [
      { apiVersion: 'tollgate.dev/v1', kind: 'Upstream', metadata: { name: 'bench', labels: {}, annotations: {} }, spec: { targets: [{ url: upstreamUrl }] } },
      { apiVersion: 'tollgate.dev/v1', kind: 'Api', metadata: { name: 'keyed', labels: {}, annotations: {} }, spec: { hosts: [HOST], basePath: '/k', policies: [{ name: 'key-auth' }], routes: [{ name: 'all', destination: { upstream: 'bench' } }] } },
      ...Array.from({ length: consumers }, (_, i) => consumerDoc(i)),
    ];
    // Validated by the model (defaults filled) as the admin does; cross-references are the
    // gateways' compile to check (they would refuse a bad set).
    const valid = validateDocuments(docs.map((value, index) => ({ index, value })));
    if (!valid.ok) throw new Error(JSON.stringify(valid.issues.slice(0, 3)));
    await stores.config.apply(valid.resources, { validate: () => [] });
    const plain = Array.from({ length: KEYS }, () => `tg_${randomBytes(32).toString('base64url')}`);
    const step = Math.max(1, Math.floor(consumers / KEYS));
    await stores.apiKeys.createMany(plain.map((k, i) => ({ id: `key_bench${i}`, consumer: `c${(i * step) % consumers}`, hash: sha(k), prefix: k.slice(0, 8), last4: k.slice(-4) })));
    const seedMs = Date.now() - seedStart;

    const env = { DATABASE_URL: url.toString(), REDIS_URL, ADMIN_TOKEN: TOKEN, CONFIG_POLL_MS: '60000', ADMIN_MAX_DOCUMENTS: '200000' };
    const nodes = [startTollgate('admin', env), startTollgate('gateway', env), startTollgate('gateway', env)];
    const [adm, g1, g2] = nodes;
    await waitFor(async () => (await fetch(`${adm.admin}/healthz`)).ok);
    const bootMs = Math.max(...(await Promise.all([g1, g2].map((g) => waitFor(async () => (await get(g.proxy, plain[0])) === 200)))));

    await load(g1.proxy, plain, 3); // warm-up
    const steady = await load(g1.proxy, plain, DURATION);

    // A new key while the same load runs on gateway 1.
    const version = async (g) => (await (await fetch(`${g.status}/readyz`)).json()).version;
    const versionsBefore = await Promise.all([g1, g2].map(version));
    const during = load(g1.proxy, plain, DURATION);
    await new Promise((r) => setTimeout(r, 2_000));
    const t0 = Date.now();
    const res = await fetch(`${adm.admin}/consumers/c${consumers - 1}/keys`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    if (res.status !== 201) throw new Error(`key create: ${res.status} ${await res.text()}`);
    const { key } = await res.json();
    const createdMs = Date.now() - t0;
    const usable = await Promise.all([g1, g2].map((g) => waitFor(async () => (await get(g.proxy, key)) === 200, 60_000).then(() => Date.now() - t0)));
    // A new Consumer (a config kind) and its first key, under the same load.
    const t1 = Date.now();
    const made = await fetch(`${adm.admin}/consumers`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: 'bench-new' }, spec: {} }) });
    if (made.status !== 201) throw new Error(`consumer create: ${made.status} ${await made.text()}`);
    const madeKey = await fetch(`${adm.admin}/consumers/bench-new/keys`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    if (madeKey.status !== 201) throw new Error(`key create: ${madeKey.status} ${await madeKey.text()}`);
    const newConsumerKey = (await madeKey.json()).key;
    const consumerUsable = await Promise.all([g1, g2].map((g) => waitFor(async () => (await get(g.proxy, newConsumerKey)) === 200, 60_000).then(() => Date.now() - t1)));
    const loaded = await during;
    const versionsAfter = await Promise.all([g1, g2].map(version));
    const rebuilt = versionsAfter.map((v, i) => (v === versionsBefore[i] ? 'no' : `${versionsBefore[i]} -> ${v}`));
    for (const n of nodes) n.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => new Promise((r) => (n.child.exitCode !== null ? r() : n.child.on('exit', r)))));
    return {
      consumers,
      seedMs,
      bootMs,
      steady: { rps: Math.round(steady.requests.average), p50: steady.latency.p50, p99: steady.latency.p99, max: steady.latency.max, non2xx: steady.non2xx + steady.errors },
      newKey: { createdMs, usableMs: usable, consumerUsableMs: consumerUsable, rebuilt, rps: Math.round(loaded.requests.average), p99: loaded.latency.p99, max: loaded.latency.max, non2xx: loaded.non2xx + loaded.errors },
    };
  } finally {
    await stores.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

const upstream = createServer((req, res) => {
  req.resume();
  res.end('ok');
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;
const results = [];
try {
  for (const n of COUNTS) {
    const r = await runOne(n, upstreamUrl);
    results.push(r);
    console.error(JSON.stringify(r));
  }
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  upstream.close();
}
console.log(`root: ${root}; ${KEYS} rotating keys, ${CONNECTIONS} connections, ${DURATION} s per load\n`);
console.log('| consumers | key-auth req/s | p50 ms | p99 ms | max ms | admin POST answered | new key usable (node 1 / node 2) | new consumer + key usable (node 1 / node 2) | worst latency meanwhile | p99 meanwhile | non-2xx | config version moved (node 1 / node 2) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.consumers.toLocaleString('en')} | ${r.steady.rps} | ${r.steady.p50} | ${r.steady.p99} | ${r.steady.max} | ${r.newKey.createdMs} ms | ${r.newKey.usableMs.join(' / ')} ms | ${r.newKey.consumerUsableMs.join(' / ')} ms | ${r.newKey.max} ms | ${r.newKey.p99} ms | ${r.newKey.non2xx} | ${r.newKey.rebuilt.join(' / ')} |`);
}
if (results.length === 2) console.log(`\nkey-auth p99 ratio ${results[1].consumers} / ${results[0].consumers} consumers: ${(results[1].steady.p99 / results[0].steady.p99).toFixed(2)}x`);
