import type { CompiledConfig, CompiledRoute, CompiledUpstream } from '@tollgate/compiler';
import { POLICY_REGISTRY, withAuthGate, type AccessStep, type PolicyDeps, type ResponseStep } from '@tollgate/policies';
import type { RouteTable } from '@tollgate/router';
import { poolKey, SmoothWeightedRoundRobin, type PoolRegistry, type PoolSettings } from '@tollgate/upstream';
import type { Dispatcher } from 'undici';

/** One upstream target with its (shared) connection pool. */
export interface RuntimeTarget {
  readonly origin: string;
  /** `host[:port]` of the origin, sent as Host when the gateway does not preserve the client's. */
  readonly host: string;
  readonly pool: Dispatcher;
}

/** A route with everything the hot path needs, precomputed when the snapshot is installed. */
export interface RuntimeRoute {
  readonly id: string;
  readonly api: string;
  readonly route: string;
  readonly upstream: string;
  readonly balancer: SmoothWeightedRoundRobin<RuntimeTarget>;
  /** Bound access methods by priority, or null (the hot path tests `!== null`). */
  readonly access: readonly AccessStep[] | null;
  readonly response: readonly ResponseStep[] | null;
  /** Route deadline for response headers, or undefined to use the upstream's timeout. */
  readonly headersDeadlineMs: number | undefined;
  /** Base path to remove before forwarding, or null. */
  readonly stripPrefix: string | null;
}

/** The serving state: a compiled config with instantiated policies and live pools. */
export interface RuntimeSnapshot {
  readonly version: number;
  readonly hash: string;
  readonly routes: RouteTable<RuntimeRoute>;
}

function settingsOf(u: CompiledUpstream): PoolSettings {
  return { connections: u.maxConnectionsPerTarget, connectTimeoutMs: u.connectMs, headersTimeoutMs: u.responseHeadersMs, bodyTimeoutMs: u.idleMs };
}

/**
 * Instantiates a compiled config: pools (reused from the registry where unchanged), one balancer
 * per upstream, and policy instances per route. Throws if a policy cannot be built, in which case
 * the caller keeps the previous snapshot.
 */
export function instantiate(config: CompiledConfig, pools: PoolRegistry<Dispatcher & { close(): Promise<void>; destroy(): Promise<void> }>, deps: PolicyDeps): RuntimeSnapshot {
  const upstreams = Object.values(config.upstreams);
  const wanted = upstreams.flatMap((u) => u.targets.map((t) => ({ origin: t.origin, settings: settingsOf(u) })));
  const live = pools.sync(wanted);
  const balancers = new Map<string, SmoothWeightedRoundRobin<RuntimeTarget>>();
  for (const u of upstreams) {
    const targets = u.targets.map((t) => ({
      weight: t.weight,
      value: Object.freeze({ origin: t.origin, host: new URL(t.origin).host, pool: live.get(poolKey(t.origin, settingsOf(u))) as Dispatcher }),
    }));
    balancers.set(u.name, new SmoothWeightedRoundRobin(targets));
  }
  const routes = config.routes.map((r: CompiledRoute): RuntimeRoute => {
    const build = (phase: 'access' | 'response') => {
      const list = r.policies[phase];
      if (list === null) return null;
      return list.map((d) => {
        const def = POLICY_REGISTRY.get(d.name);
        if (!def) throw new Error(`policy "${d.name}" is not registered in this gateway`);
        const instance = def.build(d.config, deps);
        const fn = instance[phase];
        if (!fn) throw new Error(`policy "${d.name}" declares phase "${phase}" but has no such method`);
        return fn.bind(instance);
      });
    };
    const access = build('access') as AccessStep[] | null;
    const accessNames = r.policies.access?.map((d) => d.name) ?? [];
    const balancer = balancers.get(r.upstream);
    if (!balancer) throw new Error(`route ${r.id}: upstream "${r.upstream}" missing from the snapshot`);
    return Object.freeze({
      id: r.id,
      api: r.api,
      route: r.route,
      upstream: r.upstream,
      balancer,
      // The auth gate (401 when no auth policy found a credential) follows the last auth policy.
      access: access === null ? null : withAuthGate(accessNames, access, (n) => POLICY_REGISTRY.get(n)?.authenticates === true),
      response: build('response') as ResponseStep[] | null,
      headersDeadlineMs: r.timeoutMs ?? undefined,
      stripPrefix: r.stripBasePath && r.basePath !== '' ? r.basePath : null,
    });
  });
  return Object.freeze({ version: config.version, hash: config.hash, routes });
}
