// `npm run bench:instructions`: CPU instructions the gateway executes per proxied request, counted
// by valgrind's callgrind, for several settings of the same config. Instruction counts do not
// depend on what else the machine is doing, so on a shared 2-vCPU VM they resolve differences
// (e.g. the cost of metrics + access log, or of metering) that req/s runs cannot. Needs `valgrind` on PATH.
//
// Per case: start `tollgate start all` under callgrind with instrumentation off (fast start), warm
// the JIT with uninstrumented traffic, switch instrumentation on, warm again, zero the counters,
// send N requests, dump. Result: instructions per request. Timer-driven background work (config
// poll, node heartbeat, usage flush every 60 s) is pushed (mostly) out of the window by long intervals, because under
// valgrind a request takes ~100x longer and time-based work would be charged to few requests;
// what is left of it is measured in an idle window after the load and printed, not subtracted.
// The usage flush (one batched upsert per interval, whatever the request rate) is therefore not in
// the metering number: that number is the per-request accounting on the hot path.
// The overload guard is off: under valgrind the event loop lags far more than in production.
// With REDIS_URL set, one more case: key-auth + a Redis rate limit of two windows on the defaults
// (`limitedConfig` of configs.mjs). PORT_BASE / WAIT_TRIES: ports and start-up patience, so two
// runs (e.g. two checkouts) can share a slow machine.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { BENCH_KEY, limitedConfig, plainConfig } from './configs.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const N = Number(process.env.REQUESTS ?? 3000);
const IDLE_MS = Number(process.env.IDLE_MS ?? 15_000);
const TOKEN = 'bench-admin-token-0123456789abcdef';
const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(url, tries = Number(process.env.WAIT_TRIES ?? 1500)) {
  for (let i = 0; i < tries; i++) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  throw new Error(`${url} never answered`);
}

/** n GETs over 4 keep-alive connections; returns elapsed ms and non-200 count. */
async function load(url, n, headers = {}) {
  const agent = new Agent({ connections: 4 });
  let bad = 0;
  const t = Date.now();
  for (let i = 0; i < n; i += 4) {
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const r = await request(url, { dispatcher: agent, headers });
        await r.body.dump();
        if (r.statusCode !== 200) bad++;
      }),
    );
  }
  await agent.close();
  return { ms: Date.now() - t, bad };
}

function totals(file) {
  const m = /^totals: (\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`no totals in ${file}`);
  return Number(m[1]);
}

// PORT_BASE: first of the ports the cases take (4 per case), so two runs can share a machine.
let port = Number(process.env.PORT_BASE ?? 19600);
async function measureCase(name, env, config, outDir, path = '/', headers = {}) {
  const ports = { PROXY_PORT: port++, ADMIN_PORT: port++, STATUS_PORT: port++, PROXY_TLS_PORT: port++ };
  const data = mkdtempSync(join(tmpdir(), `tollgate-cg-${name}-`));
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${join(outDir, `${name}.%p`)}`, process.execPath, join(root, 'apps/cli/dist/main.js'), 'start', 'all'],
    {
      env: { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), TOLLGATE_DATA: data, ADMIN_TOKEN: TOKEN, PROXY_HOST: '127.0.0.1', STATUS_HOST: '127.0.0.1', NODE_ENV: 'production', MAX_EVENT_LOOP_DELAY_MS: '0', CONFIG_POLL_MS: '600000', NODE_HEARTBEAT_MS: '300000', USAGE_FLUSH_MS: '60000', ...env },
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  children.push(child);
  // A start that fails (bad setting, port taken) ends the run at once rather than after the wait.
  child.once('exit', (code) => {
    if (!stopping) {
      console.error(`case ${name}: tollgate under valgrind exited with ${code}`);
      process.exit(1);
    }
  });
  let stopping = false;
  const admin = `http://127.0.0.1:${ports.ADMIN_PORT}`;
  const url = `http://127.0.0.1:${ports.PROXY_PORT}${path}`;
  await waitFor(`${admin}/healthz`);
  const res = await fetch(`${admin}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: config });
  if (!res.ok) throw new Error(`apply failed: ${res.status} ${await res.text()}`);
  await waitFor(`http://127.0.0.1:${ports.PROXY_PORT}/`);
  const ctl = (...args) => execFileSync('callgrind_control', [...args, String(child.pid)], { stdio: 'ignore' });
  await load(url, 400, headers);
  ctl('-i', 'on');
  await load(url, 200, headers);
  ctl('-z');
  const run = await load(url, N, headers);
  ctl('-d', 'load');
  ctl('-z');
  await sleep(IDLE_MS);
  ctl('-d', 'idle');
  stopping = true;
  child.kill('SIGKILL');
  const files = readdirSync(outDir).filter((f) => f.startsWith(`${name}.${child.pid}.`)).sort();
  const [loadIr, idleIr] = files.map((f) => totals(join(outDir, f)));
  rmSync(data, { recursive: true, force: true });
  const perRequest = loadIr / N;
  return { name, perRequest, loadIr, idleIr, idlePerSecond: idleIr / (IDLE_MS / 1000), ms: run.ms, bad: run.bad };
}

async function main() {
  const up = spawn(process.execPath, [join(root, 'bench/upstream.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(up);
  const upPort = await new Promise((resolve) => up.stdout.once('data', (d) => resolve(String(d).trim())));
  const config = plainConfig(`http://127.0.0.1:${upPort}`);
  const outDir = mkdtempSync(join(tmpdir(), 'tollgate-callgrind-'));
  // Metering is on by default; the first three cases turn it off to isolate metrics and the log.
  const cases = [
    ['off', { METRICS: 'false', ACCESS_LOG: 'false', METERING: 'false', LOG_LEVEL: 'warn' }],
    ['metrics', { METRICS: 'true', ACCESS_LOG: 'false', METERING: 'false', LOG_LEVEL: 'warn' }],
    ['metrics+log', { METRICS: 'true', ACCESS_LOG: 'true', METERING: 'false', LOG_LEVEL: 'info' }],
    ['metrics+log+metering (defaults)', { METRICS: 'true', ACCESS_LOG: 'true', METERING: 'true', LOG_LEVEL: 'info' }],
  ];
  // key-auth + a Redis-backed rate limit (2 windows) on the defaults, when REDIS_URL names a Redis.
  const limited = limitedConfig(`http://127.0.0.1:${upPort}`);
  if (process.env.REDIS_URL) cases.push(['key-auth+redis-limit (defaults)', { METRICS: 'true', ACCESS_LOG: 'true', METERING: 'true', LOG_LEVEL: 'info', REDIS_URL: process.env.REDIS_URL }, limited, '/limited/x', { apikey: BENCH_KEY }]);
  const only = process.env.CASES?.split(',');
  const rounds = Number(process.env.ROUNDS ?? 2);
  // Cases alternate within each round, so a slow drift (JIT, GC heuristics) spreads over all of them.
  const results = new Map();
  for (let round = 0; round < rounds; round++) {
    for (const [name, env, caseConfig = config, path = '/', headers = {}] of cases) {
      if (only && !only.includes(name)) continue;
      const r = await measureCase(`${name.replace(/[^a-z+]/g, '')}-${round}`, env, caseConfig, outDir, path, headers);
      if (!results.has(name)) results.set(name, []);
      results.get(name).push(r.perRequest);
      process.stdout.write(`${name} (round ${round + 1}): ${Math.round(r.perRequest)} instructions/request (${r.bad} non-200; idle afterwards ${Math.round(r.idlePerSecond)} instructions/s)\n`);
    }
  }
  const rows = [...results].map(([name, list]) => ({ name, mean: list.reduce((a, b) => a + b, 0) / list.length, min: Math.min(...list), max: Math.max(...list) }));
  const base = rows[0].mean;
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const table = [
    `| case | instructions per request (mean of ${rounds}) | range | ratio to "${rows[0].name}" |`,
    `| --- | ---: | ---: | ---: |`,
    ...rows.map((r) => `| ${r.name} | ${fmt(r.mean)} | ${fmt(r.min)} – ${fmt(r.max)} | ${(r.mean / base).toFixed(3)} |`),
  ].join('\n');
  process.stdout.write(`\n${table}\n`);
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results', `instructions-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.md`), `${table}\n`);
  rmSync(outDir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
