import { runSliced, runToEnd, type CompiledConfig, type CompiledPublishedSpec, type CompiledRoute, type CompiledUpstream } from '@tollgate/compiler';
import { canonicalJson } from '@tollgate/model';
import { POLICY_REGISTRY, withAuthGate, type AccessStep, type GatewayAnswerStep, type PolicyDeps, type PolicyInstance, type ResponseFieldsStep, type ResponseStep } from '@tollgate/policies';
import type { RouteTable } from '@tollgate/router';
import { poolKey, TargetStateRegistry, UpstreamRuntime, type PoolRegistry, type TargetState, type TargetUpstream, type UpstreamTarget } from '@tollgate/upstream';
import type { Dispatcher } from 'undici';
import { buildRouteActions, type RuntimeActions } from './route-actions.js';
import { buildProtocolRuntimeSteps } from './protocols/index.js';
import { collectBodyHooks, type RouteBodyHooks } from './body-transform.js';
import { buildSniTable, type SniTable } from './sni.js';
import { settingsOf } from './pool-settings.js';
import { planRoute, type RoutePlan } from './stages/plan.js';


/** One upstream target with its (shared) connection pool and its health/load state. */
export type RuntimeTarget = UpstreamTarget;

/** An upstream as the hot path uses it: pick, admit, release (see `UpstreamRuntime`). */
export type RuntimeUpstream = TargetUpstream;

/** A route with everything the hot path needs, precomputed when the snapshot is installed. */
export interface RuntimeRoute {
  readonly id: string;
  readonly api: string;
  readonly route: string;
  /** The first destination's upstream; null for redirect and direct-response routes. */
  readonly upstream: string | null;
  /** The destination upstream and subset (null = all targets); `actions.split` may choose another. */
  readonly target: RuntimeUpstream | null;
  readonly subset: string | null;
  /** Rewrites, redirects, direct responses, header changes, split, mirror, faults, retries. */
  readonly actions: RuntimeActions;
  /** The API base path without trailing slash (`''` for `/`). */
  readonly basePath: string;
  /** Bound access methods by priority, or null (the hot path tests `!== null`). */
  readonly access: readonly AccessStep[] | null;
  readonly response: readonly ResponseStep[] | null;
  /**
   * The same steps in their flat-head form (`responseFields`), when every response policy has one;
   * else null (a streamed answer's head is then built as an object for `response`).
   */
  readonly responseFields: readonly ResponseFieldsStep[] | null;
  /**
   * What the route's policies add to an answer the gateway produces itself (refusals, upstream
   * errors, 413, 503: answers that skip the response phase), e.g. CORS; null when none does.
   */
  readonly gatewayAnswer: GatewayAnswerStep | null;
  /** Request/response JSON body changes and the response cache's capture, or null (bodies just stream). */
  readonly bodies: RouteBodyHooks | null;
  /** Route deadline for response headers, or undefined to use the upstream's timeout. */
  readonly headersDeadlineMs: number | undefined;
  /** Units and metric one request counts as (route `metering`): the meter and plan quotas use them. */
  readonly units: number;
  readonly metric: string;
  /** The route has a response-cache policy: its answers carry `X-Cache`, counted by the metrics. */
  readonly reportsCache: boolean;
  /** Base path to remove before forwarding, or null. */
  readonly stripPrefix: string | null;
  /** Forward the client's method / URL override headers (route `forwardOverrideHeaders`); else removed (headers.ts). */
  readonly forwardOverrides: boolean;
  /** Added to policy refusals (a deprecated Api's Deprecation, Sunset, Link), or null. */
  readonly refusalHeaders: Readonly<Record<string, string>> | null;
  /** A draft Api's preview consumers (refusals to anyone else are answered as "no route"), or null. */
  readonly draftPreview: ReadonlySet<string> | null;
  /** The Api's published OpenAPI document around its servers, on the route that serves it; else null. */
  readonly publishedSpec: CompiledPublishedSpec | null;
  /** The route's stages, composed once at install (stages/plan.ts). */
  readonly plan: RoutePlan;
}

/** The serving state: a compiled config with instantiated policies and live pools. */
export interface RuntimeSnapshot {
  readonly version: number;
  readonly hash: string;
  readonly routes: RouteTable<RuntimeRoute>;
  /** Upstreams by name. */
  readonly upstreams: ReadonlyMap<string, RuntimeUpstream>;
  /** The compiled upstreams (the health checker reads their active-check settings). */
  readonly compiledUpstreams: CompiledConfig['upstreams'];
  /** Server certificates by SNI, as TLS secure contexts built at install. */
  readonly sni: SniTable;
  /** The compiled certificates (PEM; secrets, never logged). */
  readonly certificates: CompiledConfig['certificates'];
}

/**
 * Instantiates a compiled config: pools (reused from the registry where unchanged), one balancer
 * per upstream, and policy instances per route. Throws if a policy cannot be built, in which case
 * the caller keeps the previous snapshot.
 */
export function instantiate(
  config: CompiledConfig,
  pools: PoolRegistry<Dispatcher & { close(): Promise<void>; destroy(): Promise<void> }>,
  deps: PolicyDeps,
  targetStates: TargetStateRegistry = new TargetStateRegistry(),
  reuse?: RuntimeReuse,
): RuntimeSnapshot {
  return runToEnd(instantiateSteps(config, pools, deps, targetStates, reuse));
}

/**
 * {@link instantiate} in slices of a few ms with requests served in between (#16): what the
 * config manager runs on a serving gateway. The snapshot is assembled off to the side and only
 * returned whole, so the caller's swap is atomic.
 */
export function instantiateAsync(
  config: CompiledConfig,
  pools: PoolRegistry<Dispatcher & { close(): Promise<void>; destroy(): Promise<void> }>,
  deps: PolicyDeps,
  targetStates: TargetStateRegistry = new TargetStateRegistry(),
  reuse?: RuntimeReuse,
): Promise<RuntimeSnapshot> {
  return runSliced(instantiateSteps(config, pools, deps, targetStates, reuse));
}

/**
 * What the previous instantiation of a process built, so the next one reuses it where nothing it
 * depends on changed (#16): an upstream's runtime when its compiled form, pools and target states
 * are the same; a route's runtime when its compiled route is the same object (the compile cache
 * hands unchanged Apis' routes over as they are) and every upstream it names was reused. A route
 * that converts protocols or aggregates is always rebuilt (it holds per-snapshot channels).
 * Reused routes keep their policy instances, so a change to one API does not reset the local
 * state (limiter buckets) of the others. Updated only when an instantiation completes.
 */
export class RuntimeReuse {
  upstreams = new Map<string, { readonly key: string; readonly parts: readonly unknown[]; readonly runtime: RuntimeUpstream }>();
  routes = new Map<CompiledRoute, RuntimeRoute>();
}

/** Upstream names a route's runtime holds: its destinations and its mirror. */
function upstreamsOf(r: CompiledRoute): string[] {
  const names = r.actions.destinations.map((d) => d.upstream);
  if (r.upstream !== null) names.push(r.upstream);
  if (r.actions.mirror !== null) names.push(r.actions.mirror.upstream);
  return names;
}

/** The instantiation as steps (one route per `yield`); pools and states are synced in the first. */
function* instantiateSteps(
  config: CompiledConfig,
  pools: PoolRegistry<Dispatcher & { close(): Promise<void>; destroy(): Promise<void> }>,
  deps: PolicyDeps,
  targetStates: TargetStateRegistry,
  reuse?: RuntimeReuse,
): Generator<void, RuntimeSnapshot> {
  // Without a serving subscription index (a caller other than the ConfigManager, which installs
  // the snapshot's and changes it in place), the policies read this snapshot's as compiled.
  if (deps.subscriptions === undefined) deps = { ...deps, subscriptions: { current: config.subscriptions } };
  const upstreams = Object.values(config.upstreams);
  // Built before any shared state changes, so a bad certificate rejects the snapshot cleanly.
  const sni = buildSniTable(config.certificates);
  const wanted = upstreams.flatMap((u) => u.targets.map((t) => ({ origin: t.origin, settings: settingsOf(u) })));
  const live = pools.sync(wanted);
  const states = targetStates.sync(upstreams.flatMap((u) => u.targets.map((t) => ({ upstream: u.name, origin: t.origin }))));
  const balancers = new Map<string, RuntimeUpstream>();
  const nextUpstreams: RuntimeReuse['upstreams'] = new Map();
  const reusedUpstreams = new Set<string>();
  for (const u of upstreams) {
    const key = canonicalJson(u);
    const parts = u.targets.flatMap((t) => [live.get(poolKey(t.origin, settingsOf(u))), states.get(`${u.name}\n${t.origin}`)]);
    const before = reuse?.upstreams.get(u.name);
    if (before !== undefined && before.key === key && before.parts.length === parts.length && before.parts.every((p, i) => p === parts[i])) {
      balancers.set(u.name, before.runtime);
      nextUpstreams.set(u.name, before);
      reusedUpstreams.add(u.name);
      continue;
    }
    const targets = u.targets.map((t) => ({
      weight: t.weight,
      value: Object.freeze({
        origin: t.origin,
        host: t.hostHeader ?? new URL(t.origin).host,
        pool: live.get(poolKey(t.origin, settingsOf(u))) as Dispatcher,
        state: states.get(`${u.name}\n${t.origin}`) as TargetState,
      }),
    }));
    const runtime: RuntimeUpstream = new UpstreamRuntime(
      {
        name: u.name,
        algorithm: u.loadBalancing,
        hashOn: u.hashOn,
        subsets: u.subsets,
        outlier: u.outlier,
        maxInflightPerTarget: u.maxConnectionsPerTarget + u.maxPendingRequests,
      },
      targets,
    );
    balancers.set(u.name, runtime);
    nextUpstreams.set(u.name, { key, parts, runtime });
  }
  // gRPC channels (kept across snapshots, keyed by the pool registry) and loaded descriptors.
  const protocols = yield* buildProtocolRuntimeSteps(config, pools, balancers);
  const nextRoutes: RuntimeReuse['routes'] = new Map();
  const routes = yield* config.routes.mapSteps((r: CompiledRoute): RuntimeRoute => {
    const kept = reuse?.routes.get(r);
    if (kept !== undefined && r.actions.protocol === null && r.actions.aggregate === null && upstreamsOf(r).every((n) => reusedUpstreams.has(n))) {
      nextRoutes.set(r, kept);
      return kept;
    }
    const built = buildRuntimeRoute(r);
    nextRoutes.set(r, built);
    return built;
  });
  if (reuse !== undefined) {
    reuse.upstreams = nextUpstreams;
    reuse.routes = nextRoutes;
  }
  return Object.freeze({ version: config.version, hash: config.hash, routes, upstreams: balancers, compiledUpstreams: config.upstreams, sni, certificates: config.certificates });

  function buildRuntimeRoute(r: CompiledRoute): RuntimeRoute {
    // One instance per policy of the route, shared by its phases and body hooks (in priority order).
    const instances = new Map<string, PolicyInstance>();
    const build = (phase: 'access' | 'response') => {
      const list = r.policies[phase];
      if (list === null) return null;
      return list.map((d) => {
        const def = POLICY_REGISTRY.get(d.name);
        if (!def) throw new Error(`policy "${d.name}" is not registered in this gateway`);
        let instance = instances.get(d.name);
        if (instance === undefined) instances.set(d.name, (instance = def.build(d.config, deps)));
        const fn = instance[phase];
        if (!fn) throw new Error(`policy "${d.name}" declares phase "${phase}" but has no such method`);
        return fn.bind(instance);
      });
    };
    const access = build('access') as AccessStep[] | null;
    const accessNames = r.policies.access?.map((d) => d.name) ?? [];
    const balancer = r.upstream === null ? null : (balancers.get(r.upstream) ?? null);
    if (r.upstream !== null && !balancer) throw new Error(`route ${r.id}: upstream "${r.upstream}" missing from the snapshot`);
    const route = {
      id: r.id,
      api: r.api,
      route: r.route,
      upstream: r.upstream,
      target: balancer,
      subset: r.subset,
      actions: buildRouteActions(r, balancers, protocols),
      basePath: r.basePath,
      // The auth gate (401 when no auth policy found a credential) follows the last auth policy.
      access: access === null ? null : withAuthGate(accessNames, access, (n) => POLICY_REGISTRY.get(n)?.authenticates === true, r.authMode ?? 'any', (n) => POLICY_REGISTRY.get(n)?.credentials === true),
      response: build('response') as ResponseStep[] | null,
      responseFields: responseFieldsOf(r.policies.response?.map((d) => instances.get(d.name)) ?? null),
      gatewayAnswer: gatewayAnswerOf([...instances.values()]),
      bodies: collectBodyHooks([...instances.values()]),
      headersDeadlineMs: r.timeoutMs ?? undefined,
      units: r.metering.units,
      metric: r.metering.metric,
      reportsCache: r.policies.response?.some((d) => d.name === 'response-cache') === true || r.policies.access?.some((d) => d.name === 'response-cache') === true,
      stripPrefix: r.stripBasePath && r.basePath !== '' ? r.basePath : null,
      forwardOverrides: r.forwardOverrideHeaders === true,
      refusalHeaders: r.refusalHeaders ?? null,
      draftPreview: r.draftPreview !== undefined ? new Set(r.draftPreview) : null,
      publishedSpec: r.publishedSpec ?? null,
    };
    return Object.freeze({ ...route, plan: planRoute(route) });
  }
}

/** The bound `responseFields` of every response policy (in the same order), or null when one has none. */
function responseFieldsOf(list: readonly (PolicyInstance | undefined)[] | null): ResponseFieldsStep[] | null {
  if (list === null) return null;
  const out: ResponseFieldsStep[] = [];
  for (const instance of list) {
    const fn = instance?.responseFields;
    if (instance === undefined || fn === undefined) return null;
    out.push(fn.bind(instance));
  }
  return out;
}

/** The policies' additions to the gateway's own answers, in priority order, as one step (null when none adds any). */
function gatewayAnswerOf(instances: readonly PolicyInstance[]): GatewayAnswerStep | null {
  const steps: GatewayAnswerStep[] = [];
  for (const i of instances) if (i.gatewayAnswer !== undefined) steps.push(i.gatewayAnswer.bind(i));
  if (steps.length === 0) return null;
  if (steps.length === 1) return steps[0] as GatewayAnswerStep;
  return (method, requestHeaders, headers) => {
    for (const step of steps) step(method, requestHeaders, headers);
  };
}
