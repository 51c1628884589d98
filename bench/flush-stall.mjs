import { createPostgresStores } from '/work/wt/deltas/packages/stores/dist/index.js';
import { writeBatch } from '/work/wt/deltas/packages/metering/dist/rollups.js';
import pg from 'pg';
const name = 'tg_flushbench_' + process.pid;
const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' }); await admin.connect(); await admin.query(`CREATE DATABASE ${name}`);
const stores = await createPostgresStores({ url: `postgres://postgres@127.0.0.1:5432/${name}` });
const mk = (n, off) => Array.from({ length: n }, (_, i) => ({ hour: Date.UTC(2026, 0, 1), period: '2026-01', consumer: `c${off + i}`, subscription: '', plan: '', api: 'a', apiVersion: 'v1', route: 'r', statusClass: '2xx', source: 'upstream', billable: false, metric: 'requests', requests: 1, units: 1, quotaUnits: 0, bytesIn: 1, bytesOut: 1, latencyMsSum: 1, latencyHist: new Array(15).fill(0) }));
for (let round = 0; round < 8; round++) {
  let max = 0, last = performance.now();
  const iv = setInterval(() => { const n = performance.now(); max = Math.max(max, n - last - 1); last = n; }, 1);
  const t = performance.now();
  await writeBatch(stores.db, { nodeId: 'n', seq: round + 1, rows: mk(1000, (round % 2) * 1000), requests: 1000 });
  clearInterval(iv);
  console.log('round', round, 'total ms', (performance.now() - t).toFixed(1), 'worst timer lag ms', max.toFixed(1));
}
await stores.close(); await admin.query(`DROP DATABASE ${name}`); await admin.end();
