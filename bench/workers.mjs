// `npm run bench:workers`: one gateway process against WORKERS=2 (node:cluster) on the same
// machine, same config, same run; alternated twice and averaged, since load drifts on a shared
// machine. Needs Postgres (WORKERS > 1 refuses the embedded store): DATABASE_URL names a server
// on which a scratch database is created and dropped (default postgres://postgres@127.0.0.1:5432/postgres).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { plainConfig } from './configs.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.DURATION ?? 10);
const WARMUP = Number(process.env.WARMUP ?? 3);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const children = [];

async function admin(sql) {
  const c = new pg.Client({ connectionString: SERVER });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function spawnChild(args, env, stdout = 'ignore') {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'inherit'] });
  children.push(child);
  return child;
}

async function waitFor(url) {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became ready`);
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString());

/** A process and its descendants (the primary and its workers). */
function processTree(pid) {
  const out = [pid];
  try {
    for (const c of execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n')) if (c !== '') out.push(...processTree(Number(c)));
  } catch {
    // no children
  }
  return out;
}

/** CPU seconds (user + system) the processes used so far, from /proc (Linux). */
function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return ticks / CLK_TCK;
}

function cannon(url, duration) {
  return new Promise((resolve, reject) => autocannon({ url, connections: CONNECTIONS, duration, pipelining: 1 }, (e, r) => (e ? reject(e) : resolve(r))));
}

let nextPort = 19300;
async function startGateway(workers, dbUrl, config) {
  const token = 'bench-admin-token-0123456789abcdef';
  const ports = { PROXY_PORT: nextPort++, ADMIN_PORT: nextPort++, STATUS_PORT: nextPort++, PROXY_TLS_PORT: nextPort++ };
  const env = { ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), DATABASE_URL: dbUrl, WORKERS: String(workers), ADMIN_TOKEN: token, LOG_LEVEL: 'warn', ACCESS_LOG: 'false', NODE_ENV: 'production', PROXY_HOST: '127.0.0.1', STATUS_HOST: '127.0.0.1' };
  const child = spawnChild([join(root, 'apps/cli/dist/main.js'), 'start', 'all'], env);
  await waitFor(`http://127.0.0.1:${ports.STATUS_PORT}/readyz`);
  await waitFor(`http://127.0.0.1:${ports.ADMIN_PORT}/healthz`);
  const res = await fetch(`http://127.0.0.1:${ports.ADMIN_PORT}/config`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml' }, body: config });
  if (!res.ok) throw new Error(`apply failed: ${res.status} ${await res.text()}`);
  const url = `http://127.0.0.1:${ports.PROXY_PORT}/`;
  // Every worker must serve the applied config before measuring (readyz reports the oldest version).
  for (;;) {
    const r = await fetch(`http://127.0.0.1:${ports.STATUS_PORT}/readyz`).then((x) => x.json());
    if (r.version >= 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pids: () => processTree(child.pid), stop: () => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM'))) };
}

async function measure(name, gw) {
  await cannon(gw.url, WARMUP);
  // CPU per request does not depend on how much of the CPU other processes leave: it shows what
  // a second event loop costs, where req/s on a loaded machine shows mostly the scheduler.
  const pids = gw.pids();
  const before = cpuSeconds(pids);
  const r = await cannon(gw.url, DURATION);
  const cpuMsPer1000 = ((cpuSeconds(pids) - before) * 1000) / (r.requests.total / 1000);
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx, cpuMsPer1000 };
}

async function main() {
  const db = `tollgate_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE "${db}"`);
  const dbUrl = Object.assign(new URL(SERVER), { pathname: `/${db}` }).toString();
  try {
    const up = spawnChild([join(root, 'bench/upstream.mjs')], {}, 'pipe');
    const upPort = await new Promise((resolve) => up.stdout.once('data', (d) => resolve(String(d).trim())));
    const config = plainConfig(`http://127.0.0.1:${upPort}`);
    const one = await startGateway(1, dbUrl, config);
    const two = await startGateway(2, dbUrl, config);
    // Alternated ROUNDS times (1, 2, 1, 2, ...): on a shared machine load drifts between runs,
    // so every run is listed with the load average before it, and the medians compared.
    const ROUNDS = Number(process.env.ROUNDS ?? 3);
    const runs = [];
    for (let i = 0; i < ROUNDS; i++) {
      for (const [n, gw] of [[1, one], [2, two]]) {
        const load = loadavg()[0].toFixed(1);
        runs.push({ ...(await measure(`WORKERS=${n}`, gw)), n, load, round: i + 1 });
      }
    }
    await one.stop();
    await two.stop();
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const med = (n) => median(runs.filter((r) => r.n === n).map((r) => r.rps));
    const header = `autocannon, ${CONNECTIONS} connections, ${DURATION} s after ${WARMUP} s warm-up, ${ROUNDS} alternated rounds, plain route, access log off, ${availableParallelism()} CPUs, node ${process.version}, ${new Date().toISOString()}`;
    const table = ['| round | gateway | 1-min load before | req/s | p50 ms | p99 ms | CPU ms / 1000 req | errors |', '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |', ...runs.map((r) => `| ${r.round} | ${r.name} | ${r.load} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${Math.round(r.cpuMsPer1000)} | ${r.errors} |`)].join('\n');
    process.stdout.write(`\n${header}\n\n${table}\n\nmedian req/s: WORKERS=1 ${Math.round(med(1))}, WORKERS=2 ${Math.round(med(2))} (${(med(2) / med(1)).toFixed(2)}x)\n`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    await admin(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    for (const c of children) c.kill('SIGTERM');
    process.exit(1);
  },
);
