// `node bench/event-retention.mjs` (after `npm run build`): how long one batch of the event
// retention holds the database (and, on embedded PGlite, the event loop) on a backlog (#16).
//
// For each store (a fresh Postgres database on TEST_DATABASE_URL's server, dropped afterwards;
// PGlite in memory): writes EVENTS events 40 days old, each with DELIVERIES settled deliveries,
// plus one recent event every 10 (kept), then runs `pruneEvents` with BATCH and reports the
// duration of each batch statement (median, p90, max), this process's CPU time per batch (median,
// max: on PGlite the statement runs in process, so that is what it holds the event loop for,
// without the time the process waits for a CPU on a loaded machine), the round's total and the
// events deleted.
// With NO_SEQ_INDEX=1 the webhook_deliveries(event_seq) index is dropped first: what the cascade
// costs without it.
//
// Env: MODES=postgres,pglite  EVENTS=50000  DELIVERIES=2  BATCH=1000  NO_SEQ_INDEX=1
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { migratePglite, migratePostgres, openPglite, openPostgres, pruneEventBatch } from '../packages/db/dist/index.js';

const MODES = (process.env.MODES ?? 'postgres,pglite').split(',');
const EVENTS = Number(process.env.EVENTS ?? 50_000);
const DELIVERIES = Number(process.env.DELIVERIES ?? 2);
const BATCH = Number(process.env.BATCH ?? 1_000);
const NO_SEQ_INDEX = process.env.NO_SEQ_INDEX === '1';
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function fill(db) {
  // Set-based inserts: the backlog is there in seconds, not the point of the measurement.
  await db.execute(sql`
    INSERT INTO events (id, type, data, occurred_at, fanned_out_at)
    SELECT 'evt_b' || g, 'api_key.created', '{"keyId":"k","consumer":"c","prefix":"tg_","last4":"abcd"}'::jsonb,
           CASE WHEN g % 10 = 0 THEN now() ELSE now() - interval '40 days' END, now()
    FROM generate_series(1, ${EVENTS}) g`);
  await db.execute(sql`
    INSERT INTO webhook_deliveries (id, webhook, event_seq, status, delivered_at)
    SELECT 'msg_b' || e.seq || '_' || h, 'hook' || h, e.seq, 'delivered', now()
    FROM events e CROSS JOIN generate_series(1, ${DELIVERIES}) h`);
  if (NO_SEQ_INDEX) await db.execute(sql`DROP INDEX webhook_deliveries_event_seq_idx`);
  await db.execute(sql`ANALYZE`);
}

const q = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];

async function measure(name, db) {
  await fill(db);
  const times = [];
  const cpus = [];
  let deleted = 0;
  const t0 = performance.now();
  for (;;) {
    const t = performance.now();
    const c = process.cpuUsage();
    const n = await pruneEventBatch(db, 30 * 86_400_000, BATCH);
    times.push(performance.now() - t);
    const u = process.cpuUsage(c);
    cpus.push((u.user + u.system) / 1000);
    deleted += n ?? 0;
    if (!n || n < BATCH) break;
    await new Promise((r) => setImmediate(r));
  }
  const total = performance.now() - t0;
  const sorted = [...times].sort((a, b) => a - b);
  const cpu = [...cpus].sort((a, b) => a - b);
  console.log(`| ${name} | ${EVENTS} × ${DELIVERIES} | ${BATCH} | ${NO_SEQ_INDEX ? 'dropped' : 'yes'} | ${times.length} | ${q(sorted, 0.5).toFixed(1)} | ${q(sorted, 0.9).toFixed(1)} | ${sorted.at(-1).toFixed(1)} | ${q(cpu, 0.5).toFixed(1)} | ${cpu.at(-1).toFixed(1)} | ${(total / 1000).toFixed(2)} | ${deleted} |`);
}

console.log('| store | events × deliveries | batch | event_seq index | statements | median ms | p90 ms | max ms | CPU median ms | CPU max ms | round s | deleted |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const mode of MODES) {
  if (mode === 'pglite') {
    const h = await openPglite();
    try {
      await migratePglite(h.db);
      await measure('PGlite', h.db);
    } finally {
      await h.close();
    }
  } else {
    const name = `tollgate_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    const h = openPostgres(url.toString());
    try {
      await migratePostgres(url.toString());
      await measure('Postgres', h.db);
    } finally {
      await h.close();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  }
}
