import { formatPath, resourceKey, type ApiResource, type ConfigIssue, type PolicyRef } from '@tollgate/model';
import { PHASES, POLICY_DEFINITIONS, validatePolicyConfig, type Phase } from '@tollgate/policies/definitions';
import type { RouteEntry } from '@tollgate/router';
import { compileAuthMode } from './compile-auth.js';
import { withVersionCondition, type ApiPlan } from './compile-lifecycle.js';
import { compileProtocol, type compileProtoDescriptors } from './compile-protocols.js';
import { compileMessaging, type CompiledBroker } from './compile-messaging.js';
import { compilePublishedSpec, PUBLISHED_SPEC_ROUTE, publishedSpecActions } from './compile-published-spec.js';
import { checkRoute, compileActions, conditionKey, conditions, pathRule, trimBasePath } from './compile-route.js';
import { withGenerated } from './compile-subscriptions.js';
import { deepFreeze } from './freeze.js';
import type { CompiledRoute, CompiledUpstream, PhasePolicies, PolicyDescriptor } from './types.js';

interface ResolvedPolicy {
  ref: PolicyRef;
  level: 'api' | 'route';
  path: string;
}

/** Joins an API base path and a route path: `/v1` + `/users` = `/v1/users`; `/v1` + `/` = `/v1`. */
export function joinPath(base: string, path: string): string {
  const b = base.endsWith('/') ? base.slice(0, -1) : base;
  if (path === '/') return b === '' ? '/' : b;
  return b + path;
}

/**
 * Resolves an API's and a route's policies into per-phase lists. A route-level entry replaces an
 * API-level entry of the same name (the more specific config wins, as in Kong); `enabled: false`
 * at route level therefore switches an API-level policy off for that route. Lists are sorted by
 * priority, highest first; at equal priority API-level entries run first, then declared order.
 */
function resolvePolicies(resource: string, api: ApiResource, routeIndex: number, issues: ConfigIssue[]): PhasePolicies {
  const byName = new Map<string, ResolvedPolicy>();
  const add = (refs: readonly PolicyRef[], level: 'api' | 'route', base: string) => {
    refs.forEach((ref, i) => {
      const path = `${base}.policies[${i}]`;
      const prev = byName.get(ref.name);
      if (prev && prev.level === level) {
        issues.push({ code: 'duplicate_policy', message: `policy "${ref.name}" is attached twice at the same level`, resource, path: `${path}.name` });
        return;
      }
      if (prev) byName.delete(ref.name); // keep insertion order meaningful: route entries come after API ones
      byName.set(ref.name, { ref, level, path });
    });
  };
  add(api.spec.policies, 'api', 'spec');
  add(api.spec.routes[routeIndex]?.policies ?? [], 'route', `spec.routes[${routeIndex}]`);
  const descriptors: PolicyDescriptor[] = [];
  for (const { ref, level, path } of byName.values()) {
    const def = POLICY_DEFINITIONS.get(ref.name);
    if (!def) {
      issues.push({ code: 'unknown_policy', message: `unknown policy "${ref.name}"; known: ${[...POLICY_DEFINITIONS.keys()].join(', ')}`, resource, path: `${path}.name` });
      continue;
    }
    // A disabled entry only switches a policy off; its config is not validated.
    if (!ref.enabled) continue;
    const v = validatePolicyConfig(ref.name, ref.config);
    if (!v.ok) {
      for (const i of v.issues) issues.push({ code: i.code, message: i.message, resource, path: formatPath([...`${path}.config`.split('.'), ...i.path].filter((p) => p !== '')) });
      continue;
    }
    descriptors.push({ name: ref.name, priority: def.priority, config: v.config, level });
  }
  // Array.prototype.sort is stable, so equal priorities keep API-then-route, declared order.
  descriptors.sort((a, b) => b.priority - a.priority);
  const out = {} as { [P in Phase]: PolicyDescriptor[] | null };
  for (const phase of PHASES) {
    const list = descriptors.filter((d) => POLICY_DEFINITIONS.get(d.name)?.phases.includes(phase));
    out[phase] = list.length > 0 ? list : null;
  }
  return out;
}

/** A path an API claims (host, rule, conditions); two APIs' equal claims at one priority conflict. */
export interface Claim {
  readonly key: string;
  readonly api: string;
  readonly priority: number;
  readonly methods: readonly string[];
  readonly resource: string;
  readonly path: string;
  readonly label: string;
}

/**
 * Everything one Api compiles to, given what it depends on (the upstreams and proto descriptors
 * it may name, its lifecycle plan, its generated subscription policy). Frozen, so the compile
 * cache can hand the same unit to the next snapshot when none of those changed.
 */
export interface ApiUnit {
  /** Route-table entries in declared order; `fallback` ones go after every API's entries. */
  readonly entries: readonly RouteEntry<CompiledRoute>[];
  readonly fallbackEntries: readonly RouteEntry<CompiledRoute>[];
  /** Claims for the cross-API conflict check (compile.ts), in declared order. */
  readonly claims: readonly Claim[];
  /** Issues local to this Api (the conflict check and whole-set checks are added by the caller). */
  readonly issues: readonly ConfigIssue[];
}

/** What an Api's compile reads besides the Api itself. */
export interface ApiContext {
  readonly upstreams: Readonly<Record<string, CompiledUpstream>>;
  readonly protos: ReturnType<typeof compileProtoDescriptors>;
  /** Brokers by name (messaging routes). */
  readonly brokers: ReadonlyMap<string, CompiledBroker>;
  readonly plan: ApiPlan | undefined;
  readonly subscription: PolicyDescriptor | undefined;
}

/** Compiles one Api into its route entries, claims and issues (the loop body of compileConfig). */
export function compileApi(r: ApiResource, ctx: ApiContext): ApiUnit {
  const issues: ConfigIssue[] = [];
  const entries: RouteEntry<CompiledRoute>[] = [];
  const fallbackEntries: RouteEntry<CompiledRoute>[] = [];
  const claims: Claim[] = [];
  const resource = resourceKey(r);
  const api = r.metadata.name;
  const plan = ctx.plan ?? { group: api, variants: [{ basePath: r.spec.basePath, condition: null, fallback: false, policies: [] }] };
  if (r.spec.openapi !== undefined) {
    // The published OpenAPI document: GET/HEAD at basePath + path, before the API's routes (so
    // no route of the API shadows it), under the API-level policies (issues are reported once, by the routes).
    const spec = compilePublishedSpec(r.spec.openapi.document);
    const apiPolicies = withGenerated(resolvePolicies(resource, r, -1, []), ctx.subscription);
    const apiAuthMode = compileAuthMode(r, undefined, 'spec', apiPolicies, resource, []);
    for (const variant of plan.variants) {
      const basePath = trimBasePath(variant.basePath);
      const compiled: CompiledRoute = {
        id: `${api}/${PUBLISHED_SPEC_ROUTE}`,
        api,
        route: PUBLISHED_SPEC_ROUTE,
        basePath,
        stripBasePath: false,
        upstream: null,
        subset: null,
        priority: r.spec.priority,
        actions: { ...publishedSpecActions(), protocol: null },
        timeoutMs: null,
        metering: { units: 1, metric: 'requests' },
        policies: variant.policies.reduce<PhasePolicies>((p, d) => withGenerated(p, d), apiPolicies),
        ...(apiAuthMode !== undefined ? { authMode: apiAuthMode } : {}),
        ...(variant.refusalHeaders !== undefined ? { refusalHeaders: variant.refusalHeaders } : {}),
        ...(variant.draftPreview !== undefined ? { draftPreview: variant.draftPreview } : {}),
        publishedSpec: spec,
      };
      const m = withVersionCondition({ path: { exact: r.spec.openapi.path }, methods: ['GET', 'HEAD'], headers: {}, queryParams: {} }, variant.condition);
      (variant.fallback ? fallbackEntries : entries).push({ hosts: [...r.spec.hosts], path: pathRule(variant.basePath, m, joinPath), methods: [...m.methods], headers: conditions(m.headers), query: conditions(m.queryParams), group: plan.group, priority: r.spec.priority, pathMatching: r.spec.pathMatching, value: compiled });
    }
  }
  r.spec.routes.forEach((route, ri) => {
    checkRoute(r, ri, ctx.upstreams, resource, issues);
    const actions = { ...compileActions(route), protocol: route.messaging !== undefined ? compileMessaging(route, ri, ctx.brokers, resource, issues) : compileProtocol(r, ri, ctx.protos, ctx.upstreams, resource, issues) };
    const first = actions.destinations[0];
    const routePolicies = withGenerated(resolvePolicies(resource, r, ri, issues), ctx.subscription);
    const authMode = compileAuthMode(r, route, `spec.routes[${ri}]`, routePolicies, resource, issues);
    for (const variant of plan.variants) {
      const compiled: CompiledRoute = {
        id: `${api}/${route.name}`,
        api,
        route: route.name,
        basePath: trimBasePath(variant.basePath),
        stripBasePath: r.spec.stripBasePath,
        upstream: first?.upstream ?? null,
        subset: first?.subset ?? null,
        priority: r.spec.priority,
        actions,
        timeoutMs: route.timeoutMs ?? null,
        metering: { units: route.metering?.units ?? 1, metric: route.metering?.metric ?? 'requests' },
        policies: variant.policies.reduce<PhasePolicies>((p, d) => withGenerated(p, d), routePolicies),
        ...(authMode !== undefined ? { authMode } : {}),
        ...(route.forwardOverrideHeaders === true ? { forwardOverrideHeaders: true as const } : {}),
        ...(variant.refusalHeaders !== undefined ? { refusalHeaders: variant.refusalHeaders } : {}),
        ...(variant.draftPreview !== undefined ? { draftPreview: variant.draftPreview } : {}),
      };
      route.match.forEach((declared, mi) => {
        const m = withVersionCondition(declared, variant.condition);
        const path = pathRule(variant.basePath, m, joinPath);
        (variant.fallback ? fallbackEntries : entries).push({
          hosts: [...r.spec.hosts],
          path,
          methods: [...m.methods],
          headers: conditions(m.headers),
          query: conditions(m.queryParams),
          group: plan.group,
          priority: r.spec.priority,
          pathMatching: r.spec.pathMatching,
          value: compiled,
        });
        // The claims stay in the unit (and the compile cache) as long as the Api: their texts are
        // joined into flat strings, where template literals would keep trees of V8
        // concatenation nodes, several per claim and 10,000 Apis of them (#16).
        const claimPath = ['spec.routes[', String(ri), '].match[', String(mi), '].path'].join('');
        const normalizedValue = path.kind === 'prefix' && path.value !== '/' ? path.value.replace(/\/+$/, '') : path.kind === 'exact' || path.kind === 'prefix' ? path.value : [path.base, path.value].join('');
        for (const host of r.spec.hosts.length > 0 ? r.spec.hosts : ['*any*']) {
          // Same host, same path rule, same header/query conditions: a true duplicate.
          const key = [host, path.kind, normalizedValue, conditionKey(m)].join('\n');
          const label = host === '*any*' ? [path.kind, ' ', normalizedValue].join('') : [path.kind, ' ', normalizedValue, ' on ', host].join('');
          claims.push({ key, api, methods: m.methods, resource, path: claimPath, label, priority: r.spec.priority });
        }
      });
    }
  });
  // Frozen once here: a unit reused from the cache is already frozen.
  for (const e of entries) deepFreeze(e);
  for (const e of fallbackEntries) deepFreeze(e);
  return Object.freeze({ entries: Object.freeze(entries), fallbackEntries: Object.freeze(fallbackEntries), claims: Object.freeze(claims), issues: Object.freeze(issues) });
}

