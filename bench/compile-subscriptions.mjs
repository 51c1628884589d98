// `npm run bench:subscriptions`: compiling and installing many subscriptions (#16).
//
// Builds resources for N APIs (two routes each, subscription required) and M consumers, every
// consumer subscribed to ONE all-APIs plan (1 s and 1 h windows, a monthly quota), then:
// - compile: `compileConfig` from packages/compiler/dist (what the admin validator and every
//   gateway reload run);
// - install: the gateway's `instantiate` from apps/gateway/dist (policy instances per route);
// and prints the time of each and the heap / RSS after a full GC while the compiled config and
// the installed runtime are both alive (what a serving gateway holds).
//
// Sizes: 100 APIs x 10,000 consumers and 2,000 x 2,000 (SIZES=apis:consumers,... to change).
// Run with `node --expose-gc` (the npm script does); each size runs in a fresh process so the
// heap of one does not count in the next.
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const root = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;

if (process.argv[2] !== 'one') {
  const sizes = (process.env.SIZES ?? '100:10000,2000:2000').split(',');
  console.log('| APIs x consumers | subscriptions | compile s | install s | heap MiB | rss MiB |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const s of sizes) {
    const out = execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', fileURLToPath(import.meta.url), 'one', s], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    process.stdout.write(out);
  }
} else {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  const [apis, consumers] = (process.argv[3] ?? '100:10000').split(':').map(Number);
  const { validateDocuments } = await import(`${root}packages/model/dist/index.js`);
  const { compileConfig } = await import(`${root}packages/compiler/dist/index.js`);
  const { instantiate } = await import(`${root}apps/gateway/dist/runtime.js`);
  const { PoolRegistry } = await import(`${root}packages/upstream/dist/index.js`);

  const docs = [];
  const doc = (kind, name, spec) => docs.push({ index: docs.length, value: { apiVersion: 'tollgate.dev/v1', kind, metadata: { name }, spec } });
  doc('Upstream', 'bench', { targets: [{ url: 'http://127.0.0.1:9' }] });
  doc('Plan', 'gold', { limits: [{ limit: 10, window: '1s' }, { limit: 1000, window: '1h' }], quota: { limit: 100000, timeZone: 'Europe/Berlin', overage: 'allow' } });
  for (let i = 0; i < apis; i++) {
    doc('Api', `api-${i}`, {
      basePath: `/svc${i}`,
      subscriptionRequired: true,
      policies: [{ name: 'key-auth' }],
      routes: [
        { name: 'items', match: [{ path: { prefix: '/items' } }], destination: { upstream: 'bench' } },
        { name: 'orders', match: [{ path: { template: '/orders/{id}' } }], destination: { upstream: 'bench' } },
      ],
    });
  }
  for (let i = 0; i < consumers; i++) {
    doc('Consumer', `c-${i}`, {});
    doc('Subscription', `s-${i}`, { consumer: `c-${i}`, plan: 'gold', start: '2026-01-01T00:00:00Z' });
  }
  const v = validateDocuments(docs);
  if (!v.ok) throw new Error(JSON.stringify(v.issues.slice(0, 3)));
  const resources = v.resources;
  docs.length = 0;
  globalThis.gc();
  const baseHeap = process.memoryUsage().heapUsed;

  let t = process.hrtime.bigint();
  const compiled = compileConfig(resources, 1);
  const compileS = Number(process.hrtime.bigint() - t) / 1e9;
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues.slice(0, 3)));

  const pools = new PoolRegistry();
  const logger = { warn() {}, error() {}, info() {} };
  t = process.hrtime.bigint();
  const runtime = instantiate(compiled.config, pools, { logger });
  const installS = Number(process.hrtime.bigint() - t) / 1e9;

  globalThis.gc();
  const m = process.memoryUsage();
  const heap = (m.heapUsed - baseHeap) / MiB;
  console.log(`| ${apis} x ${consumers} | ${consumers} | ${compileS.toFixed(2)} | ${installS.toFixed(2)} | ${heap.toFixed(0)} (+${(baseHeap / MiB).toFixed(0)} resources) | ${(m.rss / MiB).toFixed(0)} |`);
  // Keep both alive until measured.
  if (runtime.routes === null || compiled.config === null) console.log('unreachable');
  await pools.closeAll?.();
  process.exit(0);
}
