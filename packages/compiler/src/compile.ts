import { createHash } from 'node:crypto';
import { compileAuthMode } from './compile-auth.js';
import { canonicalJson, formatPath, resourceKey, sortResources, type ApiResource, type ConfigIssue, type CertificateResource, type PolicyRef, type Resource } from '@tollgate/model';
import { PHASES, POLICY_DEFINITIONS, validatePolicyConfig, type Phase } from '@tollgate/policies/definitions';
import { RouteTable, type RouteEntry } from '@tollgate/router';
import { deepFreeze } from './freeze.js';
import type { CompiledConfig, CompiledRoute, CompiledUpstream, PhasePolicies, PolicyDescriptor } from './types.js';
import { compileCertificates, compileUpstream } from './compile-upstreams.js';
import { checkRoute, compileActions, conditionKey, conditions, pathRule, trimBasePath } from './compile-route.js';
import { compileSubscriptions, withGenerated } from './compile-subscriptions.js';
import { compileLifecycle, withVersionCondition } from './compile-lifecycle.js';
import { compileProtocol, compileProtoDescriptors } from './compile-protocols.js';
import { compilePublishedSpec, PUBLISHED_SPEC_ROUTE, publishedSpecActions } from './compile-published-spec.js';
import { checkSelfTargets, type SelfEndpoints } from './compile-self-targets.js';

/** What the compiler cannot know from the resources themselves. */
export interface CompileOptions {
  /** The listeners of the node compiling (or validating) the set: targets pointing at them are refused. */
  readonly self?: SelfEndpoints;
}

/** Result of a compilation: a snapshot, or every issue found (never both). */
export type CompileResult = { ok: true; config: CompiledConfig } | { ok: false; issues: ConfigIssue[] };

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

interface Claim {
  api: string;
  priority: number;
  methods: readonly string[];
  resource: string;
  path: string;
  label: string;
}

function methodsOverlap(a: readonly string[], b: readonly string[]): boolean {
  return a.length === 0 || b.length === 0 || a.some((m) => b.includes(m));
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
  const sorted = sortResources(resources);
  const issues: ConfigIssue[] = [];
  if (options.self !== undefined) checkSelfTargets(sorted, options.self, issues);
  const upstreams: Record<string, CompiledUpstream> = Object.create(null) as Record<string, CompiledUpstream>;
  for (const r of sorted) if (r.kind === 'Upstream') upstreams[r.metadata.name] = compileUpstream(r);
  const certificates = compileCertificates(sorted.filter((r): r is CertificateResource => r.kind === 'Certificate'), issues);

  const subscriptionPolicies = compileSubscriptions(sorted, issues);
  // Lifecycle and versions: the variants (base path, version condition, generated policies) of each Api.
  const lifecyclePlans = compileLifecycle(sorted, issues);
  // Default versions' fallback entries go after every versioned entry of their product.
  const fallbackEntries: RouteEntry<CompiledRoute>[] = [];
  const protos = compileProtoDescriptors(sorted, issues);
  const entries: RouteEntry<CompiledRoute>[] = [];
  const claims = new Map<string, Claim[]>();
  for (const r of sorted) {
    if (r.kind !== 'Api') continue;
    const resource = resourceKey(r);
    const api = r.metadata.name;
    const plan = lifecyclePlans.get(api) ?? { group: api, variants: [{ basePath: r.spec.basePath, condition: null, fallback: false, policies: [] }] };
    if (r.spec.openapi !== undefined) {
      // The published OpenAPI document: GET/HEAD at basePath + path, before the API's routes (so
      // no route of the API shadows it), under the API-level policies (issues are reported once, by the routes).
      const spec = compilePublishedSpec(r.spec.openapi.document);
      const apiPolicies = withGenerated(resolvePolicies(resource, r, -1, []), subscriptionPolicies.get(api));
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
      checkRoute(r, ri, upstreams, resource, issues);
      const actions = { ...compileActions(route), protocol: compileProtocol(r, ri, protos, upstreams, resource, issues) };
      const first = actions.destinations[0];
      const routePolicies = withGenerated(resolvePolicies(resource, r, ri, issues), subscriptionPolicies.get(api));
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
          const claimPath = `spec.routes[${ri}].match[${mi}].path`;
          const normalizedValue = path.kind === 'prefix' && path.value !== '/' ? path.value.replace(/\/+$/, '') : path.kind === 'exact' || path.kind === 'prefix' ? path.value : `${path.base}${path.value}`;
          for (const host of r.spec.hosts.length > 0 ? r.spec.hosts : ['*any*']) {
            // Same host, same path rule, same header/query conditions: a true duplicate.
            const key = `${host}\n${path.kind}\n${normalizedValue}\n${conditionKey(m)}`;
            const label = `${path.kind} ${normalizedValue}${host === '*any*' ? '' : ` on ${host}`}`;
            const list = claims.get(key) ?? [];
            const clash = list.find((c) => c.api !== api && c.priority === r.spec.priority && methodsOverlap(c.methods, m.methods));
            if (clash) {
              issues.push({ code: 'route_conflict', message: `${label} is already claimed by ${clash.resource} (${clash.path}) with overlapping methods at the same priority ${r.spec.priority}; give one API a different priority`, resource, path: claimPath });
            }
            list.push({ api, methods: m.methods, resource, path: claimPath, label, priority: r.spec.priority });
            claims.set(key, list);
          }
        });
      }
    });
  }
  entries.push(...fallbackEntries);
  if (issues.length > 0) return { ok: false, issues };
  const hash = createHash('sha256').update(canonicalJson(sorted)).digest('hex');
  deepFreeze(upstreams);
  deepFreeze(certificates);
  for (const e of entries) deepFreeze(e);
  const config: CompiledConfig = { version, hash, routes: new RouteTable(entries), upstreams, certificates };
  return { ok: true, config: Object.freeze(config) };
}
