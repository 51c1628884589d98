// `npm run bench:routing`: route table lookups per second with few and with many routes (#16),
// for the indexed table the gateway uses and for the linear table it replaced (kept as the
// test-only reference, packages/router/src/linear-route-table.ts), in one run.
//
// Tables are shaped like compiled APIs: each API is one group of two routes (a prefix route and
// a template route below its base path). Two layouts: "same host" (every API on one host, a base
// path each) and "many hosts" (an API per host). Sizes: 10 APIs (20 routes) and 10,000 APIs
// (20,000 routes). Requests: one matching the last API's last route (the worst case of a scan),
// and an unmatched one (a path no API has, on a host that has APIs). Each case runs ROUNDS rounds
// of MS milliseconds per table, alternating, after a warm-up round; medians are reported with
// the min–max spread, and the ratio is the median of the per-round ratios (20,000 / 20).
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

function check(table, req) {
  const first = table.lookup(req.host, req.path, 'GET');
  if (first.kind !== req.expect) throw new Error(`expected ${req.expect} for ${req.host}${req.path}, got ${first.kind}`);
}

/** Lookups per second of one round of MS milliseconds. */
function round(table, req) {
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 256; i++) table.lookup(req.host, req.path, 'GET');
    n += 256;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

/**
 * Rounds of the small and the large table alternate, so a noisy moment on the shared VM hits
 * both sides of a ratio; the ratio reported is the median of the per-round ratios.
 */
function compare(small, smallReq, large, largeReq) {
  check(small, smallReq);
  check(large, largeReq);
  const a = [];
  const b = [];
  const ratios = [];
  // Round -1 warms the JIT for both tables and is not counted.
  for (let r = -1; r < ROUNDS; r++) {
    const x = round(small, smallReq);
    const y = round(large, largeReq);
    if (r < 0) continue;
    a.push(x);
    b.push(y);
    ratios.push(y / x);
  }
  return { small: stats(a), large: stats(b), ratio: stats(ratios) };
}

function stats(xs) {
  const s = xs.slice().sort((p, q) => p - q);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

const fmt = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));
const spread = (s) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;

console.log(`node ${process.version}, ${ROUNDS} rounds × ${MS} ms per table and case; lookups/s median (min–max)\n`);
console.log('| table | layout | request | 20 routes | 20,000 routes | ratio 20,000 / 20 |');
console.log('| --- | --- | --- | ---: | ---: | ---: |');
const builds = [];
for (const [name, Table] of [
  ['indexed', RouteTable],
  ['linear (before)', LinearRouteTable],
]) {
  for (const layout of ['same-host', 'many-hosts']) {
    const small = new Table(entries(SMALL, layout));
    const largeEntries = entries(LARGE, layout);
    // Built twice: the first build runs cold code (JIT), the second is what a config reload costs.
    const ms = [];
    let large;
    for (let k = 0; k < 2; k++) {
      const t0 = process.hrtime.bigint();
      large = new Table(largeEntries);
      ms.push((Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0));
    }
    builds.push(`${name}, ${layout}: ${ms.join(' then ')} ms`);
    const smallReqs = requests(SMALL, layout);
    const largeReqs = requests(LARGE, layout);
    for (const which of Object.keys(smallReqs)) {
      const c = compare(small, smallReqs[which], large, largeReqs[which]);
      const ratio = (x) => x.toFixed(x < 0.01 ? 4 : 2);
      console.log(`| ${name} | ${layout} | ${which} | ${spread(c.small)} | ${spread(c.large)} | ${ratio(c.ratio.median)} (${ratio(c.ratio.min)}–${ratio(c.ratio.max)}) |`);
    }
  }
}
console.log(`\nbuild time of the 20,000-route table (first, then second build): ${builds.join('; ')}`);
