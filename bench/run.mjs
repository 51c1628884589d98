// `npm run bench`: the direct upstream against the same upstream through the gateway, on
// loopback, with autocannon. Prints req/s, p50, p99 and the ratio to direct for each case, and
// saves a Markdown table under bench/results/. Copy the table into docs/benchmarks.md with the
// date and machine when it changes.
//
// Written as plain .mjs (not TypeScript) so it runs the built gateway exactly as production does,
// without a loader in the measured path.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { BENCH_KEY, limitedConfig, plainConfig, upstreamDoc } from './configs.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.DURATION ?? 10);
const WARMUP = Number(process.env.WARMUP ?? 3);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const children = [];

function spawnChild(cmd, args, env, { stdout = 'pipe' } = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'inherit'] });
  children.push(child);
  return child;
}

function firstLine(child) {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i !== -1) resolve(buf.slice(0, i).trim());
    });
    child.on('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
}

async function waitFor(url, headers = {}) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(url, { headers });
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became ready`);
}

let nextPort = 19100;
/** Starts a whole Tollgate (gateway + admin, embedded store) with the given config and log level. */
async function startTollgate(name, configYaml, logLevel, extraEnv = {}) {
  const data = mkdtempSync(join(tmpdir(), `tollgate-bench-${name}-`));
  const token = 'bench-admin-token-0123456789abcdef';
  const ports = { PROXY_PORT: nextPort++, ADMIN_PORT: nextPort++, STATUS_PORT: nextPort++, PROXY_TLS_PORT: nextPort++ };
  const env = { ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), TOLLGATE_DATA: data, ADMIN_TOKEN: token, LOG_LEVEL: logLevel, NODE_ENV: 'production', PROXY_HOST: '127.0.0.1', STATUS_HOST: '127.0.0.1', ...extraEnv };
  // Access-log lines go to /dev/null: we measure producing them, not a terminal.
  spawnChild(process.execPath, [join(root, 'apps/cli/dist/main.js'), 'start', 'all'], env, { stdout: 'ignore' });
  await waitFor(`http://127.0.0.1:${ports.STATUS_PORT}/readyz`);
  // The admin API may start listening after the gateway is ready.
  await waitFor(`http://127.0.0.1:${ports.ADMIN_PORT}/healthz`);
  const res = await fetch(`http://127.0.0.1:${ports.ADMIN_PORT}/config`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml' }, body: configYaml });
  if (!res.ok) throw new Error(`apply failed: ${res.status} ${await res.text()}`);
  return { url: `http://127.0.0.1:${ports.PROXY_PORT}`, cleanup: () => rmSync(data, { recursive: true, force: true }) };
}

function run(url, headers) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers, pipelining: 1 }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

async function measure(name, url, headers = {}) {
  await waitFor(url, headers);
  await new Promise((resolve, reject) => autocannon({ url, connections: CONNECTIONS, duration: WARMUP, headers }, (e) => (e ? reject(e) : resolve())));
  const r = await run(url, headers);
  const errors = r.errors + r.timeouts + r.non2xx;
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors };
}

async function main() {
  const up = spawnChild(process.execPath, [join(root, 'bench/upstream.mjs')], {});
  const upPort = await firstLine(up);
  const upstreamUrl = `http://127.0.0.1:${upPort}`;
  const config = plainConfig(upstreamUrl);
  // One process serving both a plain route and a route with rewrite + header changes + a weighted
  // split (two Upstreams on the same target), so the two differ only by the route's actions.
  const routingConfig = `${upstreamDoc('bench', upstreamUrl)}${upstreamDoc('bench-b', upstreamUrl)}apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: bench }
spec:
  routes:
    - name: plain
      match: [{ path: { prefix: /plain } }]
      destination: { upstream: bench }
    - name: actions
      match: [{ path: { template: "/actions/{id}" } }]
      rewrite: { path: "/v2/items/{id}" }
      headers:
        request: { set: { x-route: actions }, add: { x-tag: bench }, remove: [x-debug] }
        response: { set: { x-served-by: tollgate }, remove: [x-internal] }
      destinations: [{ upstream: bench, weight: 80 }, { upstream: bench-b, weight: 20 }]
`;
  const rows = [];
  rows.push(await measure('direct upstream', `${upstreamUrl}/`));
  const quiet = await startTollgate('quiet', config, 'warn');
  rows.push(await measure('gateway, plain route, access log off', `${quiet.url}/`));
  const logged = await startTollgate('logged', config, 'info');
  rows.push(await measure('gateway, plain route, access log on', `${logged.url}/`));
  const routing = await startTollgate('routing', routingConfig, 'warn');
  // Alternated twice and averaged: on a shared machine, load drifts between consecutive runs.
  const pair = [];
  for (let i = 0; i < 2; i++) {
    pair.push(await measure('plain', `${routing.url}/plain`), await measure('actions', `${routing.url}/actions/42`));
  }
  const mean = (name, list) => ({ name, rps: (list[0].rps + list[1].rps) / 2, p50: Math.max(list[0].p50, list[1].p50), p99: Math.max(list[0].p99, list[1].p99), errors: list[0].errors + list[1].errors });
  const plainRow = mean('gateway, plain route (routing config, mean of 2), access log off', [pair[0], pair[2]]);
  const actionsRow = mean('gateway, template + rewrite + 5 header changes + 80/20 split (mean of 2), access log off', [pair[1], pair[3]]);
  rows.push(plainRow, actionsRow);
  // key-auth + a Redis-backed rate limit (one Lua call per request) against a bare route of the
  // same process. The limit is far above what the run can reach: every request is served.
  const limitsConfig = limitedConfig(upstreamUrl);
  let limitsRatio = 'key-auth + Redis rate limit: skipped (set REDIS_URL to a reachable Redis to run this case)';
  if (process.env.REDIS_URL) {
    const limits = await startTollgate('limits', limitsConfig, 'warn', { REDIS_URL: process.env.REDIS_URL });
    const lp = [];
    for (let i = 0; i < 2; i++) lp.push(await measure('bare', `${limits.url}/`), await measure('limited', `${limits.url}/limited/x`, { apikey: BENCH_KEY }));
    const bareRow = mean('gateway, bare route (limits config, mean of 2), access log off', [lp[0], lp[2]]);
    const limitedRow = mean('gateway, key-auth + Redis rate limit (2 windows, mean of 2), access log off', [lp[1], lp[3]]);
    rows.push(bareRow, limitedRow);
    limitsRatio = `key-auth + Redis rate limit vs bare route: ${(limitedRow.rps / bareRow.rps).toFixed(2)}x req/s, worst p99 ${limitedRow.p99} ms vs ${bareRow.p99} ms`;
    limits.cleanup();
  } else {
    process.stdout.write(`${limitsRatio}\n`);
  }
  // Observability (issue #9): Prometheus metrics + JSON access log against both off, same config,
  // two processes measured alternately twice and averaged.
  const obsOff = await startTollgate('obs-off', config, 'warn', { METRICS: 'false', ACCESS_LOG: 'false' });
  const obsOn = await startTollgate('obs-on', config, 'info', { METRICS: 'true', ACCESS_LOG: 'true' });
  const op = [];
  for (let i = 0; i < 2; i++) op.push(await measure('off', `${obsOff.url}/`), await measure('on', `${obsOn.url}/`));
  const obsOffRow = mean('gateway, metrics off + access log off (mean of 2)', [op[0], op[2]]);
  const obsOnRow = mean('gateway, metrics on + access log on (mean of 2)', [op[1], op[3]]);
  rows.push(obsOffRow, obsOnRow);
  const obsRatio = `metrics + access log vs both off: ${(obsOnRow.rps / obsOffRow.rps).toFixed(2)}x req/s, worst p99 ${obsOnRow.p99} ms vs ${obsOffRow.p99} ms`;
  obsOff.cleanup();
  obsOn.cleanup();
  rows.push(await measure('direct upstream (again, drift check)', `${upstreamUrl}/`));

  const direct = rows[0].rps;
  const table = [
    `| case | req/s | p50 ms | p99 ms | ratio to direct | errors |`,
    `| --- | ---: | ---: | ---: | ---: | ---: |`,
    ...rows.map((r) => `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${(r.rps / direct).toFixed(2)} | ${r.errors} |`),
  ].join('\n');
  const routingRatio = `route actions vs plain route: ${(actionsRow.rps / plainRow.rps).toFixed(2)}x req/s, worst p99 ${actionsRow.p99} ms vs ${plainRow.p99} ms`;
  const header = `autocannon, ${CONNECTIONS} connections, ${DURATION} s after ${WARMUP} s warm-up, node ${process.version}, ${new Date().toISOString()}`;
  process.stdout.write(`\n${header}\n\n${table}\n\n${routingRatio}\n${limitsRatio}\n${obsRatio}\n`);
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.md`), `${header}\n\n${table}\n\n${routingRatio}\n${limitsRatio}\n${obsRatio}\n`);
  quiet.cleanup();
  logged.cleanup();
  routing.cleanup();
}

function stopAll() {
  for (const c of children) c.kill('SIGTERM');
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));
main().then(
  () => {
    stopAll();
    setTimeout(() => process.exit(0), 500);
  },
  (err) => {
    console.error(err);
    stopAll();
    process.exit(1);
  },
);
