// `npm run bench:startup`: first start, restart and idle memory of `npm start` on the embedded
// store (PGlite + in-process counters; no DATABASE_URL / REDIS_URL), as a new user meets them.
//
// The checkout is copied to a temporary directory first (tracked and untracked-but-not-ignored
// files, node_modules hard-linked), so the measured tree is a fresh clone after `npm install` and
// your own dist/ and .tollgate/ are not touched. Then, RUNS times (default 3):
//   first start: dist/, *.tsbuildinfo and the data dir removed; `npm start` until the status
//                listener answers /readyz 200 AND the admin API answers (its first request);
//   idle RSS:    SETTLE_MS after ready, the RSS of every process in the tree `npm start` spawned
//                (npm, sh, node, ...), summed from /proc;
//   SIGTERM:     to npm alone, as a process manager sends it; the tree must be gone;
//   CPU:         user+system time of the whole tree until ready (exited children included), which
//                a busy machine inflates less than wall time;
//   restart:     `npm start` again with the dist/ and the data dir of the first start, to ready.
//
// Usage: node bench/startup.mjs [--from <checkout>] [--runs N] [--settle-ms MS] [--keep]
// Linux only (reads /proc). Prints one line per run and a summary table (min / median / max).
import { spawn, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    from: { type: 'string', default: fileURLToPath(new URL('..', import.meta.url)) },
    runs: { type: 'string', default: '3' },
    'settle-ms': { type: 'string', default: '5000' },
    keep: { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const SETTLE_MS = Number(args['settle-ms']);
const READY_TIMEOUT_MS = 300_000;
const PAGE_KIB = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' })) / 1024;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** A fresh-clone-like copy of `from`: its files as git lists them, node_modules hard-linked. */
function copyCheckout(from) {
  const to = mkdtempSync(join(tmpdir(), 'tollgate-startup-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: from, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(from, f)));
  for (const f of files) {
    mkdirSync(dirname(join(to, f)), { recursive: true });
    cpSync(join(from, f), join(to, f));
  }
  // Every node_modules npm made (root and per workspace); `cp -al` keeps the relative workspace
  // symlinks pointing inside the copy, at the cost of no disk.
  const modules = ['node_modules', ...['apps', 'packages'].flatMap((d) => readdirSync(join(from, d)).map((w) => join(d, w, 'node_modules')))];
  for (const m of modules) if (existsSync(join(from, m))) execFileSync('cp', ['-al', join(from, m), join(to, m)]);
  return to;
}

/** Build outputs of a checkout: what a fresh clone lacks. */
function removeBuild(dir) {
  for (const base of ['apps', 'packages'])
    for (const w of readdirSync(join(dir, base))) {
      rmSync(join(dir, base, w, 'dist'), { recursive: true, force: true });
      for (const f of readdirSync(join(dir, base, w))) if (f.endsWith('.tsbuildinfo')) rmSync(join(dir, base, w, f), { force: true });
    }
  for (const f of readdirSync(dir)) if (f.endsWith('.tsbuildinfo')) rmSync(join(dir, f), { force: true });
}

async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** pid -> [ppid, rss KiB] of every process now, from /proc. */
function processTable() {
  const table = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the parenthesised command name (which may contain spaces).
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, cutime, cstime (fields 14-17): the CPU of the process and of its waited-for
      // children (tsc, npm run build), in clock ticks.
      const cpuTicks = Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]);
      table.set(Number(name), { ppid: Number(rest[1]), rssKiB: Number(rest[21]) * PAGE_KIB, cpuTicks });
    } catch {
      // the process ended while we read
    }
  }
  return table;
}

/** The pids of `root` and all its descendants. */
function tree(root, table = processTable()) {
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, p] of table) if (p.ppid === out[i]) out.push(pid);
  return out.filter((pid) => table.has(pid));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const answers = (url) => fetch(url, { signal: AbortSignal.timeout(2_000) }).then((r) => r, () => null);

/** One `npm start` in `dir`: ms to ready, summed tree RSS after SETTLE_MS (MiB), then SIGTERM. */
async function oneStart(dir, dataDir, measureRss) {
  const [proxy, tls, admin, status] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    TOLLGATE_DATA: dataDir,
    PROXY_PORT: String(proxy),
    PROXY_TLS_PORT: String(tls),
    ADMIN_PORT: String(admin),
    STATUS_PORT: String(status),
    PROXY_HOST: '127.0.0.1',
    STATUS_HOST: '127.0.0.1',
    LOG_FORMAT: 'json',
  };
  const began = performance.now();
  const npm = spawn('npm', ['start', '--silent'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  npm.stdout.on('data', (d) => (out += d));
  npm.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => npm.once('exit', r));
  let failed = false;
  npm.once('exit', () => (failed = true));
  try {
    for (;;) {
      if (failed) throw new Error(`npm start exited before ready:\n${out}`);
      if (performance.now() - began > READY_TIMEOUT_MS) throw new Error(`not ready after ${READY_TIMEOUT_MS} ms:\n${out}`);
      const ready = await answers(`http://127.0.0.1:${status}/readyz`);
      if (ready?.ok && (await answers(`http://127.0.0.1:${admin}/healthz`)) !== null) break;
      await sleep(50);
    }
    const readyMs = performance.now() - began;
    // CPU spent by the whole tree until ready: less sensitive than wall time to a busy machine.
    const atReady = processTable();
    const cpuS = tree(npm.pid, atReady).reduce((sum, pid) => sum + atReady.get(pid).cpuTicks, 0) / CLK_TCK;
    let rssMiB;
    let processes;
    if (measureRss) {
      await sleep(SETTLE_MS);
      const table = processTable();
      const pids = tree(npm.pid, table);
      processes = pids.length;
      rssMiB = pids.reduce((sum, pid) => sum + table.get(pid).rssKiB, 0) / 1024;
    }
    const pids = tree(npm.pid);
    npm.kill('SIGTERM');
    const stopBegan = performance.now();
    await exited;
    // The whole tree must stop with npm (issue 17): wait for every process it had.
    while (pids.some((pid) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '))) {
      if (performance.now() - stopBegan > 30_000) throw new Error(`processes left after SIGTERM: ${pids.join(' ')}`);
      await sleep(50);
    }
    return { readyMs, cpuS, rssMiB, processes, stopMs: performance.now() - stopBegan };
  } finally {
    try {
      process.kill(-npm.pid, 'SIGKILL');
    } catch {
      // the group is gone, as it should be
    }
  }
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};

const from = resolve(args.from);
const dir = copyCheckout(from);
console.error(`# copy of ${from} in ${dir}; node ${process.version}; ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${RUNS} runs`);
const rows = [];
try {
  for (let run = 1; run <= RUNS; run++) {
    removeBuild(dir);
    const dataDir = join(dir, '.tollgate-bench');
    rmSync(dataDir, { recursive: true, force: true });
    const first = await oneStart(dir, dataDir, true);
    const again = await oneStart(dir, dataDir, true);
    const row = { first: first.readyMs / 1000, restart: again.readyMs / 1000, firstCpu: first.cpuS, restartCpu: again.cpuS, rssFirst: first.rssMiB, rssRestart: again.rssMiB, processes: again.processes, stop: again.stopMs / 1000 };
    rows.push(row);
    console.log(`run ${run}: first start ${row.first.toFixed(1)} s (${row.firstCpu.toFixed(1)} s CPU), restart ${row.restart.toFixed(1)} s (${row.restartCpu.toFixed(1)} s CPU), load ${loadavg()[0].toFixed(1)}, idle RSS ${row.rssFirst.toFixed(0)} MiB after first / ${row.rssRestart.toFixed(0)} MiB after restart (${row.processes} processes), SIGTERM to gone ${row.stop.toFixed(1)} s`);
  }
} finally {
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
const line = (name, key, unit, digits) => {
  const s = stats(rows.map((r) => r[key]));
  return `| ${name} | ${s.min.toFixed(digits)} | ${s.median.toFixed(digits)} | ${s.max.toFixed(digits)} | ${unit} |`;
};
console.log('\n| measure | min | median | max | unit |\n| --- | ---: | ---: | ---: | --- |');
console.log(line('first start (no dist, no data) to ready', 'first', 's', 1));
console.log(line('first start: CPU of the tree until ready', 'firstCpu', 's', 1));
console.log(line('restart (dist and data kept) to ready', 'restart', 's', 1));
console.log(line('restart: CPU of the tree until ready', 'restartCpu', 's', 1));
console.log(line('idle RSS of the tree after first start', 'rssFirst', 'MiB', 0));
console.log(line('idle RSS of the tree after restart', 'rssRestart', 'MiB', 0));
console.log(line('SIGTERM to npm until the tree is gone', 'stop', 's', 1));
