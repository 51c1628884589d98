// `npm run bench:routing`: route table lookups per second with few and with many routes (#16),
// for the indexed table the gateway uses and for the linear table it replaced (kept as the
// test-only reference, packages/router/src/linear-route-table.ts), in one run.
//
// Tables are shaped like compiled APIs: each API is one group of two routes (a prefix route and
// a template route below its base path). Two layouts: "same host" (every API on one host, a base
// path each) and "many hosts" (an API per host). Sizes: 10 APIs (20 routes) and 10,000 APIs
// (20,000 routes). Requests: one matching the last API's last route (the worst case of a scan),
// and an unmatched one (a path no API has, on a host that has APIs). Each case runs ROUNDS rounds
// of MS milliseconds after a warm-up round; the median is reported with the min–max spread.
//
// Pure CPU in one process: run it on an otherwise quiet machine and compare within one run.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { RouteTable } = await import(`${root}packages/router/dist/index.js`);
const { LinearRouteTable } = await import(`${root}packages/router/dist/linear-route-table.js`);

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const MS = Number(process.env.MS ?? 300);
const SMALL = 10;
const LARGE = 10_000;

/** Entries of `apis` APIs, two routes each, in the layout given. */
function entries(apis, layout) {
  const out = [];
  for (let i = 0; i < apis; i++) {
    const hosts = layout === 'same-host' ? ['api.example.com'] : [`api${i}.example.com`];
    const base = layout === 'same-host' ? `/svc${i}` : '';
    const group = `api${i}`;
    out.push({ hosts, path: { kind: 'prefix', value: `${base}/items` }, methods: ['GET'], group, value: `${group}/items` });
    out.push({ hosts, path: { kind: 'template', base, value: '/orders/{id}' }, methods: ['GET', 'POST'], group, value: `${group}/orders` });
  }
  return out;
}

/** The request matching the last route, and an unmatched one, for a table of `apis` APIs. */
function requests(apis, layout) {
  const last = apis - 1;
  const host = layout === 'same-host' ? 'api.example.com' : `api${last}.example.com`;
  const base = layout === 'same-host' ? `/svc${last}` : '';
  return {
    'last route': { host, path: `${base}/orders/42`, expect: 'match' },
    unmatched: { host, path: '/nothing/here', expect: 'not_found' },
  };
}

function lookupsPerSecond(table, req) {
  const first = table.lookup(req.host, req.path, 'GET');
  if (first.kind !== req.expect) throw new Error(`expected ${req.expect} for ${req.host}${req.path}, got ${first.kind}`);
  const results = [];
  // Round 0 warms the JIT for this table and request and is not counted.
  for (let r = -1; r < ROUNDS; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(MS) * 1_000_000n;
    let now = start;
    while (now < deadline) {
      for (let i = 0; i < 256; i++) table.lookup(req.host, req.path, 'GET');
      n += 256;
      now = process.hrtime.bigint();
    }
    if (r >= 0) results.push(n / (Number(now - start) / 1e9));
  }
  results.sort((a, b) => a - b);
  return { median: results[Math.floor(results.length / 2)], min: results[0], max: results[results.length - 1] };
}

const fmt = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));
const spread = (s) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;

console.log(`node ${process.version}, ${ROUNDS} rounds × ${MS} ms per case; lookups/s median (min–max)\n`);
console.log('| table | layout | request | 20 routes | 20,000 routes | ratio |');
console.log('| --- | --- | --- | ---: | ---: | ---: |');
const builds = [];
for (const [name, Table] of [
  ['indexed', RouteTable],
  ['linear (before)', LinearRouteTable],
]) {
  for (const layout of ['same-host', 'many-hosts']) {
    const small = new Table(entries(SMALL, layout));
    const largeEntries = entries(LARGE, layout);
    const t0 = process.hrtime.bigint();
    const large = new Table(largeEntries);
    builds.push(`${name}, ${layout}: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`);
    const smallReqs = requests(SMALL, layout);
    const largeReqs = requests(LARGE, layout);
    for (const which of Object.keys(smallReqs)) {
      const a = lookupsPerSecond(small, smallReqs[which]);
      const b = lookupsPerSecond(large, largeReqs[which]);
      console.log(`| ${name} | ${layout} | ${which} | ${spread(a)} | ${spread(b)} | ${(b.median / a.median).toFixed(2)} |`);
    }
  }
}
console.log(`\nbuild time of the 20,000-route table: ${builds.join('; ')}`);
