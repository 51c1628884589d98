// `node bench/flush-stall.mjs` (after `npm run build`): how long one usage flush of 1,000 rollup
// rows (1,000 distinct consumers in one flush interval, e.g. 1,000 rotating keys) blocks the
// event loop it runs on, which in a gateway is the serving thread. A 1 ms interval timer runs
// during each `writeBatch` against a real Postgres; its worst lateness is the longest stall.
// ROOT=<checkout> measures another checkout's build (e.g. main, for "before" numbers).
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

const root = process.env.ROOT ?? fileURLToPath(new URL('..', import.meta.url));
const { createPostgresStores } = await import(pathToFileURL(join(root, 'packages/stores/dist/index.js')).href);
const { writeBatch } = await import(pathToFileURL(join(root, 'packages/metering/dist/rollups.js')).href);
const SERVER = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROWS = Number(process.env.ROWS ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 8);

const name = `tollgate_bench_flush_${process.pid}`;
const admin = new pg.Client({ connectionString: SERVER });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(SERVER);
url.pathname = `/${name}`;
const stores = await createPostgresStores({ url: url.toString() });
const rows = (offset) =>
  Array.from({ length: ROWS }, (_, i) => ({ hour: Date.UTC(2026, 0, 1), period: '2026-01', consumer: `c${offset + i}`, subscription: '', plan: '', api: 'a', apiVersion: 'v1', route: 'r', statusClass: '2xx', source: 'upstream', billable: false, metric: 'requests', requests: 1, units: 1, quotaUnits: 0, bytesIn: 1, bytesOut: 1, latencyMsSum: 1, latencyHist: new Array(15).fill(0) }));
const stalls = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    let worst = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last - 1);
      last = now;
    }, 1);
    const t = performance.now();
    // Alternating consumers: half the rounds insert new rows, half add to existing ones.
    await writeBatch(stores.db, { nodeId: 'bench', seq: round + 1, rows: rows((round % 2) * ROWS), requests: ROWS });
    clearInterval(timer);
    stalls.push(worst);
    console.log(`round ${round}: flush ${(performance.now() - t).toFixed(0)} ms, worst event-loop stall ${worst.toFixed(0)} ms`);
  }
} finally {
  await stores.close();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
const sorted = [...stalls].sort((a, b) => a - b);
console.log(`${ROWS} rows per flush: median worst stall ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms, max ${sorted.at(-1).toFixed(0)} ms`);
