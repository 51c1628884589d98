// `node bench/aggregate.mjs` (after `npm run build`): an aggregate route of three backends that
// answer after 10, 20 and 30 ms, called in parallel, against a plain route to the slowest
// (30 ms) backend alone, through the same Tollgate process. Parallel fan-out should cost about
// the slowest backend, not the sum: the ratio of p50 latencies is the number to watch (1.0 is
// ideal; 2.0 would be the sum of the three). Prints the table and the ratios and saves them under
// bench/results/. Environment: DURATION (s, default 10), WARMUP (s, 3), CONNECTIONS (20).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.DURATION ?? 10);
const WARMUP = Number(process.env.WARMUP ?? 3);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 20);
const DELAYS = [10, 20, 30];
let child = null;

/** A JSON backend that answers after `delayMs`. */
function startBackend(name, delayMs) {
  const body = Buffer.from(JSON.stringify({ service: name, items: [{ id: 1, price: 5 }, { id: 2, price: 7 }], secret: 'x' }));
  const server = createServer((req, res) => {
    req.resume();
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    }, delayMs);
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` })));
}

async function waitFor(url) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became ready`);
}

function cannon(url, duration) {
  return new Promise((resolve, reject) => autocannon({ url, connections: CONNECTIONS, duration, pipelining: 1 }, (err, r) => (err ? reject(err) : resolve(r))));
}

async function measure(name, url) {
  await waitFor(url);
  await cannon(url, WARMUP);
  const r = await cannon(url, DURATION);
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx };
}

async function main() {
  const backends = await Promise.all(DELAYS.map((d, i) => startBackend(`b${i}`, d)));
  const upstreams = backends.map((b, i) => `apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: b${i} }\nspec: { targets: [{ url: "${b.url}" }] }\n---\n`).join('');
  const config = `${upstreams}apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: bench }
spec:
  routes:
    - name: slowest
      match: [{ path: { exact: /slowest } }]
      destination: { upstream: b2 }
    - name: aggregate
      match: [{ path: { template: "/aggregate/{id}" } }]
      aggregate:
        budgetMs: 1000
        backends:
          - { name: a, upstream: b0, path: "/a/{path.id}", deny: [secret] }
          - { name: b, upstream: b1, path: /b, extract: items, rename: { price: amount } }
          - { name: c, upstream: b2, path: /c, merge: true, allow: [service] }
`;
  const data = mkdtempSync(join(tmpdir(), 'tollgate-bench-agg-'));
  const token = 'bench-admin-token-0123456789abcdef';
  const ports = { PROXY_PORT: 19180, ADMIN_PORT: 19181, STATUS_PORT: 19182, PROXY_TLS_PORT: 19183 };
  const env = { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), TOLLGATE_DATA: data, ADMIN_TOKEN: token, LOG_LEVEL: 'warn', NODE_ENV: 'production', PROXY_HOST: '127.0.0.1', STATUS_HOST: '127.0.0.1' };
  child = spawn(process.execPath, [join(root, 'apps/cli/dist/main.js'), 'start', 'all'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitFor(`http://127.0.0.1:${ports.STATUS_PORT}/readyz`);
  await waitFor(`http://127.0.0.1:${ports.ADMIN_PORT}/healthz`);
  const res = await fetch(`http://127.0.0.1:${ports.ADMIN_PORT}/config`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml' }, body: config });
  if (!res.ok) throw new Error(`apply failed: ${res.status} ${await res.text()}`);
  const gw = `http://127.0.0.1:${ports.PROXY_PORT}`;
  await waitFor(`${gw}/aggregate/7`);
  const probe = await fetch(`${gw}/aggregate/7`);
  // A partial answer would be cheaper than a full one: measure only complete aggregates.
  if (probe.headers.get('x-tollgate-partial') !== null) throw new Error(`partial aggregate: ${probe.headers.get('x-tollgate-missing')}`);
  process.stdout.write(`aggregate answer: ${await probe.text()}\n`);
  // Alternated twice and averaged: on a shared machine, load drifts between consecutive runs.
  const runs = [];
  for (let i = 0; i < 2; i++) runs.push(await measure('slowest', `${gw}/slowest`), await measure('aggregate', `${gw}/aggregate/7`));
  const mean = (name, a, b) => ({ name, rps: (a.rps + b.rps) / 2, p50: (a.p50 + b.p50) / 2, p99: Math.max(a.p99, b.p99), errors: a.errors + b.errors });
  const single = mean('plain route to the slowest backend (30 ms), mean of 2', runs[0], runs[2]);
  const agg = mean('aggregate of 3 backends (10, 20, 30 ms) in parallel, mean of 2', runs[1], runs[3]);
  const table = [
    '| case | req/s | p50 ms | p99 ms | errors |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...[single, agg].map((r) => `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} |`),
  ].join('\n');
  const ratio = `aggregate of 3 vs slowest single backend: p50 ${(agg.p50 / single.p50).toFixed(2)}x, req/s ${(agg.rps / single.rps).toFixed(2)}x`;
  const header = `autocannon, ${CONNECTIONS} connections, ${DURATION} s after ${WARMUP} s warm-up, node ${process.version}, ${new Date().toISOString()}`;
  process.stdout.write(`\n${header}\n\n${table}\n\n${ratio}\n`);
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, `bench/results/aggregate-${new Date().toISOString().replace(/[:.]/g, '-')}.md`), `${header}\n\n${table}\n\n${ratio}\n`);
  for (const b of backends) b.server.close();
  rmSync(data, { recursive: true, force: true });
}

process.on('exit', () => child?.kill('SIGTERM'));
process.on('SIGINT', () => process.exit(130));
main().then(
  () => setTimeout(() => process.exit(0), 300),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
