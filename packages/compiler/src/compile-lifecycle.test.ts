import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import type { SubscriptionTable } from '@tollgate/policies';
import { compileConfig } from './compile.js';
import type { CompiledConfig, CompiledRoute } from './types.js';

function resources(yaml: string): Resource[] {
  const r = parseResourcesYaml(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

const base = `
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: u1 }
spec: { targets: [{ url: "http://127.0.0.1:9001" }] }
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: u2 }
spec: { targets: [{ url: "http://127.0.0.1:9002" }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: alice }
spec: {}
`;

function api(name: string, spec: string): string {
  return `---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: ${name} }\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
}

function versions(scheme: string, extra = ''): string {
  return (
    api('orders-v1', `product: orders\nversion: v1\nbasePath: /orders\nversioning: { scheme: ${scheme}, default: true }\n${extra}routes: [{ name: all, destination: { upstream: u1 } }]`) +
    api('orders-v2', `product: orders\nversion: v2\nbasePath: /orders\nversioning: { scheme: ${scheme} }\nroutes: [{ name: all, destination: { upstream: u2 } }]`)
  );
}

function compile(yaml: string): CompiledConfig {
  const r = compileConfig(resources(yaml), 1);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

function issues(yaml: string): Array<{ code: string; path: string; resource?: string }> {
  const r = compileConfig(resources(yaml), 1);
  if (r.ok) throw new Error('expected issues');
  return r.issues.map((i) => ({ code: i.code, path: i.path, ...(i.resource ? { resource: i.resource } : {}) }));
}

function hit(c: CompiledConfig, path: string, headers: Record<string, string> = {}): CompiledRoute | null {
  const r = c.routes.lookup('x', path, 'GET', headers);
  return r.kind === 'match' ? r.value : null;
}

describe('versions', () => {
  it('path: /<version> before the base path, the default version also unprefixed', () => {
    const c = compile(base + versions('path'));
    expect(hit(c, '/v1/orders/1')?.api).toBe('orders-v1');
    expect(hit(c, '/v2/orders/1')?.api).toBe('orders-v2');
    expect(hit(c, '/orders/1')?.api).toBe('orders-v1');
    expect(hit(c, '/orders/1')?.basePath).toBe('/orders');
    expect(hit(c, '/v2/orders/1')?.basePath).toBe('/v2/orders');
    expect(hit(c, '/v3/orders/1')).toBeNull();
  });

  it('header: the header names the version (with or without "v"), absent means the default, unknown matches nothing', () => {
    const c = compile(base + versions('header'));
    expect(hit(c, '/orders/1', { 'accept-version': 'v2' })?.api).toBe('orders-v2');
    expect(hit(c, '/orders/1', { 'accept-version': '2' })?.api).toBe('orders-v2');
    expect(hit(c, '/orders/1', { 'accept-version': 'V1' })?.api).toBe('orders-v1');
    expect(hit(c, '/orders/1')?.api).toBe('orders-v1');
    expect(hit(c, '/orders/1', { 'accept-version': 'v3' })).toBeNull();
    // Header versions add Vary to every answer.
    const lc = hit(c, '/orders/1', { 'accept-version': 'v2' })?.policies.response?.find((d) => d.name === 'lifecycle');
    expect((lc?.config as { vary: string }).vary).toBe('accept-version');
  });

  it('a configurable header', () => {
    const yaml = base + versions('header').replaceAll('scheme: header', 'scheme: header, header: X-Api-Version');
    const c = compile(yaml);
    expect(hit(c, '/orders', { 'x-api-version': 'v2' })?.api).toBe('orders-v2');
    expect(hit(c, '/orders', { 'accept-version': 'v2' })?.api).toBe('orders-v1');
  });

  it('mediaType: Accept version parameter; the default falls back and refuses a named unknown version', () => {
    const c = compile(base + versions('mediaType'));
    expect(hit(c, '/orders', { accept: 'application/json; version=2' })?.api).toBe('orders-v2');
    expect(hit(c, '/orders', { accept: 'text/html, application/json;version="v2";q=0.9' })?.api).toBe('orders-v2');
    expect(hit(c, '/orders', { accept: 'application/json; version=1' })?.api).toBe('orders-v1');
    const fallback = hit(c, '/orders', { accept: 'application/json' });
    expect(fallback?.api).toBe('orders-v1');
    const lc = fallback?.policies.access?.find((d) => d.name === 'lifecycle');
    expect((lc?.config as { refuseNamedVersion: boolean }).refuseNamedVersion).toBe(true);
    // The unknown version reaches the fallback, whose lifecycle policy answers 404.
    expect(hit(c, '/orders', { accept: 'application/json; version=20' })?.api).toBe('orders-v1');
  });

  it('refuses mixed schemes, duplicate labels, two defaults and a route matching the version header', () => {
    const mixed = base + api('a1', 'product: p\nversion: v1\nversioning: { scheme: path }\nroutes: [{ name: r, destination: { upstream: u1 } }]') + api('a2', 'product: p\nversion: v2\nversioning: { scheme: header }\nroutes: [{ name: r, destination: { upstream: u1 } }]');
    expect(issues(mixed).map((i) => i.code)).toContain('version_scheme_mismatch');
    const dup = base + api('a1', 'product: p\nversion: v1\nversioning: { scheme: path, default: true }\nroutes: [{ name: r, destination: { upstream: u1 } }]') + api('a2', 'product: p\nversion: "1"\nversioning: { scheme: path, default: true }\nroutes: [{ name: r, destination: { upstream: u1 } }]');
    expect(issues(dup).map((i) => i.code)).toEqual(expect.arrayContaining(['duplicate_default_version', 'duplicate_version']));
    const conflict = base + api('a1', 'version: v1\nversioning: { scheme: header }\nroutes: [{ name: r, match: [{ headers: { accept-version: { exact: x } } }], destination: { upstream: u1 } }]');
    expect(issues(conflict)).toEqual([{ code: 'version_header_conflict', path: 'spec.routes[0].match[0].headers.accept-version', resource: 'Api/a1' }]);
  });
});

describe('lifecycle', () => {
  it('published (the default) generates nothing', () => {
    const c = compile(base + api('a', 'routes: [{ name: r, destination: { upstream: u1 } }]'));
    expect(hit(c, '/x')?.policies.access).toBeNull();
  });

  it('deprecated: the lifecycle policy carries the rendered headers, successor link and docs link', () => {
    const c = compile(
      base +
        versions('path', 'lifecycle: { state: deprecated, deprecatedAt: "2026-01-01T00:00:00Z", sunsetAt: "2026-07-01T00:00:00Z", successor: orders-v2, link: "https://docs.example.com/orders-v1" }\n'),
    );
    const d = hit(c, '/v1/orders')?.policies.access?.find((p) => p.name === 'lifecycle');
    expect(d?.priority).toBeGreaterThan(3000);
    expect(d?.config).toMatchObject({
      state: 'deprecated',
      deprecation: `@${Date.parse('2026-01-01T00:00:00Z') / 1000}`,
      sunsetMs: Date.parse('2026-07-01T00:00:00Z'),
      links: ['</v2/orders>; rel="successor-version"', '<https://docs.example.com/orders-v1>; rel="deprecation"; type="text/html"'],
    });
  });

  it('draft: a lifecycle-preview step runs after auth (before the auth gate) with the preview consumers', () => {
    const c = compile(base + api('a', 'lifecycle: { state: draft, previewConsumers: [alice] }\npolicies: [{ name: key-auth }]\nroutes: [{ name: r, destination: { upstream: u1 } }]'));
    const names = hit(c, '/x')?.policies.access?.map((d) => d.name);
    expect(names).toEqual(['key-auth', 'lifecycle-preview']);
    expect(hit(c, '/x')?.policies.access?.[1]?.config).toEqual({ consumers: ['alice'] });
  });

  it('refuses a missing successor or preview consumer, a deprecation without date and a hand-attached lifecycle policy', () => {
    const bad = base + api('a', 'lifecycle: { state: deprecated, successor: nope, previewConsumers: [bob] }\npolicies: [{ name: lifecycle, config: {} }]\nroutes: [{ name: r, destination: { upstream: u1 } }]');
    expect(issues(bad)).toEqual(expect.arrayContaining([
      { code: 'generated_policy', path: 'spec.policies[0].name', resource: 'Api/a' },
      { code: 'dangling_reference', path: 'spec.lifecycle.successor', resource: 'Api/a' },
      { code: 'dangling_reference', path: 'spec.lifecycle.previewConsumers[0]', resource: 'Api/a' },
      { code: 'missing_field', path: 'spec.lifecycle.deprecatedAt', resource: 'Api/a' },
    ]));
  });
});

describe('subscriptions per product', () => {
  it('a product subscription applies to every version; an api subscription to one', () => {
    const subs = `
---
apiVersion: tollgate.dev/v1
kind: Plan
metadata: { name: basic }
spec: { limits: [{ limit: 10, window: 1m }] }
---
apiVersion: tollgate.dev/v1
kind: Subscription
metadata: { name: all-orders }
spec: { consumer: alice, product: orders, plan: basic, start: "2026-01-01T00:00:00Z" }
---
apiVersion: tollgate.dev/v1
kind: Subscription
metadata: { name: only-v2 }
spec: { consumer: alice, api: orders-v2, plan: basic, start: "2026-01-01T00:00:00Z" }
`;
    const c = compile(base + versions('path') + subs);
    const of = (p: string) => {
      const config = hit(c, p)?.policies.access?.find((d) => d.name === 'subscription')?.config as { shared: boolean; api: string; product: string };
      expect(config.shared).toBe(true);
      return c.subscriptions.namesFor(config.api, config.product);
    };
    expect(of('/v1/orders')).toEqual(['all-orders']);
    expect(of('/v2/orders')).toEqual(['all-orders', 'only-v2']);
    expect(issues(base + versions('path') + subs.replace('product: orders', 'product: invoices')).map((i) => i.path)).toEqual(['spec.product']);
  });
});
