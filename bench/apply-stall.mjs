// `npm run bench:apply-stall`: how long a config apply stalls serving (#16).
//
// Starts Tollgate from the build (apps/cli/dist) in two shapes:
// - postgres: a `gateway` process and an `admin` process on a fresh Postgres database
//   (TEST_DATABASE_URL's server; the database is dropped afterwards);
// - embedded: one `start all` process on PGlite in a temporary directory (admin and data plane
//   share one event loop).
// Each applies a base config (an upstream in this process and a `probe` API), then runs a steady
// load on the probe route with autocannon (fixed rate) while it
// 1. applies 10,000 APIs (two routes each) in one POST /config, then
// 2. applies one more API with one route on top of them,
// and reports for each apply: the admin's response time, the time until the change answers on
// the gateway ("live", polled every 20 ms from the POST), and the probe load's worst latency,
// p99 and non-2xx count during the window [POST, live + 500 ms]. A first row runs the same load
// for 5 s without any change: the noise floor of the machine.
//
// Env: MODES=postgres,embedded  APIS=10000  RATE=200 (req/s of the load)  CONNECTIONS=4
//      FORMAT=json|yaml (the body of the applies: a JSON array, or multi-document YAML as
//      `tollgate apply -f` sends)
//      TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
//      ROOT=dir: start the build of another checkout (e.g. main, for a before/after in one run)
//      BLOCKS=1: also report the longest uninterrupted run of the serving process's event loop in
//      each window, wall and CPU ms (bench/event-loop-blocks.cjs, preloaded): on a loaded machine
//      the worst request latency is mostly the machine; the CPU time of the longest block is what
//      the change itself held the loop for; BLOCKS_DIR=dir keeps the block files (<role>-<port>.txt)
//      there, to match with a --cpu-prof of the same process (bench/profile-blocks.mjs)
//      HEAP_PROFILE=dir: a sampling heap profile of each Tollgate process (objects the GC collected
//      included; bench/heap-sampling.cjs) in dir, summed per function by bench/heap-profile-summary.mjs
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { stringify as toYaml } from 'yaml';
import pg from 'pg';

const root = process.env.ROOT ?? fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'apps/cli/dist/main.js');
// The V8 flags the checkout launches its processes with (none in checkouts from before they existed).
const LAUNCH_NODE_FLAGS = existsSync(join(root, 'apps/cli/dist/node-flags.js')) ? (await import(join(root, 'apps/cli/dist/node-flags.js'))).LAUNCH_NODE_FLAGS : [];
const BLOCKS = process.env.BLOCKS === '1';
const BLOCKS_DIR = BLOCKS ? (process.env.BLOCKS_DIR ?? mkdtempSync(join(tmpdir(), 'tollgate-blocks-'))) : null;
const BLOCKS_PRELOAD = fileURLToPath(new URL('./event-loop-blocks.cjs', import.meta.url));
const HEAP_PRELOAD = fileURLToPath(new URL('./heap-sampling.cjs', import.meta.url));
const hr = () => Number(process.hrtime.bigint() / 1000n);
const MODES = (process.env.MODES ?? 'postgres,embedded').split(',');
const APIS = Number(process.env.APIS ?? 10_000);
const RATE = Number(process.env.RATE ?? 200);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 4);
const DB_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const FORMAT = process.env.FORMAT ?? 'json';
const HOST = 'bench.local';
const TOKEN = `tgadm_bench_${randomBytes(8).toString('hex')}`;

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A `tollgate start <role>` child on free ports. */
async function startProcess(role, env) {
  const ports = { proxy: await freePort(), admin: await freePort(), status: await freePort(), tls: await freePort() };
  let out = '';
  // For a closer look: NODE_ARGS='--trace-gc' (Node flags of the Tollgate processes, after the
  // launch flags every Tollgate process starts with, so NODE_ARGS=--max-semi-space-size=16 measures
  // V8's default young generation), OUTPUT_DIR=dir (each process's output is written there when it stops).
  const nodeArgs = [...LAUNCH_NODE_FLAGS, ...(process.env.NODE_ARGS ?? '').split(' ').filter((a) => a !== '')];
  const blocksFile = BLOCKS_DIR === null ? null : join(BLOCKS_DIR, `${role}-${ports.proxy}.txt`);
  if (blocksFile !== null) nodeArgs.unshift('--require', BLOCKS_PRELOAD);
  if (process.env.HEAP_PROFILE) nodeArgs.unshift('--require', HEAP_PRELOAD);
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'start', role], {
    env: {
      PATH: process.env.PATH,
      PROXY_PORT: String(ports.proxy),
      PROXY_TLS_PORT: String(ports.tls),
      ADMIN_PORT: String(ports.admin),
      STATUS_PORT: String(ports.status),
      PROXY_HOST: '127.0.0.1',
      STATUS_HOST: '127.0.0.1',
      ADMIN_HOST: '127.0.0.1',
      ADMIN_TOKEN: TOKEN,
      ADMIN_BODY_LIMIT_BYTES: String(64 * 1024 * 1024),
      ADMIN_MAX_DOCUMENTS: String(APIS + 100),
      LOG_LEVEL: 'warn',
      ACCESS_LOG: 'false',
      CONFIG_POLL_MS: '2000',
      ...env,
      ...(blocksFile !== null ? { BLOCKS_FILE: blocksFile } : {}),
      ...(process.env.HEAP_PROFILE ? { HEAP_PROFILE_DIR: process.env.HEAP_PROFILE } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const p = {
    proxyUrl: `http://127.0.0.1:${ports.proxy}`,
    adminUrl: `http://127.0.0.1:${ports.admin}`,
    statusUrl: `http://127.0.0.1:${ports.status}`,
    output: () => out,
    /** [start µs, end µs, wall ms, cpu ms] of each event-loop block over 15 ms so far (BLOCKS=1). */
    blocks: () => (blocksFile === null || !existsSync(blocksFile) ? [] : readFileSync(blocksFile, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => l.split(' ').map(Number))),
    async stop() {
      if (process.env.OUTPUT_DIR) (await import('node:fs')).writeFileSync(join(process.env.OUTPUT_DIR, `${role}-${ports.proxy}.log`), out);
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
  const url = role === 'gateway' ? `${p.statusUrl}/healthz` : `${p.adminUrl}/healthz`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tollgate ${role} exited:\n${out}`);
    if (await fetch(url).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`tollgate ${role} not up in 60 s:\n${out}`);
    await sleep(100);
  }
  return p;
}

/**
 * The body of an apply, encoded before the measured window: this process also runs the load, and
 * encoding 10,000 documents as YAML takes about a second here, which would be counted as the
 * gateway's latency.
 */
function encode(docs) {
  return FORMAT === 'yaml' ? docs.map((d) => toYaml(d)).join('---\n') : JSON.stringify(docs);
}

async function apply(adminUrl, body) {
  const t = performance.now();
  const res = await fetch(`${adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': FORMAT === 'yaml' ? 'application/yaml' : 'application/json' }, body });
  const answer = await res.text();
  if (!res.ok) throw new Error(`apply: ${res.status} ${answer.slice(0, 500)}`);
  return performance.now() - t;
}

/** GET through the gateway with the bench Host (undici's fetch cannot set Host: use node:http). */
async function proxyStatus(proxyUrl, path) {
  const { request } = await import('node:http');
  return new Promise((resolve) => {
    const req = request(new URL(path, proxyUrl), { headers: { host: HOST }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function waitLive(proxyUrl, path, since, timeoutMs = 300_000) {
  for (;;) {
    if ((await proxyStatus(proxyUrl, path)) === 200) return performance.now() - since;
    if (performance.now() - since > timeoutMs) throw new Error(`${path} not live within ${timeoutMs} ms`);
    await sleep(20);
  }
}

const upstreamDoc = (url) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Upstream', metadata: { name: 'bench' }, spec: { targets: [{ url }] } });
const apiDoc = (name, basePath, routes) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Api', metadata: { name }, spec: { hosts: [HOST], basePath, routes } });
const manyApis = () =>
  Array.from({ length: APIS }, (_, i) =>
    apiDoc(`api-${i}`, `/svc${i}`, [
      { name: 'items', match: [{ path: { prefix: '/items' } }], destination: { upstream: 'bench' } },
      { name: 'orders', match: [{ path: { template: '/orders/{id}' } }], destination: { upstream: 'bench' } },
    ]),
  );

/**
 * Runs `change` under a steady load on the probe route; the load's latencies are recorded per
 * response with their completion time, so only the responses finishing inside the change
 * window count (the window ends 500 ms after the change is live).
 */
async function underLoad(gw, change, label) {
  const proxyUrl = gw.proxyUrl;
  const samples = [];
  const inst = autocannon({ url: `${proxyUrl}/probe/x`, headers: { host: HOST }, connections: CONNECTIONS, overallRate: RATE, duration: 3600, timeout: 120 });
  inst.on('response', (_client, status, _bytes, latencyMs) => samples.push([performance.now(), status, latencyMs]));
  inst.on('reqError', () => samples.push([performance.now(), 0, Infinity]));
  const done = new Promise((resolve) => inst.on('done', resolve));
  await sleep(2_000); // warm
  const start = performance.now();
  const hrStart = hr();
  const result = await change(start);
  await sleep(500);
  const end = performance.now();
  const hrEnd = hr();
  inst.stop();
  await done;
  // A response that completes after `start` was waiting during the window, whenever it was sent.
  const inWindow = samples.filter(([t]) => t >= start && t <= end);
  const lat = inWindow.map(([, , l]) => l).sort((a, b) => a - b);
  const non2xx = inWindow.filter(([, s]) => s < 200 || s >= 300).length;
  const statuses = {};
  for (const [, s] of inWindow) statuses[s] = (statuses[s] ?? 0) + 1;
  // The serving process's longest event-loop block in the window, by wall and by CPU time.
  const blocks = gw.blocks().filter(([s, e]) => e >= hrStart && s <= hrEnd);
  if (process.env.BLOCKS_DIR) appendFileSync(join(BLOCKS_DIR, 'windows.txt'), `${label.replaceAll(' ', '_')} ${hrStart} ${hrEnd}\n`);
  const longest = { wallMs: Math.max(0, ...blocks.map((b) => b[2])), cpuMs: Math.max(0, ...blocks.map((b) => b[3])) };
  return { ...result, longest, requests: inWindow.length, worstMs: lat.at(-1) ?? NaN, p99Ms: lat[Math.floor(lat.length * 0.99)] ?? NaN, non2xx, statuses };
}

async function scenario(mode, upstreamUrl) {
  const procs = [];
  let cleanup = async () => {};
  try {
    let gw;
    let admin;
    if (mode === 'postgres') {
      const name = `tollgate_bench_${randomBytes(6).toString('hex')}`;
      const c = new pg.Client({ connectionString: DB_URL });
      await c.connect();
      await c.query(`CREATE DATABASE "${name}"`);
      await c.end();
      const url = new URL(DB_URL);
      url.pathname = `/${name}`;
      cleanup = async () => {
        const d = new pg.Client({ connectionString: DB_URL });
        await d.connect();
        await d.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await d.end();
      };
      const env = { DATABASE_URL: url.toString() };
      admin = await startProcess('admin', env);
      procs.push(admin);
      gw = await startProcess('gateway', env);
      procs.push(gw);
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
      gw = admin = await startProcess('all', { TOLLGATE_DATA: dir });
      procs.push(gw);
    }
    await apply(admin.adminUrl, encode([upstreamDoc(upstreamUrl), apiDoc('probe', '/probe', [{ name: 'all', match: [{ path: { prefix: '/' } }], destination: { upstream: 'bench' } }])]));
    await waitLive(gw.proxyUrl, '/probe/x', performance.now(), 30_000);
    const rows = [];
    // The noise floor: the same load for 5 s with no change (a busy machine shows here).
    rows.push(['no change (5 s)', await underLoad(gw, async () => (await sleep(5_000), { adminMs: NaN, liveMs: NaN }), `${mode}:no-change`)]);
    const many = encode(manyApis());
    const oneMore = encode([apiDoc('one-more', '/one-more', [{ name: 'r', match: [{ path: { prefix: '/' } }], destination: { upstream: 'bench' } }])]);
    rows.push([`${APIS.toLocaleString('en')} APIs`, await underLoad(gw, async (start) => {
      const adminMs = await apply(admin.adminUrl, many);
      return { adminMs, liveMs: await waitLive(gw.proxyUrl, `/svc${APIS - 1}/orders/1`, start) };
    }, `${mode}:${APIS}-apis`)]);
    rows.push(['one route on top', await underLoad(gw, async (start) => {
      const adminMs = await apply(admin.adminUrl, oneMore);
      return { adminMs, liveMs: await waitLive(gw.proxyUrl, '/one-more/x', start) };
    }, `${mode}:one-more`)]);
    return rows;
  } catch (err) {
    for (const p of procs) process.stderr.write(p.output().slice(-4000));
    throw err;
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await cleanup();
  }
}

const upstream = createServer((req, res) => {
  req.resume();
  res.end('ok');
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;
console.log(`machine load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (${process.env.NOTE ?? ''})`);
console.log(`load: ${RATE} req/s over ${CONNECTIONS} connections on one route; ${APIS.toLocaleString('en')} APIs x 2 routes; ${FORMAT} bodies`);
console.log(`build: ${root}`);
console.log(`| mode | apply | admin ms | live ms | requests | worst ms | p99 ms | non-2xx |${BLOCKS ? ' block: longest wall / most CPU ms |' : ''}`);
console.log(`| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |${BLOCKS ? ' ---: |' : ''}`);
for (const mode of MODES) {
  for (const [label, r] of await scenario(mode, upstreamUrl)) {
    const statuses = Object.entries(r.statuses).filter(([s]) => s !== '200').map(([s, n]) => `${s}: ${n}`).join(', ');
    console.log(`| ${mode} | ${label} | ${r.adminMs.toFixed(0)} | ${r.liveMs.toFixed(0)} | ${r.requests} | ${r.worstMs.toFixed(0)} | ${r.p99Ms.toFixed(0)} | ${r.non2xx}${statuses ? ` (${statuses})` : ''} |${BLOCKS ? ` ${r.longest.wallMs.toFixed(0)} / ${r.longest.cpuMs.toFixed(0)} |` : ''}`);
  }
}
console.log(`machine load average at end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
upstream.close();
if (BLOCKS_DIR !== null && !process.env.BLOCKS_DIR) rmSync(BLOCKS_DIR, { recursive: true, force: true });
process.exit(0);
