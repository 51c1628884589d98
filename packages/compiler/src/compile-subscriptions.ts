import { resourceKey, type ConfigIssue, type PlanResource, type Resource, type SubscriptionResource } from '@tollgate/model';
import { PHASES, POLICY_REGISTRY, validatePolicyConfig } from '@tollgate/policies';
import type { PhasePolicies, PolicyDescriptor } from './types.js';

/**
 * Checks every Subscription's references (an existing Consumer, Plan and, when given, Api) and
 * builds the generated `subscription` policy of each API that requires a subscription or is named
 * by one (an all-APIs subscription applies to every API). Returns descriptors by API name.
 */
export function compileSubscriptions(sorted: readonly Resource[], issues: ConfigIssue[]): Map<string, PolicyDescriptor> {
  const names = (kind: string) => new Set(sorted.filter((r) => r.kind === kind).map((r) => r.metadata.name));
  const consumers = names('Consumer');
  const apis = names('Api');
  // A product is named by `spec.product`, or by the Api's own name when it has none.
  const products = new Set(sorted.filter((r) => r.kind === 'Api').map((r) => (r.kind === 'Api' ? (r.spec.product ?? r.metadata.name) : '')));
  const plans = new Map(sorted.filter((r): r is PlanResource => r.kind === 'Plan').map((p) => [p.metadata.name, p]));
  const subs = sorted.filter((r): r is SubscriptionResource => r.kind === 'Subscription');
  const valid: SubscriptionResource[] = [];
  for (const s of subs) {
    const resource = resourceKey(s);
    const before = issues.length;
    if (!consumers.has(s.spec.consumer)) issues.push({ code: 'dangling_reference', message: `Consumer "${s.spec.consumer}" does not exist`, resource, path: 'spec.consumer' });
    if (!plans.has(s.spec.plan)) issues.push({ code: 'dangling_reference', message: `Plan "${s.spec.plan}" does not exist`, resource, path: 'spec.plan' });
    if (s.spec.api !== undefined && !apis.has(s.spec.api)) issues.push({ code: 'dangling_reference', message: `Api "${s.spec.api}" does not exist`, resource, path: 'spec.api' });
    if (s.spec.product !== undefined && !products.has(s.spec.product)) issues.push({ code: 'dangling_reference', message: `no Api belongs to product "${s.spec.product}"`, resource, path: 'spec.product' });
    if (issues.length === before) valid.push(s);
  }
  const out = new Map<string, PolicyDescriptor>();
  const def = POLICY_REGISTRY.get('subscription');
  if (!def) return out;
  for (const r of sorted) {
    if (r.kind !== 'Api') continue;
    const product = r.spec.product ?? r.metadata.name;
    // Per version (`api`), per product (every version), or every API (neither).
    const mine = valid.filter((s) => (s.spec.api === undefined && s.spec.product === undefined) || s.spec.api === r.metadata.name || s.spec.product === product);
    if (!r.spec.subscriptionRequired && mine.length === 0 && r.spec.usagePath === undefined) continue;
    const base = r.spec.basePath.endsWith('/') ? r.spec.basePath.slice(0, -1) : r.spec.basePath;
    const config = {
      usagePath: r.spec.usagePath === undefined ? null : `${base}${r.spec.usagePath}`,
      required: r.spec.subscriptionRequired,
      subscriptions: mine.map((s) => ({
        name: s.metadata.name,
        consumer: s.spec.consumer,
        start: s.spec.start,
        ...(s.spec.end !== undefined ? { end: s.spec.end } : {}),
        plan: { name: s.spec.plan, spec: (plans.get(s.spec.plan) as PlanResource).spec },
      })),
    };
    const v = validatePolicyConfig('subscription', config);
    if (!v.ok) {
      for (const i of v.issues) issues.push({ code: i.code, message: `generated subscription policy: ${i.message}`, resource: resourceKey(r), path: 'spec.subscriptionRequired' });
      continue;
    }
    out.set(r.metadata.name, { name: 'subscription', priority: def.priority, config: v.config, level: 'api' });
  }
  return out;
}

/** Adds a generated descriptor to a route's phase lists, keeping them sorted by priority (stable). */
export function withGenerated(policies: PhasePolicies, extra: PolicyDescriptor | undefined): PhasePolicies {
  if (extra === undefined) return policies;
  const out = { ...policies } as { -readonly [P in keyof PhasePolicies]: PhasePolicies[P] };
  for (const phase of PHASES) {
    if (!POLICY_REGISTRY.get(extra.name)?.phases.includes(phase)) continue;
    // After every policy of higher or equal priority: the plan runs after auth, acl and route limits.
    const list = [...(policies[phase] ?? []), extra].sort((a, b) => b.priority - a.priority);
    out[phase] = list;
  }
  return out;
}
