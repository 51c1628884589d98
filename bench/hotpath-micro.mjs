// `node bench/hotpath-micro.mjs [root]`: CPU time per call of the per-request pieces issue #16's
// hot-path items changed, measured in one process (no HTTP), from the built dist of `root`
// (default: this checkout), so two checkouts can be compared with the same script:
//   - metrics: GatewayMetrics.record of one proxied request (requests counter + 3 histograms + bytes);
//   - key-auth: the policy's access phase for one valid key (hash + index lookup + identity headers);
//   - access line: AccessLog.write of one proxied request's line into a pino logger on /dev/null
//     (synchronous destination: the sink's 64 KiB batches are written in the measured loop);
//   - metering: Accumulator.record of one request, the same row repeated and 100 consumers interleaved;
//   - limits: 4 consumes of one subject per loop turn on a Redis counter store (REDIS_URL), as
//     Lua calls per request and CPU time per request.
// CPU time (process.cpuUsage) rather than wall time: less sensitive to a loaded machine, not immune.
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(process.argv[2] ?? new URL('..', import.meta.url).pathname);
const load = (p) => import(pathToFileURL(join(root, p)).href);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

function cpuPerCall(n, fn) {
  const times = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) fn(i);
    const d = process.cpuUsage(t);
    times.push(((d.user + d.system) * 1000) / n); // ns per call
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const { GatewayMetrics } = await load('apps/gateway/dist/metrics.js');
const { RequestState } = await load('apps/gateway/dist/access-log.js');
const m = new GatewayMetrics({ processMetrics: false });
const state = Object.assign(new RequestState(), { api: 'bench', route: 'all', upstreamMs: 1.2, bytesIn: 0 });
const request = { raw: { method: 'GET', socket: { bytesWritten: 0 } } };
const reply = { statusCode: 200, elapsedTime: 2.5, getHeader: () => undefined };
cpuPerCall(50_000, () => m.record(request, reply, state));
const metricsNs = cpuPerCall(200_000, () => m.record(request, reply, state));

// The access line, as the account stage writes it (pino with its default epoch time and bindings).
const { openSync } = await import('node:fs');
const { createRequire } = await import('node:module');
const pino = createRequire(join(root, 'apps/gateway/package.json'))('pino');
const { AccessLog } = await load('apps/gateway/dist/access-log.js');
const accessLog = new AccessLog(pino({}, pino.destination({ fd: openSync('/dev/null', 'w'), sync: true })), { logQuery: false, sensitiveParams: [], apiVersions: { current: new Map([['bench', '1.0.0']]) } });
const lineState = Object.assign(new RequestState(), { api: 'bench', route: 'all', target: 'http://127.0.0.1:9999', path: '/x', host: 'localhost:8080', clientIp: '127.0.0.1', upstreamMs: 1.234, trace: { traceId: '0123456789abcdef0123456789abcdef' } });
const lineRequest = { id: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', raw: { method: 'GET', url: '/x', headers: {}, socket: { bytesWritten: 1234 } } };
const lineReply = { statusCode: 200, elapsedTime: 2.5 };
cpuPerCall(50_000, (i) => accessLog.write(lineRequest, lineReply, lineState, 200, 2.5 + (i % 100) / 7));
const accessLineNs = cpuPerCall(200_000, (i) => accessLog.write(lineRequest, lineReply, lineState, 200, 2.5 + (i % 100) / 7));

// Metering: one Accumulator.record (the event built by the caller is outside the measured call).
const { Accumulator } = await load('packages/metering/dist/accumulator.js');
const meterConsumers = Array.from({ length: 100 }, (_, i) => ({ consumer: `consumer-${i}`, subscription: { name: `sub-${i}`, plan: 'gold', planSpec: {} } }));
const meterEvents = (interleaved) =>
  Array.from({ length: 1000 }, (_, i) => ({ at: 1765000000000 + i, ...(interleaved ? meterConsumers[i % 100] : meterConsumers[0]), quotaCharge: null, api: 'bench', apiVersion: '1', route: 'all', status: 200, source: 'upstream', units: 1, metric: 'requests', bytesIn: 0, bytesOut: 100, latencyMs: 2.5 }));
const accumulator = new Accumulator();
const oneRow = meterEvents(false);
const manyRows = meterEvents(true);
cpuPerCall(100_000, (i) => accumulator.record(oneRow[i % 1000]));
const meterOneNs = cpuPerCall(500_000, (i) => accumulator.record(oneRow[i % 1000]));
cpuPerCall(100_000, (i) => accumulator.record(manyRows[i % 1000]));
const meterManyNs = cpuPerCall(500_000, (i) => accumulator.record(manyRows[i % 1000]));

const policies = await load('packages/policies/dist/index.js');
const KEY = 'tg_bench_key_0123456789abcdefghij';
const sha = createHash('sha256').update(KEY).digest('hex');
const consumer = { apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: 'bench' }, spec: { groups: [], keys: [], jwtSubjects: [] } };
const identity = { current: new policies.IdentityIndex([consumer], [{ id: 'key_1', consumer: 'bench', hash: sha }]) };
const keyAuth = policies.keyAuth.build(policies.keyAuthSchema.parse({}), { logger: { warn() {}, error() {} }, identity });
const ctx = () => new policies.RequestContext('r', '127.0.0.1', 'GET', '/', { apikey: KEY }, 'a', 'r', null);
const ctxNs = cpuPerCall(100_000, () => ctx());
cpuPerCall(20_000, () => keyAuth.access(ctx()));
const keyAuthNs = cpuPerCall(100_000, () => keyAuth.access(ctx())) - ctxNs;

let limits = 'limits: skipped (set REDIS_URL)';
if (process.env.REDIS_URL) {
  const { createRedisCounterStore } = await load('packages/stores/dist/index.js');
  const store = await createRedisCounterStore({ url: process.env.REDIS_URL, keyPrefix: `bench-micro-${process.pid}:` });
  const client = store.client;
  let calls = 0;
  const original = client.tollgateConsume;
  client.tollgateConsume = function (...args) {
    if (this === client) calls += 1;
    return original.apply(this, args);
  };
  const limiter = policies.createLimiter({ name: 'b', limits: [{ limit: 1e9, window: '1m' }, { limit: 1e9, window: '1h' }], cost: 1, failMode: 'closed' }, { logger: { warn() {}, error() {} }, counters: store });
  const turns = 2_000;
  for (let i = 0; i < 200; i++) await Promise.all([0, 1, 2, 3].map(() => limiter({}, 'rl:b:a:c:bench')));
  calls = 0;
  // Redis-side script time (INFO commandstats): meaningful when REDIS_URL is a Redis of its own.
  const scriptUsec = async () => {
    const info = await client.info('commandstats');
    let usec = 0;
    for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=\d+,usec=(\d+)/gm)) usec += Number(m[1]);
    return usec;
  };
  const usec0 = await scriptUsec();
  const t = process.cpuUsage();
  for (let i = 0; i < turns; i++) await Promise.all([0, 1, 2, 3].map(() => limiter({}, 'rl:b:a:c:bench')));
  const d = process.cpuUsage(t);
  const redisNs = ((await scriptUsec()) - usec0) * 1000 / (turns * 4);
  limits = `limits (4 consumes of one subject per loop turn, ${turns * 4} requests): ${(calls / (turns * 4)).toFixed(2)} Lua calls per request, ${Math.round(((d.user + d.system) * 1000) / (turns * 4))} ns gateway CPU per request, ${Math.round(redisNs)} ns of Redis script time per request`;
  await client.del(...(await client.keys(`bench-micro-${process.pid}:*`)));
  await store.close();
}

console.log(`root: ${root}`);
console.log(`metrics record: ${Math.round(metricsNs)} ns per request (median of ${ROUNDS})`);
console.log(`key-auth access: ${Math.round(keyAuthNs)} ns per request (median of ${ROUNDS}, context creation subtracted)`);
console.log(`access line: ${Math.round(accessLineNs)} ns per request (median of ${ROUNDS})`);
console.log(`metering record: ${Math.round(meterOneNs)} ns per request on a repeated row, ${Math.round(meterManyNs)} ns with 100 consumers interleaved (median of ${ROUNDS})`);
console.log(limits);
process.exit(0);
