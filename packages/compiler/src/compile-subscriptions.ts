import { formatPath, planSpecSchema, resourceKey, type ConfigIssue, type PlanResource, type PlanSpec, type Resource, type SubscriptionResource } from '@tollgate/model';
import { PHASES, POLICY_DEFINITIONS, SubscriptionTable, validatePolicyConfig, type SubscriptionEntry } from '@tollgate/policies/definitions';
import type { PhasePolicies, PolicyDescriptor } from './types.js';

/** The generated `subscription` policies by API name, and the snapshot's subscription index. */
export interface CompiledSubscriptions {
  readonly policies: Map<string, PolicyDescriptor>;
  readonly table: SubscriptionTable;
}

/**
 * Checks every Subscription's references (an existing Consumer, Plan and, when given, Api),
 * indexes the subscriptions ONCE (a {@link SubscriptionTable}: consumer -> scope ->
 * subscriptions, each plan's spec validated once) and builds the generated `subscription` policy
 * of the APIs that need one.
 *
 * Which APIs carry the policy depends on Apis and Plans only, never on Consumers or
 * Subscriptions: every API when the config has a Plan (any API may be subscribed to, and a
 * Subscription created later reaches the gateway on the change feed, not as a recompile), else
 * the APIs that require a subscription or answer usage. The descriptor says `shared`: the policy
 * reads the gateway's serving table (this compile's, then changed in place), so an Api's compiled
 * unit holds no subscriber data and stays reusable across subscription changes (issue #16).
 */
export function compileSubscriptions(sorted: readonly Resource[], issues: ConfigIssue[]): CompiledSubscriptions {
  const consumers = new Set<string>();
  const apis = new Set<string>();
  // A product is named by `spec.product`, or by the Api's own name when it has none.
  const products = new Set<string>();
  const plans = new Map<string, PlanResource>();
  const subs: SubscriptionResource[] = [];
  for (const r of sorted) {
    if (r.kind === 'Consumer') consumers.add(r.metadata.name);
    else if (r.kind === 'Api') {
      apis.add(r.metadata.name);
      products.add(r.spec.product ?? r.metadata.name);
    } else if (r.kind === 'Plan') plans.set(r.metadata.name, r);
    else if (r.kind === 'Subscription') subs.push(r);
  }
  // Each plan named by a subscription, validated once (not once per API and subscription).
  const planSpecs = new Map<string, PlanSpec | null>();
  const planSpec = (name: string): PlanSpec | null => {
    let spec = planSpecs.get(name);
    if (spec === undefined) {
      const p = plans.get(name) as PlanResource;
      const v = planSpecSchema.safeParse(p.spec);
      if (!v.success) for (const i of v.error.issues) issues.push({ code: i.code, message: `generated subscription policy: ${i.message}`, resource: resourceKey(p), path: formatPath(['spec', ...i.path.map(String)]) });
      planSpecs.set(name, (spec = v.success ? Object.freeze(v.data) : null));
    }
    return spec;
  };
  // Every plan, so a Subscription created later on the change feed finds its plan's spec (a
  // plan no subscription names yet is validated here silently: its issues are reported once named).
  const allPlans = new Map<string, PlanSpec>();
  for (const [name, p] of plans) {
    const named = planSpecs.get(name);
    if (named !== undefined) {
      if (named !== null) allPlans.set(name, named);
      continue;
    }
    const v = planSpecSchema.safeParse(p.spec);
    if (v.success) allPlans.set(name, Object.freeze(v.data));
  }
  const entries: SubscriptionEntry[] = [];
  for (const s of subs) {
    const resource = resourceKey(s);
    const before = issues.length;
    if (!consumers.has(s.spec.consumer)) issues.push({ code: 'dangling_reference', message: `Consumer "${s.spec.consumer}" does not exist`, resource, path: 'spec.consumer' });
    if (!plans.has(s.spec.plan)) issues.push({ code: 'dangling_reference', message: `Plan "${s.spec.plan}" does not exist`, resource, path: 'spec.plan' });
    if (s.spec.api !== undefined && !apis.has(s.spec.api)) issues.push({ code: 'dangling_reference', message: `Api "${s.spec.api}" does not exist`, resource, path: 'spec.api' });
    if (s.spec.product !== undefined && !products.has(s.spec.product)) issues.push({ code: 'dangling_reference', message: `no Api belongs to product "${s.spec.product}"`, resource, path: 'spec.product' });
    if (issues.length !== before) continue;
    const spec = planSpec(s.spec.plan);
    if (spec === null) continue;
    entries.push({ name: s.metadata.name, consumer: s.spec.consumer, start: s.spec.start, end: s.spec.end, plan: { name: s.spec.plan, spec }, api: s.spec.api, product: s.spec.product });
  }
  const out = new Map<string, PolicyDescriptor>();
  // Sorted resource order: of several active subscriptions of a consumer, the first wins.
  const table = new SubscriptionTable(entries, allPlans);
  const def = POLICY_DEFINITIONS.get('subscription');
  if (!def) return { policies: out, table };
  for (const r of sorted) {
    if (r.kind !== 'Api') continue;
    const product = r.spec.product ?? r.metadata.name;
    if (!r.spec.subscriptionRequired && plans.size === 0 && r.spec.usagePath === undefined) continue;
    const base = r.spec.basePath.endsWith('/') ? r.spec.basePath.slice(0, -1) : r.spec.basePath;
    const config = {
      usagePath: r.spec.usagePath === undefined ? null : `${base}${r.spec.usagePath}`,
      required: r.spec.subscriptionRequired,
      shared: true,
      api: r.metadata.name,
      product,
    };
    const v = validatePolicyConfig('subscription', config);
    if (!v.ok) {
      for (const i of v.issues) issues.push({ code: i.code, message: `generated subscription policy: ${i.message}`, resource: resourceKey(r), path: 'spec.subscriptionRequired' });
      continue;
    }
    out.set(r.metadata.name, { name: 'subscription', priority: def.priority, config: v.config, level: 'api' });
  }
  return { policies: out, table };
}

/** Adds a generated descriptor to a route's phase lists, keeping them sorted by priority (stable). */
export function withGenerated(policies: PhasePolicies, extra: PolicyDescriptor | undefined): PhasePolicies {
  if (extra === undefined) return policies;
  const out = { ...policies } as { -readonly [P in keyof PhasePolicies]: PhasePolicies[P] };
  for (const phase of PHASES) {
    if (!POLICY_DEFINITIONS.get(extra.name)?.phases.includes(phase)) continue;
    // After every policy of higher or equal priority: the plan runs after auth, acl and route limits.
    const list = [...(policies[phase] ?? []), extra].sort((a, b) => b.priority - a.priority);
    out[phase] = list;
  }
  return out;
}
