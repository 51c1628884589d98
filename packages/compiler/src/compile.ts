import { createHash } from 'node:crypto';
import { canonicalJson, sortResources, type ApiResource, type ConfigIssue, type CertificateResource, type Resource } from '@tollgate/model';
import { RouteTable, type RouteEntry } from '@tollgate/router';
import { deepFreeze } from './freeze.js';
import type { CompiledConfig, CompiledRoute, CompiledUpstream } from './types.js';
import { compileCertificates, compileUpstream } from './compile-upstreams.js';
import { compileSubscriptions } from './compile-subscriptions.js';
import { compileLifecycleSteps, type ApiPlan } from './compile-lifecycle.js';
import { compileProtoDescriptors } from './compile-protocols.js';
import { compileBrokers } from './compile-messaging.js';
import { checkSelfTargets, type SelfEndpoints } from './compile-self-targets.js';
import { compileApi, type ApiUnit, type Claim } from './compile-api.js';
import type { ApiReads, CompileCache, CompileCacheRun, ReadState } from './compile-cache.js';
import { readStateOf, trackReads } from './track-reads.js';
import { runSliced, runToEnd } from './slices.js';

export { joinPath } from './compile-api.js';

/** What the compiler cannot know from the resources themselves. */
export interface CompileOptions {
  /** The listeners of the node compiling (or validating) the set: targets pointing at them are refused. */
  readonly self?: SelfEndpoints;
  /**
   * Units of the previous compiles of this process: an Api whose text and inputs are unchanged is
   * not compiled again. One per process: a gateway's, a validator's, or one both share when they
   * run in one process (see CompileCache).
   */
  readonly cache?: CompileCache;
}

/** Result of a compilation: a snapshot, or every issue found (never both). */
export type CompileResult = { ok: true; config: CompiledConfig; units?: UnitCounts } | { ok: false; issues: ConfigIssue[] };

/** With a cache: how many Apis a compile compiled and how many it reused (a gateway logs them with each install). */
export interface UnitCounts {
  readonly compiled: number;
  readonly reused: number;
}

/**
 * Compiles validated resources into an immutable snapshot. Pure: no I/O, the same resources
 * always give the same snapshot (resources are ordered by kind and name first).
 *
 * Conflicts: two different APIs at the same `priority` that claim the same host pattern, the same
 * path rule and the same header/query conditions with overlapping methods are refused with
 * `route_conflict`, because which one should win is an operator decision, not a tie to break
 * silently; a different priority is that decision. Within one API, declared order decides (the
 * first route wins). Otherwise the route table's precedence applies (see `RouteTable` and
 * docs/routing.md).
 */
export function compileConfig(resources: readonly Resource[], version: number, options: CompileOptions = {}): CompileResult {
  return runToEnd(compileSteps(resources, version, options, 'snapshot')) as CompileResult;
}

/**
 * {@link compileConfig} in slices of about `sliceMs` ms of work with the event loop served in
 * between: what a serving process (a gateway, the embedded admin) runs, so a compile of 10,000
 * APIs never holds requests up for long (#16). The snapshot is built off to the side and returned
 * whole; the caller swaps one reference, so requests see the old snapshot or the new one, never a mix.
 */
export function compileConfigAsync(resources: readonly Resource[], version: number, options: CompileOptions = {}, sliceMs?: number): Promise<CompileResult> {
  return runSliced(compileSteps(resources, version, options, 'snapshot'), sliceMs) as Promise<CompileResult>;
}

/**
 * The issues {@link compileConfig} would report for a set (none: the set compiles), without
 * building the route table or the snapshot hash: what the admin's apply validation needs.
 * Sliced like {@link compileConfigAsync}.
 */
export async function validateConfigAsync(resources: readonly Resource[], options: CompileOptions = {}, sliceMs?: number): Promise<ConfigIssue[]> {
  const r = (await runSliced(compileSteps(resources, 0, options, 'validate'), sliceMs)) as CompileResult | null;
  return r === null ? [] : r.ok ? [] : r.issues;
}

/**
 * The compile as steps: each `yield` ends one small step (a resource, an Api, a claim batch), so
 * a driver can run it to the end ({@link runToEnd}) or in slices ({@link runSliced}). In
 * `validate` mode it returns null instead of a snapshot when the set compiles.
 */
function* compileSteps(resources: readonly Resource[], version: number, options: CompileOptions, mode: 'snapshot' | 'validate'): Generator<void, CompileResult | null> {
  // Begun before the canonical texts (an Api's text is the cache's when it wrote it for the same
  // document before) and ended even when a compile throws: a run left open would keep the cache
  // from forgetting anything.
  const cached = options.cache?.begin();
  try {
    return yield* compileRun(resources, version, options, mode, cached);
  } finally {
    cached?.end();
  }
}

function* compileRun(resources: readonly Resource[], version: number, options: CompileOptions, mode: 'snapshot' | 'validate', cached: CompileCacheRun | undefined): Generator<void, CompileResult | null> {
  const sorted = sortResources(resources);
  yield;
  const issues: ConfigIssue[] = [];
  if (options.self !== undefined) checkSelfTargets(sorted, options.self, issues);
  const upstreams: Record<string, CompiledUpstream> = Object.create(null) as Record<string, CompiledUpstream>;
  for (const r of sorted) if (r.kind === 'Upstream') upstreams[r.metadata.name] = compileUpstream(r);
  const certificates = compileCertificates(sorted.filter((r): r is CertificateResource => r.kind === 'Certificate'), issues);
  yield;

  // The canonical text of every resource: the snapshot hash (canonical JSON of the sorted set,
  // written as the array's text piece by piece), and the cache keys (canonical, so a resource
  // read back from the database, whose key order differs, still hits).
  const hash = mode === 'snapshot' ? createHash('sha256').update('[') : null;
  const texts: string[] = new Array<string>(sorted.length);
  // Each Upstream's and ProtoDescriptor's text: an Api's cache entry compares those it read.
  const upstreamTexts = new Map<string, string>();
  const protoTexts = new Map<string, string>();
  const brokerTexts: string[] = [];
  let hashed = 0;
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i] as Resource;
    // Consumers and Subscriptions reach a gateway on the change feed (changed in place, never
    // compiled into routes), so they are not part of the snapshot's identity: a reload whose
    // only difference is theirs keeps the serving runtime (see CompiledConfig.hash).
    if (r.kind === 'Consumer' || r.kind === 'Subscription') continue;
    const text = cached !== undefined && r.kind === 'Api' ? cached.text(r.metadata.name, r) : canonicalJson(r);
    texts[i] = text;
    if (hash !== null) hash.update(hashed++ === 0 ? text : `,${text}`);
    // What an Api's compile reads of other kinds: upstreams and descriptors (destinations, subsets, gRPC methods).
    if (r.kind === 'Upstream') upstreamTexts.set(r.metadata.name, text);
    else if (r.kind === 'ProtoDescriptor') protoTexts.set(r.metadata.name, text);
    // Brokers are few and rarely change: any Broker change recompiles the Apis (their messaging routes name them).
    else if (r.kind === 'Broker') brokerTexts.push(text);
    yield;
  }
  const selfKey = `${JSON.stringify(options.self ?? null)}\n${brokerTexts.length === 0 ? '' : createHash('sha256').update(brokerTexts.join('\n')).digest('hex')}`;
  // Upstreams, then a separator no text equals (a read state is compared element by element), then descriptors.
  const readState = (reads: ApiReads): ReadState => {
    const out: (string | undefined)[] = [];
    readStateOf(reads.upstreams, upstreamTexts, out);
    out.push('|');
    readStateOf(reads.protos, protoTexts, out);
    return out;
  };
  yield;

  const { policies: subscriptionPolicies, table: subscriptions } = compileSubscriptions(sorted, issues);
  yield;
  // Lifecycle and versions: the variants (base path, version condition, generated policies) of each Api.
  const lifecyclePlans = yield* compileLifecycleSteps(sorted, issues);
  const protos = compileProtoDescriptors(sorted, issues);
  const brokers = compileBrokers(sorted);
  yield;

  const units: ApiUnit[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i] as Resource;
    if (r.kind !== 'Api') continue;
    const api = r.metadata.name;
    const plan = lifecyclePlans.get(api);
    const subscription = subscriptionPolicies.get(api);
    if (cached === undefined) units.push(compileApi(r, { upstreams, protos, brokers, plan, subscription }));
    else {
      // Everything compileApi reads: the Api (its text), its lifecycle plan, its generated
      // subscription policy (a function of the Api and of whether Plans exist), and (compared by
      // the cache) the Upstreams and descriptors it named. The text is compared on its own, not
      // joined into the key: a joined key was a second copy of every Api's text, allocated per
      // compile and kept by the cache (30 MB allocated and promoted per reload of 10,000 Apis, #16).
      const key = `${selfKey}\n${planKey(plan, r)}\n${subscription === undefined ? '' : 'subscription'}`;
      units.push(
        cached.unit(api, texts[i] as string, key, readState, () => {
          const tracked = trackReads(upstreams, protos);
          const unit = compileApi(r, { upstreams: tracked.upstreams, protos: tracked.protos, brokers, plan, subscription });
          return { unit, reads: tracked.reads };
        }),
      );
    }
    yield;
  }

  // Conflicts across APIs (see compileConfig). Claims are checked in API order, as declared.
  const claims = new Map<string, Claim[]>();
  let n = 0;
  for (const unit of units) {
    for (const issue of unit.issues) issues.push(issue);
    for (const c of unit.claims) {
      const list = claims.get(c.key);
      if (list === undefined) claims.set(c.key, [c]);
      else {
        const clash = list.find((o) => o.api !== c.api && o.priority === c.priority && methodsOverlap(o.methods, c.methods));
        if (clash) issues.push({ code: 'route_conflict', message: `${c.label} is already claimed by ${clash.resource} (${clash.path}) with overlapping methods at the same priority ${c.priority}; give one API a different priority`, resource: c.resource, path: c.path });
        list.push(c);
      }
    }
    if (++n % 64 === 0) yield;
  }
  if (issues.length > 0) return { ok: false, issues };
  if (mode === 'validate' || hash === null) return null;

  // Default versions' fallback entries go after every versioned entry of their product.
  const entries: RouteEntry<CompiledRoute>[] = [];
  for (const u of units) for (const e of u.entries) entries.push(e);
  for (const u of units) for (const e of u.fallbackEntries) entries.push(e);
  yield;
  deepFreeze(upstreams);
  deepFreeze(certificates);
  const routes = yield* RouteTable.steps(entries);
  const config: CompiledConfig = { version, hash: hash.update(']').digest('hex'), routes, upstreams, certificates, subscriptions };
  return { ok: true, config: Object.freeze(config), ...(cached !== undefined ? { units: { compiled: cached.misses, reused: cached.hits } } : {}) };
}

/**
 * An Api's lifecycle plan as part of its cache key. Every Api has one; an Api without versioning
 * or lifecycle has the plan its own text determines (its name as the group, one variant at its
 * base path, nothing generated), keyed by a word instead of a canonical text written per Api per
 * compile (48 MB allocated over the three compiles of an apply of 10,000 Apis in `start all`, #16).
 * Any other plan is keyed by its text (a JSON text never equals the word).
 */
function planKey(plan: ApiPlan | undefined, api: ApiResource): string {
  if (plan === undefined) return '';
  const v = plan.variants[0];
  const own =
    plan.variants.length === 1 &&
    v !== undefined &&
    plan.group === api.metadata.name &&
    v.basePath === api.spec.basePath &&
    v.condition === null &&
    !v.fallback &&
    v.policies.length === 0 &&
    v.refusalHeaders === undefined &&
    v.draftPreview === undefined &&
    Object.keys(plan).length === 2 &&
    Object.keys(v).length === 4;
  return own ? 'own' : canonicalJson(plan);
}

function methodsOverlap(a: readonly string[], b: readonly string[]): boolean {
  return a.length === 0 || b.length === 0 || a.some((m) => b.includes(m));
}
