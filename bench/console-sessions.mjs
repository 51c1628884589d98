// `node bench/console-sessions.mjs` (after `npm run build`): what keeping console sessions in the
// database costs per console request. One admin per session store on the same database (embedded
// PGlite, then Postgres at TEST_DATABASE_URL): sessions in memory (before) and in
// `browser_sessions` (after). Each request is `GET /console/session` through `inject` (the session and its token are looked
// up, nothing else), REQUESTS in a row, in rounds alternating A B B A. Prints µs per request.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

const root = fileURLToPath(new URL('..', import.meta.url));
const { buildAdmin, compilerValidator, hashToken } = await import(pathToFileURL(join(root, 'apps/admin/dist/index.js')).href);
const { createPgliteStores, createPostgresStores, MemorySessionStore, SqlSessionStore } = await import(pathToFileURL(join(root, 'packages/stores/dist/index.js')).href);
const SERVER = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REQUESTS = Number(process.env.REQUESTS ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 4);

async function measure(label, stores) {
  const token = `tgadm_${randomBytes(16).toString('hex')}`;
  await stores.tokens.insert({ id: 'atk_bench', name: 'bench', role: 'admin', hash: hashToken(token) });
  const base = { config: stores.config, tokens: stores.tokens, apiKeys: stores.apiKeys, audit: stores.audit, validate: compilerValidator, authThrottle: { maxFailures: 1e9 } };
  const variants = {};
  for (const [name, sessionStore] of [['memory', new MemorySessionStore()], ['sql', new SqlSessionStore(stores.db, 'console')]]) {
    const app = await buildAdmin({ ...base, sessionStore });
    const res = await app.inject({ method: 'POST', url: '/console/session', headers: { 'content-type': 'application/json' }, payload: { token } });
    if (res.statusCode !== 201) throw new Error(`sign-in ${res.statusCode} ${res.body}`);
    variants[name] = { app, headers: { cookie: String(res.headers['set-cookie']).split(';')[0] } };
  }
  const run = async ({ app, headers }) => {
    const t = performance.now();
    for (let i = 0; i < REQUESTS; i++) {
      const res = await app.inject({ method: 'GET', url: '/console/session', headers });
      if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`);
    }
    return ((performance.now() - t) * 1000) / REQUESTS;
  };
  for (const v of Object.values(variants)) await run(v); // warm-up
  const samples = { memory: [], sql: [] };
  for (let r = 0; r < ROUNDS; r++) for (const name of r % 2 === 0 ? ['memory', 'sql'] : ['sql', 'memory']) samples[name].push(await run(variants[name]));
  for (const [name, xs] of Object.entries(samples)) {
    const sorted = [...xs].sort((a, b) => a - b);
    console.log(`${label}\t${name}\tmedian ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} µs\tmin ${sorted[0].toFixed(0)}\tmax ${sorted[sorted.length - 1].toFixed(0)}\t(${xs.map((x) => x.toFixed(0)).join(' ')})`);
  }
  for (const { app } of [variants.memory, variants.sql]) await app.close();
}

const embedded = await createPgliteStores();
try {
  await measure('pglite', embedded);
} finally {
  await embedded.close();
}

const name = `tollgate_bench_sessions_${process.pid}`;
const admin = new pg.Client({ connectionString: SERVER });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
try {
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  const stores = await createPostgresStores({ url: url.toString() });
  try {
    await measure('postgres', stores);
  } finally {
    await stores.close();
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
