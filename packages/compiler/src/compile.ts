import { createHash } from 'node:crypto';
import { canonicalJson, formatPath, resourceKey, sortResources, type ApiResource, type ConfigIssue, type PolicyRef, type Resource, type UpstreamResource } from '@tollgate/model';
import { PHASES, POLICY_REGISTRY, validatePolicyConfig, type Phase } from '@tollgate/policies';
import { RouteTable, type RouteEntry } from '@tollgate/router';
import { deepFreeze } from './freeze.js';
import type { CompiledConfig, CompiledRoute, CompiledUpstream, PhasePolicies, PolicyDescriptor } from './types.js';

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

function compileUpstream(u: UpstreamResource): CompiledUpstream {
  return {
    name: u.metadata.name,
    targets: u.spec.targets.map((t) => ({ origin: new URL(t.url).origin, weight: t.weight })),
    connectMs: u.spec.timeouts.connectMs,
    responseHeadersMs: u.spec.timeouts.responseHeadersMs,
    idleMs: u.spec.timeouts.idleMs,
    maxConnectionsPerTarget: u.spec.maxConnectionsPerTarget,
  };
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
    const def = POLICY_REGISTRY.get(ref.name);
    if (!def) {
      issues.push({ code: 'unknown_policy', message: `unknown policy "${ref.name}"; known: ${[...POLICY_REGISTRY.keys()].join(', ')}`, resource, path: `${path}.name` });
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
    const list = descriptors.filter((d) => POLICY_REGISTRY.get(d.name)?.phases.includes(phase));
    out[phase] = list.length > 0 ? list : null;
  }
  return out;
}

interface Claim {
  api: string;
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
 * Conflicts: two different APIs that claim the same host pattern and the same exact path (or the
 * same prefix) with overlapping methods are refused with `route_conflict`, because which one
 * should win is an operator decision, not a tie to break silently. Within one API, declared order
 * decides (the first route wins). Across APIs whose claims differ in specificity, the route
 * table's precedence applies (see `RouteTable`); at equal specificity, APIs are ordered by name.
 */
export function compileConfig(resources: readonly Resource[], version: number): CompileResult {
  const sorted = sortResources(resources);
  const issues: ConfigIssue[] = [];
  const upstreams: Record<string, CompiledUpstream> = Object.create(null) as Record<string, CompiledUpstream>;
  for (const r of sorted) if (r.kind === 'Upstream') upstreams[r.metadata.name] = compileUpstream(r);

  const entries: RouteEntry<CompiledRoute>[] = [];
  const claims = new Map<string, Claim[]>();
  for (const r of sorted) {
    if (r.kind !== 'Api') continue;
    const resource = resourceKey(r);
    const api = r.metadata.name;
    const basePath = r.spec.basePath === '/' ? '' : r.spec.basePath.replace(/\/$/, '');
    r.spec.routes.forEach((route, ri) => {
      if (!(route.destination.upstream in upstreams)) {
        issues.push({ code: 'dangling_reference', message: `Upstream/${route.destination.upstream} does not exist`, resource, path: `spec.routes[${ri}].destination.upstream` });
      }
      const compiled: CompiledRoute = {
        id: `${api}/${route.name}`,
        api,
        route: route.name,
        basePath,
        stripBasePath: r.spec.stripBasePath,
        upstream: route.destination.upstream,
        timeoutMs: route.timeoutMs ?? null,
        policies: resolvePolicies(resource, r, ri, issues),
      };
      route.match.forEach((m, mi) => {
        const kind = 'exact' in m.path ? 'exact' : 'prefix';
        const value = joinPath(r.spec.basePath, 'exact' in m.path ? m.path.exact : m.path.prefix);
        entries.push({ hosts: [...r.spec.hosts], path: { kind, value }, methods: [...m.methods], value: compiled });
        const claimPath = `spec.routes[${ri}].match[${mi}].path`;
        const normalizedValue = kind === 'prefix' && value !== '/' ? value.replace(/\/+$/, '') : value;
        for (const host of r.spec.hosts.length > 0 ? r.spec.hosts : ['*any*']) {
          const key = `${host}\n${kind}\n${normalizedValue}`;
          const label = `${kind} ${normalizedValue}${host === '*any*' ? '' : ` on ${host}`}`;
          const list = claims.get(key) ?? [];
          const clash = list.find((c) => c.api !== api && methodsOverlap(c.methods, m.methods));
          if (clash) {
            issues.push({ code: 'route_conflict', message: `${label} is already claimed by ${clash.resource} (${clash.path}) with overlapping methods`, resource, path: claimPath });
          }
          list.push({ api, methods: m.methods, resource, path: claimPath, label });
          claims.set(key, list);
        }
      });
    });
  }
  if (issues.length > 0) return { ok: false, issues };
  const hash = createHash('sha256').update(canonicalJson(sorted)).digest('hex');
  deepFreeze(upstreams);
  for (const e of entries) deepFreeze(e);
  const config: CompiledConfig = { version, hash, routes: new RouteTable(entries), upstreams };
  return { ok: true, config: Object.freeze(config) };
}
