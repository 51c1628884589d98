// Attributes a callgrind profile of the gateway to the request path's stages
// (docs/architecture.md, apps/gateway/src/stages/plan.ts), for `npm run bench:instructions`.
//
// Callgrind cannot name JIT-compiled JavaScript: it calls such code by its address. Node is run
// with `--perf-basic-prof --interpreted-frames-native-stack`, so V8 writes /tmp/perf-<pid>.map
// (address, size, name and source location of every code object, interpreted functions included)
// and those addresses are named here. (`--perf-basic-prof` also stops V8 from compacting code
// space, so an address keeps naming one function.)
//
// Attribution: every function's self cost is split over the stages by the context it ran in,
// propagated top-down through the call graph in proportion to the callers' inclusive call costs
// (callgrind's edge costs are exact per caller/callee pair; only a function shared by several
// stages is split proportionally, as gprof does). A function a rule names sets the context for
// everything below it:
// - strong rules (our stage entry points, GC) override any context, so a stage called from
//   inside another (the streamed answer written from undici's callbacks inside the exchange) is
//   its own;
// - weak rules (undici, Node's HTTP server / net / streams, the logger's writer) only name work
//   that runs outside a stage: undici's socket callbacks are the exchange's, Node's HTTP server
//   parsing and writing that no stage asked for is "Node outside our code". A weak rule of a
//   higher level overrides a lower one (undici's callbacks under Node's socket read are the
//   exchange's, Node's socket write under undici stays the exchange's).
// V8's call builtins are hubs every JavaScript call goes through; the script runs callgrind with
// `--separate-callers3` on them, so a callee's context is its real caller's, not a mix of all.
import { readFileSync } from 'node:fs';

/** Categories of the per-stage table, in print order. */
export const CATEGORIES = ['resolve', 'access', 'prepare', 'exchange', 'respond', 'account', 'listener', 'fastify', 'node', 'gc', 'jit', 'background', 'other'];

export const CATEGORY_LABELS = {
  resolve: 'resolve (host, path, route lookup)',
  access: 'access (policies: key-auth, rate limit, ...)',
  prepare: 'prepare (upstream head)',
  exchange: 'exchange (Exchange + undici, incl. its socket reads/writes)',
  respond: 'respond / write (response head + body to the client)',
  account: 'account (meter + metrics + access log)',
  listener: 'listener glue (proxy.ts request handler, reply)',
  fastify: 'Fastify (router, hooks, reply) outside the above',
  node: 'Node HTTP server, net, streams outside our code',
  gc: 'GC (V8 heap)',
  background: 'timer-driven background (store probe, usage flush, config poll, heartbeat)',
  jit: 'V8 compilers (TurboFan, Sparkplug, parser; background threads too)',
  other: 'other (event loop, timers, microtask runner, unattributed)',
};

const STRONG = 3;
/** Callgrind option values: the V8 builtins every JS call or construct goes through. */
export const HUB_OPTIONS = ['--separate-callers3=Builtins_Call*', '--separate-callers3=Builtins_Construct*', '--separate-callers3=Builtins_InterpreterEntryTrampoline', '--separate-callers3=Builtins_JSEntry*'];

const GC = /^v8::internal::(Heap|Scavenger|ScavengerCollector|MarkCompactCollector|MinorMarkCompactCollector|ConcurrentMarking|Sweeper|IncrementalMarking|MarkingVisitor|MainMarkingVisitor|GCTracer|MemoryAllocator|PagedSpace|ArrayBufferSweeper|LocalHeap::CollectGarbage|EvacuateVisitor|Evacuator|FullEvacuator|RememberedSet|StoreBuffer|PointersUpdatingVisitor|MarkingWorklists|ScavengeJob|IncrementalMarkingJob|HeapObjectsFilter|GlobalHandles)/;

/** Matches a perf-map JS name (`JS:*name file:///…/file.js:line:col`) by file suffix and optional function name. */
function js(file, fn = null) {
  return (n) => {
    const m = /^JS:[*~^+-]?(\S*) (?:file:\/\/)?(\S+):\d+:\d+$/.exec(n);
    return m !== null && m[2].endsWith(file) && (fn === null || fn.test(m[1]));
  };
}

const any =
  (...tests) =>
  (n) =>
    tests.some((t) => t(n));
const under = (re) => (n) => re.test(n);

const JIT = /^(v8::internal::(compiler::|maglev::|baseline::|Compiler::|OptimizingCompileDispatcher|OptimizedCompilationJob|TurbofanCompilationJob|Parser|ParserBase|PreParser|Scanner|BytecodeGenerator|interpreter::|Zone|AccountingAllocator|CodeGenerator|Assembler|MacroAssembler|AstValueFactory|Deoptimizer|SourcePositionTableBuilder|wasm::)|Builtins_(CompileLazy|InstantiateAsmJs|CompileOptimized|BaselineOnStackReplacement|InterpreterOnStackReplacement))/;

/**
 * Rules for one checkout: `[category, level, test(name)]`, first match wins. `name` is the V8
 * perf-map name (`JS:*handle file:///…/proxy.js:188:3`, `Builtin:…`) or the C++ symbol. Helpers
 * shared by several stages (headers.js, header-ops.js, the policy context) have no rule: they
 * count where they are called from. `stages` is main (stage files of apps/gateway/src/stages);
 * `fastify` is 8e4e825 (one Fastify handler, `handle` in proxy.js, runs resolve to respond inline;
 * what it calls names the stage, its own body is "listener glue").
 */
export function rulesFor(layout) {
  const gc = ['gc', STRONG, (n) => GC.test(n)];
  const jit = ['jit', STRONG, (n) => JIT.test(n)];
  // Per-request accounting only: the usage flush (timer-driven, one batch per interval) is not a stage.
  const metering = any(js('packages/metering/dist/flusher.js', /^record$/), js('packages/metering/dist/accumulator.js'), js('packages/metering/dist/condition-detectors.js', /^record$/));
  // The Redis limit: the counter store (its per-turn batch runs outside the access call) and the Redis client's reply path.
  // Timer work, whatever the request rate: strong, so the Redis client under the store probe is not the access stage's.
  const timers = any(js('packages/stores/dist/redis-counter-store.js', /^ping$/), js('apps/gateway/dist/gateway.js', /^probeStores$/), under(/apps\/admin\/dist\/webhooks\/dispatcher\.js|apps\/gateway\/dist\/(config-manager|change-feed|node-heartbeat|health-checker|token-signer|certificate-expiry)\.js|packages\/metering\/dist\/(flusher|rollups|live-counters|quota-events|quota-reseed)\.js|packages\/billing\/dist\/scheduler\.js/));
  const background = ['background', STRONG, (n) => timers(n) && !metering(n)];
  const limitStore = under(/packages\/stores\/dist\/(consume-batcher|redis-counter-store|memory-counter-store)\.js/);
  const weak = [
    ['account', 2, under(/node_modules\/(sonic-boom|pino|thread-stream)\//)],
    ['exchange', 2, (n) => /node_modules\/undici\//.test(n) || /^(Builtin:)?Wasm|wasm-function|^JS:.*wasm:/.test(n)],
    ['access', 2, under(/node_modules\/(ioredis|redis-parser|denque|cluster-key-slot|@ioredis)\//)],
    ['node', 1, (n) => /node:(_http_|net:|stream:|internal\/streams\/|internal\/stream_base_commons|internal\/http)/.test(n) || /^(node::(http_parser|.*Parser|StreamBase|LibuvStreamWrap|TCPWrap|StreamReq|WriteWrap|ShutdownWrap|ConnectionsList)|llhttp_)/.test(n)],
  ];
  if (layout === 'stages') {
    return [
      gc,
      jit,
      background,
      // The router package (host parsing, target split, lookup) is resolve's wherever the listener calls it.
      ['resolve', STRONG, any(js('apps/gateway/dist/stages/resolve.js'), js('apps/gateway/dist/request-host.js'), under(/packages\/router\/dist\//))],
      ['access', STRONG, any(js('apps/gateway/dist/stages/access.js'), js('packages/policies/dist/runner.js', /^(runAccess|authGate)$/), limitStore)],
      ['prepare', STRONG, any(js('apps/gateway/dist/stages/prepare.js'), js('apps/gateway/dist/stages/forward-http.js', /^(prepareRequest|prepare)$/))],
      // The streamed answer's sink (head with the first byte, body chunks, end) is the respond stage inside the exchange.
      ['respond', STRONG, any(js('apps/gateway/dist/stages/forward-dispatch.js', /^(start|data|end|bodyFailed|failed|onResume|#writeHead|StreamedAnswer)$/), js('apps/gateway/dist/stages/respond.js'), js('apps/gateway/dist/reply.js'), js('packages/policies/dist/runner.js', /^runResponse$/))],
      ['exchange', STRONG, any(js('apps/gateway/dist/stages/forward-dispatch.js'), js('apps/gateway/dist/stages/forward-http.js'), under(/packages\/upstream\/dist\//))],
      ['account', STRONG, any(js('apps/gateway/dist/stages/account.js'), under(/apps\/gateway\/dist\/(metrics|metric-accumulators|access-log)\.js/), metering)],
      ['listener', STRONG, js('apps/gateway/dist/proxy.js')],
      ...weak,
    ];
  }
  return [
    gc,
    jit,
    background,
    ['resolve', STRONG, any(under(/packages\/router\/dist\//), js('apps/gateway/dist/proxy.js', /^(splitTarget|normalizeHost)$/))],
    ['access', STRONG, any(js('packages/policies/dist/runner.js', /^(runAccess|authGate)$/), limitStore)],
    ['prepare', STRONG, any(js('apps/gateway/dist/headers.js', /^(upstreamRequestHeaders|setForwardedHeaders)$/), js('apps/gateway/dist/tracing.js', /^injectTrace$/), js('apps/gateway/dist/route-actions.js', /^upstreamPathFor$/))],
    ['account', STRONG, any(js('apps/gateway/dist/proxy.js', /^meterRequest$/), under(/apps\/gateway\/dist\/(metrics|access-log)\.js|node_modules\/prom-client\//), metering)],
    ['exchange', STRONG, any(under(/packages\/upstream\/dist\/|apps\/gateway\/dist\/(retry|mirror)\.js/))],
    // Fastify's reply (send, headers, the stream pipe of the upstream body) is the respond stage.
    ['respond', STRONG, any(js('apps/gateway/dist/headers.js', /^clientResponseHeaders$/), under(/node_modules\/fastify\/lib\/(reply|wrap-thenable)\.js/), js('packages/policies/dist/runner.js', /^runResponse$/))],
    ['listener', STRONG, js('apps/gateway/dist/proxy.js')],
    // The router, hook runner, request/reply objects: Fastify's own per-request work.
    ['fastify', STRONG, under(/node_modules\/(fastify|find-my-way|avvio|@fastify|fast-json-stringify|abstract-logging|fast-querystring)\//)],
    ...weak,
  ];
}

/** Reads /tmp/perf-<pid>.map into a lookup from an address to the name of the code there. */
export function loadPerfMap(file) {
  const rows = [];
  let line = 0;
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    const sp1 = l.indexOf(' ');
    const sp2 = l.indexOf(' ', sp1 + 1);
    if (sp1 < 0 || sp2 < 0) continue;
    rows.push({ start: parseInt(l.slice(0, sp1), 16), end: parseInt(l.slice(0, sp1), 16) + parseInt(l.slice(sp1 + 1, sp2), 16), name: l.slice(sp2 + 1), line: line++ });
  }
  rows.sort((a, b) => a.start - b.start);
  const starts = rows.map((r) => r.start);
  return (addr) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    // The latest entry containing the address wins (V8 may reuse freed code space).
    let best = null;
    for (let i = hi; i >= 0 && i > hi - 64; i--) {
      const r = rows[i];
      if (r.start <= addr && addr < r.end && (best === null || r.line > best.line)) best = r;
    }
    return best?.name ?? null;
  };
}

/**
 * Parses a callgrind output file (one event, Ir): self cost per function and inclusive cost per
 * caller -> callee edge, with functions merged by resolved name (a JS function has one address
 * per tier; callgrind's `'N` recursion and `'caller` context suffixes are kept apart so the
 * contexts stay separate, and only the first segment is named).
 */
export function parseCallgrind(file, nameOf) {
  const text = readFileSync(file, 'utf8');
  const fnNames = new Map();
  const self = new Map();
  const edges = new Map();
  let total = 0;
  let current = null;
  let callee = null;
  let pendingCall = false;
  const resolve = (raw) => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(raw);
    if (m === null) return raw;
    if (m[2] !== undefined) fnNames.set(m[1], m[2]);
    return fnNames.get(m[1]) ?? raw;
  };
  for (const l of text.split('\n')) {
    if (l.length === 0) continue;
    const c = l.charCodeAt(0);
    if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42) {
      const parts = l.split(' ');
      const ir = parts.length > 1 ? Number(parts[1]) : 0;
      if (pendingCall) {
        const key = `${current}\u0000${callee}`;
        edges.set(key, (edges.get(key) ?? 0) + ir);
        pendingCall = false;
      } else if (current !== null) {
        self.set(current, (self.get(current) ?? 0) + ir);
        total += ir;
      }
      continue;
    }
    if (l.startsWith('fn=')) current = resolve(l.slice(3));
    else if (l.startsWith('cfn=')) callee = resolve(l.slice(4));
    else if (l.startsWith('calls=')) pendingCall = true;
  }
  const rename = new Map();
  const named = (raw) => {
    let n = rename.get(raw);
    if (n !== undefined) return n;
    // `f'2` is a recursion level, `f'g'h` a caller context: name the first segment, keep the rest.
    const q = raw.indexOf("'");
    const head = q < 0 ? raw : raw.slice(0, q);
    const tail = q < 0 ? '' : raw.slice(q).replace(/'\d+(?='|$)/g, '');
    const tailNamed = tail.split("'").map((s) => (/^0x[0-9a-f]+$/.test(s) ? (nameOf(parseInt(s, 16)) ?? s) : s)).join("'");
    const h = /^0x[0-9a-f]+$/.test(head) ? (nameOf(parseInt(head, 16)) ?? 'JIT code (unnamed)') : head;
    n = { full: `${h}${tailNamed}`, head: h };
    rename.set(raw, n);
    return n;
  };
  const fns = new Map();
  const node = (raw) => {
    const { full, head } = named(raw);
    let f = fns.get(full);
    if (f === undefined) {
      f = { name: full, head, self: 0, callers: new Map(), ctx: null };
      fns.set(full, f);
    }
    return f;
  };
  for (const [raw, ir] of self) node(raw).self += ir;
  for (const [key, ir] of edges) {
    const [a, b] = key.split('\u0000');
    const fa = node(a);
    const fb = node(b);
    if (fa === fb) continue;
    fb.callers.set(fa, (fb.callers.get(fa) ?? 0) + ir);
  }
  return { fns, total };
}

/** Splits the profile's self costs over CATEGORIES; returns cost per category and the top functions of each. */
export function attribute(profile, rules) {
  const { fns } = profile;
  const idx = Object.fromEntries(CATEGORIES.map((c, i) => [c, i]));
  const ruleOf = new Map();
  for (const f of fns.values()) {
    const r = rules.find(([, , test]) => test(f.head));
    if (r !== undefined) ruleOf.set(f, r);
    f.ctx = new Float64Array(CATEGORIES.length);
    f.ctx[idx.other] = 1;
    f.inbound = [...f.callers.values()].reduce((a, b) => a + b, 0);
  }
  // How far a weak rule may take over a context: unattributed work (0) and Node's (1) become
  // undici's or the logger's (2); a stage's context (3) is never taken over by a weak rule.
  const catLevel = CATEGORIES.map((c) => ({ other: 0, node: 1, exchange: 2, account: 2 })[c] ?? STRONG);
  const apply = (f, v) => {
    const r = ruleOf.get(f);
    if (r === undefined) return v;
    const [cat, lvl] = r;
    if (lvl >= STRONG) {
      const u = new Float64Array(CATEGORIES.length);
      u[idx[cat]] = 1;
      return u;
    }
    for (let i = 0; i < v.length; i++) {
      if (i !== idx[cat] && catLevel[i] < lvl) {
        v[idx[cat]] += v[i];
        v[i] = 0;
      }
    }
    return v;
  };
  const order = [...fns.values()];
  for (let iter = 0; iter < 60; iter++) {
    let delta = 0;
    for (const f of order) {
      let v = new Float64Array(CATEGORIES.length);
      if (f.inbound === 0) v[idx.other] = 1;
      else for (const [c, w] of f.callers) for (let i = 0; i < v.length; i++) v[i] += (c.ctx[i] * w) / f.inbound;
      v = apply(f, v);
      for (let i = 0; i < v.length; i++) delta += Math.abs(v[i] - f.ctx[i]);
      f.ctx = v;
    }
    if (delta < 1e-9) break;
  }
  const cost = Object.fromEntries(CATEGORIES.map((c) => [c, 0]));
  const top = Object.fromEntries(CATEGORIES.map((c) => [c, new Map()]));
  for (const f of fns.values()) {
    for (let i = 0; i < CATEGORIES.length; i++) {
      const share = f.self * f.ctx[i];
      if (share === 0) continue;
      cost[CATEGORIES[i]] += share;
      const m = top[CATEGORIES[i]];
      m.set(f.head, (m.get(f.head) ?? 0) + share);
    }
  }
  return { cost, top };
}

/** Per-category instructions of one callgrind dump, divided by `requests`. */
export function stagesOf(callgrindFile, perfMapFile, layout, requests) {
  const profile = parseCallgrind(callgrindFile, loadPerfMap(perfMapFile));
  const { cost, top } = attribute(profile, rulesFor(layout));
  const perRequest = Object.fromEntries(Object.entries(cost).map(([k, v]) => [k, v / requests]));
  const topLists = Object.fromEntries(
    Object.entries(top).map(([k, m]) => [
      k,
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, Number(process.env.TOP ?? 12))
        .map(([n, v]) => [n, v / requests]),
    ]),
  );
  return { perRequest, total: profile.total / requests, top: topLists };
}

// `node bench/callgrind-stages.mjs <stages|fastify> <requests> <callgrind.out>:<perf.map> ...`:
// splits kept dumps again (KEEP=1 of bench/instructions.mjs) and prints JSON, one entry per dump.
if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [layout, requests, ...pairs] = process.argv.slice(2);
  const out = pairs.map((p) => {
    const [cg, map] = p.split(':');
    return { file: cg, ...stagesOf(cg, map, layout, Number(requests)) };
  });
  process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
}
