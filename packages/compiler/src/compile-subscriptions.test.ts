import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import { SubscriptionTable } from '@tollgate/policies';
import { compileConfig } from './compile.js';
import { CompileCache } from './compile-cache.js';
import type { CompiledConfig, PolicyDescriptor } from './types.js';

function resources(yaml: string): Resource[] {
  const r = parseResourcesYaml(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

const doc = (kind: string, name: string, spec: string) => `---\napiVersion: tollgate.dev/v1\nkind: ${kind}\nmetadata: { name: ${name} }\nspec: ${spec}\n`;
const api = (name: string, extra = '') => doc('Api', name, `{ basePath: /${name}, ${extra} routes: [{ name: r1, match: [{ path: { prefix: /one } }], destination: { upstream: u } }, { name: r2, match: [{ path: { prefix: /two } }], destination: { upstream: u } }] }`);

const base =
  doc('Upstream', 'u', '{ targets: [{ url: "http://127.0.0.1:1" }] }') +
  doc('Plan', 'gold', '{ limits: [{ limit: 10, window: 1m }] }') +
  doc('Consumer', 'alice', '{}') +
  doc('Consumer', 'bob', '{}');

function compile(yaml: string): CompiledConfig {
  const r = compileConfig(resources(yaml), 1);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

type Generated = { shared: boolean; api: string; product: string; required: boolean; usagePath: string | null; subscriptions: unknown[] };
const generated = (c: CompiledConfig): Map<string, Generated> => {
  const out = new Map<string, Generated>();
  for (const e of c.routes.entries) {
    const d = e.value.policies.access?.find((p: PolicyDescriptor) => p.name === 'subscription');
    if (d !== undefined) out.set(e.value.id, d.config as Generated);
  }
  return out;
};

describe('subscriptions indexed once per compile', () => {
  it('every route of every API reads the snapshot\'s one table; no subscriber list is copied', () => {
    const c = compile(base + api('a', 'subscriptionRequired: true,') + api('b') + api('c', 'product: shop,') + doc('Subscription', 'alice-all', '{ consumer: alice, plan: gold, start: "2026-01-01T00:00:00Z" }') + doc('Subscription', 'bob-shop', '{ consumer: bob, product: shop, plan: gold, start: "2026-01-01T00:00:00Z" }'));
    const g = generated(c);
    expect([...g.keys()].sort()).toEqual(['a/r1', 'a/r2', 'b/r1', 'b/r2', 'c/r1', 'c/r2']);
    for (const x of g.values()) expect(x).toMatchObject({ shared: true, subscriptions: [] });
    expect(c.subscriptions).toBeInstanceOf(SubscriptionTable);
    expect(c.subscriptions.size).toBe(2);
    expect(g.get('a/r1')).toMatchObject({ api: 'a', product: 'a', required: true });
    expect(g.get('c/r2')).toMatchObject({ api: 'c', product: 'shop', required: false });
    expect(c.subscriptions.namesFor('c', 'shop')).toEqual(['alice-all', 'bob-shop']);
    expect(c.subscriptions.namesFor('b', 'b')).toEqual(['alice-all']);
  });

  it('which APIs carry the policy depends on Apis and Plans only: every API once a Plan exists, else those requiring one or answering usage', () => {
    const withPlan = compile(base + api('a') + api('b', 'usagePath: /_usage,') + api('c') + doc('Subscription', 'alice-c', '{ consumer: alice, api: c, plan: gold, start: "2026-01-01T00:00:00Z" }'));
    const g = generated(withPlan);
    expect([...g.keys()].sort()).toEqual(['a/r1', 'a/r2', 'b/r1', 'b/r2', 'c/r1', 'c/r2']);
    expect(g.get('b/r1')?.usagePath).toBe('/b/_usage');
    expect(withPlan.subscriptions.active('alice', 'b', 'b', Date.parse('2026-02-01T00:00:00Z'))).toBeUndefined();
    expect(withPlan.subscriptions.active('alice', 'c', 'c', Date.parse('2026-02-01T00:00:00Z'))?.name).toBe('alice-c');
    // The same set without its Subscription compiles to the same routes (a Subscription is a delta).
    const without = compile(base + api('a') + api('b', 'usagePath: /_usage,') + api('c'));
    expect([...generated(without).entries()]).toEqual([...g.entries()]);
    expect(without.hash).toBe(withPlan.hash);
    const noPlan = compile(base.replace(/---\napiVersion: tollgate.dev\/v1\nkind: Plan[^]*?(?=---)/, '') + api('a') + api('b', 'usagePath: /_usage,') + api('r', 'subscriptionRequired: true,'));
    expect([...generated(noPlan).keys()].sort()).toEqual(['b/r1', 'b/r2', 'r/r1', 'r/r2']);
  });

  it('the plan spec is shared (validated once), defaults filled; every plan is in the table for subscriptions created later', () => {
    const c = compile(base + doc('Plan', 'silver', '{ limits: [] }') + api('a') + api('b') + doc('Subscription', 's1', '{ consumer: alice, plan: gold, start: "2026-01-01T00:00:00Z" }') + doc('Subscription', 's2', '{ consumer: bob, plan: gold, start: "2026-01-01T00:00:00Z" }'));
    const table = c.subscriptions;
    const t = Date.parse('2026-02-01T00:00:00Z');
    const s1 = table.active('alice', 'a', 'a', t);
    const s2 = table.active('bob', 'b', 'b', t);
    expect(s1?.info.planSpec).toBe(s2?.info.planSpec);
    expect(s1?.info.planSpec).toMatchObject({ limits: [{ limit: 10, window: '1m' }], failMode: 'open' });
    expect(Object.isFrozen(s1?.info)).toBe(true);
    expect([...table.plans.keys()].sort()).toEqual(['gold', 'silver']);
  });

  it('a Consumer or Subscription change leaves the snapshot hash and every compiled Api unit as they were', () => {
    const cache = new CompileCache();
    const first = compileConfig(resources(base + api('a') + api('b')), 1, { cache });
    const second = compileConfig(resources(base + api('a') + api('b') + doc('Consumer', 'carol', '{ groups: [x] }') + doc('Subscription', 's', '{ consumer: carol, plan: gold, start: "2026-01-01T00:00:00Z" }')), 2, { cache });
    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(cache.misses).toBe(0);
    expect(second.config.hash).toBe(first.config.hash);
    expect(second.config.routes.entries.map((e) => e.value)).toEqual(first.config.routes.entries.map((e) => e.value));
    expect(second.config.subscriptions.namesFor('a', 'a')).toEqual(['s']);
  });

  it('dangling references are still refused, each on its subscription', () => {
    const r = compileConfig(resources(base + api('a') + doc('Subscription', 's1', '{ consumer: carol, plan: gold, start: "2026-01-01T00:00:00Z" }') + doc('Subscription', 's2', '{ consumer: alice, plan: silver, api: z, start: "2026-01-01T00:00:00Z" }') + doc('Subscription', 's3', '{ consumer: alice, plan: gold, product: none, start: "2026-01-01T00:00:00Z" }')), 1);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => `${i.resource} ${i.path} ${i.code}`)).toEqual([
      'Subscription/s1 spec.consumer dangling_reference',
      'Subscription/s2 spec.plan dangling_reference',
      'Subscription/s2 spec.api dangling_reference',
      'Subscription/s3 spec.product dangling_reference',
    ]);
  });

  it('a table cannot be attached by hand: only the compiler makes one', () => {
    const r = compileConfig(resources(base + doc('Api', 'a', '{ basePath: /a, policies: [{ name: subscription, config: { table: { size: 1 } } }], routes: [{ name: r, destination: { upstream: u } }] }')), 1);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path)).toEqual(['spec.policies[0].config.table']);
  });
});
