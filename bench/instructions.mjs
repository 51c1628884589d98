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
// Per stage: Node runs with `--perf-basic-prof --interpreted-frames-native-stack` (V8 names its
// JIT code in /tmp/perf-<pid>.map) and callgrind separates callers of V8's call builtins; each
// load dump is split over the request path's stages by bench/callgrind-stages.mjs (its
// function -> stage rules name the stage entry points of both layouts: main's stage files, and
// 8e4e825's Fastify handler). CHECKOUT=<dir> measures another checkout's build with this script
// (e.g. `git worktree add ../before 8e4e825`, npm ci, npm run build there). The per-stage table is
// printed and written to bench/results/ with the raw per-case numbers (JSON) and the top
// functions of each stage.
// With REDIS_URL set, one more case: key-auth + a Redis rate limit of two windows on the defaults
// (`limitedConfig` of configs.mjs). PORT_BASE / WAIT_TRIES: ports and start-up patience, so two
// runs (e.g. two checkouts) can share a slow machine.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { CATEGORIES, CATEGORY_LABELS, HUB_OPTIONS, stagesOf } from './callgrind-stages.mjs';
import { BENCH_KEY, limitedConfig, plainConfig } from './configs.mjs';

const here = fileURLToPath(new URL('..', import.meta.url));
// The checkout whose build is measured (default: this one).
const root = process.env.CHECKOUT ?? here;
// main's data plane has stage files; 8e4e825's is one Fastify handler (different function -> stage rules).
const layout = existsSync(join(root, 'apps/gateway/dist/stages/plan.js')) ? 'stages' : 'fastify';
const N = Number(process.env.REQUESTS ?? 3000);
const IDLE_MS = Number(process.env.IDLE_MS ?? 15_000);
// Uninstrumented warm-up requests: enough that V8 has optimized the hot path before the window
// (with 400, TurboFan still compiled inside it: ~25 % of the window's instructions).
const WARMUP = Number(process.env.WARMUP ?? 3000);
// KEEP=1 keeps the callgrind dumps and perf maps (in the printed directory) for callgrind_annotate.
const KEEP = process.env.KEEP === '1';
// After the warm-up, a pause before counting: under valgrind V8's background TurboFan jobs lag far
// behind (threads are serialized), and with no pause Node's HTTP functions were still being
// optimized inside the window (~55 % of its instructions were TurboFan's).
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 10_000);
// Extra Node flags (e.g. NODE_FLAGS=--no-turbo-inlining: every function keeps its own frame, so
// the per-stage split does not depend on what TurboFan inlined into what).
const NODE_FLAGS = (process.env.NODE_FLAGS ?? '').split(' ').filter((f) => f.length > 0);
// TurboFan compiles on the main thread when a function gets hot: the same code as the background
// jobs produce, but finished during the warm-up instead of queued behind valgrind's serialized
// threads into the measured window.
const V8_FLAGS = ['--perf-basic-prof', '--interpreted-frames-native-stack', '--no-concurrent-recompilation'];
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
async function measureCase(name, env, config, outDir, path = '/', headers = {}, peer = null) {
  const ports = { PROXY_PORT: port++, ADMIN_PORT: port++, STATUS_PORT: port++, PROXY_TLS_PORT: port++ };
  const data = mkdtempSync(join(tmpdir(), `tollgate-cg-${name}-`));
  // A peer (node-proxy-min) runs its own script with the peers harness's env (PORT, UPSTREAM_URL).
  const program = peer === null ? [join(root, 'apps/cli/dist/main.js'), 'start', 'all'] : [peer.script];
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', ...HUB_OPTIONS, `--callgrind-out-file=${join(outDir, `${name}.%p`)}`, process.execPath, ...V8_FLAGS, ...NODE_FLAGS, ...program],
    {
      env: { ...process.env, ...(peer === null ? {} : { PORT: String(ports.PROXY_PORT), UPSTREAM_URL: peer.upstream }), ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), TOLLGATE_DATA: data, ADMIN_TOKEN: TOKEN, PROXY_HOST: '127.0.0.1', STATUS_HOST: '127.0.0.1', NODE_ENV: 'production', MAX_EVENT_LOOP_DELAY_MS: '0', CONFIG_POLL_MS: '600000', NODE_HEARTBEAT_MS: '300000', USAGE_FLUSH_MS: '60000', WEBHOOK_POLL_MS: '60000', ...env },
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
  if (peer === null) {
    await waitFor(`${admin}/healthz`);
    const res = await fetch(`${admin}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: config });
    if (!res.ok) throw new Error(`apply failed: ${res.status} ${await res.text()}`);
  }
  await waitFor(`http://127.0.0.1:${ports.PROXY_PORT}/`);
  const ctl = (...args) => execFileSync('callgrind_control', [...args, String(child.pid)], { stdio: 'ignore' });
  await load(url, WARMUP, headers);
  await sleep(SETTLE_MS);
  ctl('-i', 'on');
  await load(url, 300, headers);
  const perfMap = `/tmp/perf-${child.pid}.map`;
  const mapLines = () => readFileSync(perfMap, 'utf8').split('\n').filter((l) => l.length > 0);
  ctl('-z');
  const before = mapLines().length;
  const run = await load(url, N, headers);
  ctl('-d', 'load');
  // Functions V8 optimized (TurboFan, `JS:*`) while the window ran: the JIT was not warm yet.
  const optimized = mapLines().slice(before).filter((l) => / JS:\*/.test(l)).map((l) => l.split(' ').slice(2).join(' '));
  ctl('-z');
  await sleep(IDLE_MS);
  ctl('-d', 'idle');
  stopping = true;
  child.kill('SIGKILL');
  const files = readdirSync(outDir).filter((f) => f.startsWith(`${name}.${child.pid}.`)).sort();
  const [loadIr, idleIr] = files.map((f) => totals(join(outDir, f)));
  rmSync(data, { recursive: true, force: true });
  let stages;
  try {
    stages = stagesOf(join(outDir, files[0]), perfMap, layout, N);
  } catch (err) {
    // The totals stand without the split; KEEP=1 keeps the files to split them again.
    console.error(`case ${name}: per-stage split failed: ${err.stack}`);
    stages = { perRequest: Object.fromEntries(CATEGORIES.map((c) => [c, Number.NaN])), total: Number.NaN, top: {} };
  }
  if (KEEP) process.stdout.write(`kept ${files.map((f) => join(outDir, f)).join(', ')} and ${perfMap}\n`);
  else {
    for (const f of files) rmSync(join(outDir, f), { force: true });
    rmSync(perfMap, { force: true });
  }
  const perRequest = loadIr / N;
  const idlePerSecond = idleIr / (IDLE_MS / 1000);
  // What the idle rate would put into each request of the window: timer work, not request work.
  return { name, perRequest, loadIr, idleIr, idlePerSecond, idlePerRequest: (idlePerSecond * run.ms) / 1000 / N, ms: run.ms, bad: run.bad, stages, optimized };
}

async function main() {
  const up = spawn(process.execPath, [join(here, 'bench/upstream.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
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
  // PEERS_DIR=../shared/bench/peers: one more case, node-proxy-min (node:http + undici dispatch()
  // with header hygiene only) under the same protocol: the floor a one-process Node proxy pays.
  if (process.env.PEERS_DIR) {
    const script = join(process.env.PEERS_DIR, 'servers/node-proxy-min.js');
    cases.push(['node-proxy-min (peers)', {}, null, '/', {}, { script, upstream: `http://127.0.0.1:${upPort}` }]);
  }
  const only = process.env.CASES?.split(',');
  const rounds = Number(process.env.ROUNDS ?? 2);
  // Cases alternate within each round, so a slow drift (JIT, GC heuristics) spreads over all of them.
  const results = new Map();
  for (let round = 0; round < rounds; round++) {
    for (const [name, env, caseConfig = config, path = '/', headers = {}, peer = null] of cases) {
      if (only && !only.includes(name)) continue;
      const r = await measureCase(`${name.replace(/[^a-z+]/g, '')}-${round}`, env, caseConfig ?? config, outDir, path, headers, peer);
      if (!results.has(name)) results.set(name, []);
      results.get(name).push(r);
      process.stdout.write(`${name} (round ${round + 1}): ${Math.round(r.perRequest)} instructions/request (${r.bad} non-200; ${r.ms} ms for ${N}; idle afterwards ${Math.round(r.idlePerSecond)} instructions/s, ~${Math.round(r.idlePerRequest)} per request of the window; ${r.optimized.length} functions optimized inside the window)\n`);
    }
  }
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const stat = (list) => ({ mean: list.reduce((a, b) => a + b, 0) / list.length, min: Math.min(...list), max: Math.max(...list) });
  const cell = (list) => {
    const { mean, min, max } = stat(list);
    return `${fmt(mean)} (${fmt(min)} – ${fmt(max)})`;
  };
  const rows = [...results].map(([name, list]) => ({ name, ...stat(list.map((r) => r.perRequest)) }));
  const base = rows[0].mean;
  const table = [
    `| case | instructions per request (mean of ${rounds}) | range | ratio to "${rows[0].name}" |`,
    `| --- | ---: | ---: | ---: |`,
    ...rows.map((r) => `| ${r.name} | ${fmt(r.mean)} | ${fmt(r.min)} – ${fmt(r.max)} | ${(r.mean / base).toFixed(3)} |`),
  ].join('\n');
  const names = [...results.keys()];
  const perStage = [
    `Per stage, instructions per request, mean of ${rounds} (range); ${basename(root)} (${layout} layout), ${N} requests per round:`,
    '',
    `| stage | ${names.join(' | ')} |`,
    `| --- | ${names.map(() => '---:').join(' | ')} |`,
    ...CATEGORIES.map((c) => `| ${CATEGORY_LABELS[c]} | ${names.map((n) => cell(results.get(n).map((r) => r.stages.perRequest[c]))).join(' | ')} |`),
    `| **total** | ${names.map((n) => cell(results.get(n).map((r) => r.perRequest))).join(' | ')} |`,
    `| idle rate afterwards (instructions/s) | ${names.map((n) => cell(results.get(n).map((r) => r.idlePerSecond))).join(' | ')} |`,
    `| idle rate x window / requests | ${names.map((n) => cell(results.get(n).map((r) => r.idlePerRequest))).join(' | ')} |`,
  ].join('\n');
  process.stdout.write(`\n${table}\n\n${perStage}\n`);
  const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, '');
  mkdirSync(join(here, 'bench/results'), { recursive: true });
  const base2 = join(here, 'bench/results', `instructions-${basename(root)}-${stamp}`);
  writeFileSync(`${base2}.md`, `${table}\n\n${perStage}\n`);
  // Raw numbers and the top functions of each stage per round, for reading where the instructions went.
  writeFileSync(`${base2}.json`, `${JSON.stringify({ checkout: root, layout, requests: N, cases: Object.fromEntries(results) }, null, 1)}\n`);
  if (!KEEP) rmSync(outDir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
