import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import { SubscriptionTable } from '@tollgate/policies';
import { compileConfig } from './compile.js';
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

type Generated = { table: SubscriptionTable; api: string; product: string; required: boolean; usagePath: string | null; subscriptions: unknown[] };
const generated = (c: CompiledConfig): Map<string, Generated> => {
  const out = new Map<string, Generated>();
  for (const e of c.routes.entries) {
    const d = e.value.policies.access?.find((p: PolicyDescriptor) => p.name === 'subscription');
    if (d !== undefined) out.set(e.value.id, d.config as Generated);
  }
  return out;
};

describe('subscriptions indexed once per compile', () => {
  it('every route of every API references the one table; no subscriber list is copied', () => {
    const c = compile(base + api('a', 'subscriptionRequired: true,') + api('b') + api('c', 'product: shop,') + doc('Subscription', 'alice-all', '{ consumer: alice, plan: gold, start: "2026-01-01T00:00:00Z" }') + doc('Subscription', 'bob-shop', '{ consumer: bob, product: shop, plan: gold, start: "2026-01-01T00:00:00Z" }'));
    const g = generated(c);
    expect([...g.keys()].sort()).toEqual(['a/r1', 'a/r2', 'b/r1', 'b/r2', 'c/r1', 'c/r2']);
    const tables = new Set([...g.values()].map((x) => x.table));
    expect(tables.size).toBe(1);
    const table = [...tables][0] as SubscriptionTable;
    expect(table).toBeInstanceOf(SubscriptionTable);
    expect(table.size).toBe(2);
    for (const x of g.values()) expect(x.subscriptions).toEqual([]);
    expect(g.get('a/r1')).toMatchObject({ api: 'a', product: 'a', required: true });
    expect(g.get('c/r2')).toMatchObject({ api: 'c', product: 'shop', required: false });
    expect(table.namesFor('c', 'shop')).toEqual(['alice-all', 'bob-shop']);
    expect(table.namesFor('b', 'b')).toEqual(['alice-all']);
  });

  it('an API no subscription names, not requiring one and without usagePath, gets no policy', () => {
    const c = compile(base + api('a') + api('b', 'usagePath: /_usage,') + api('c') + doc('Subscription', 'alice-c', '{ consumer: alice, api: c, plan: gold, start: "2026-01-01T00:00:00Z" }'));
    const g = generated(c);
    expect([...g.keys()].sort()).toEqual(['b/r1', 'b/r2', 'c/r1', 'c/r2']);
    expect(g.get('b/r1')?.usagePath).toBe('/b/_usage');
    expect(g.get('b/r1')?.table.active('alice', 'b', 'b', Date.parse('2026-02-01T00:00:00Z'))).toBeUndefined();
    expect(g.get('c/r1')?.table.active('alice', 'c', 'c', Date.parse('2026-02-01T00:00:00Z'))?.name).toBe('alice-c');
  });

  it('the plan spec is shared (validated once), defaults filled', () => {
    const c = compile(base + api('a') + api('b') + doc('Subscription', 's1', '{ consumer: alice, plan: gold, start: "2026-01-01T00:00:00Z" }') + doc('Subscription', 's2', '{ consumer: bob, plan: gold, start: "2026-01-01T00:00:00Z" }'));
    const table = generated(c).get('a/r1')?.table as SubscriptionTable;
    const t = Date.parse('2026-02-01T00:00:00Z');
    const s1 = table.active('alice', 'a', 'a', t);
    const s2 = table.active('bob', 'b', 'b', t);
    expect(s1?.info.planSpec).toBe(s2?.info.planSpec);
    expect(s1?.info.planSpec).toMatchObject({ limits: [{ limit: 10, window: '1m' }], failMode: 'open' });
    expect(Object.isFrozen(s1?.info)).toBe(true);
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
