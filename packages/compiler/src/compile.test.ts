import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import { compileConfig, joinPath } from './compile.js';

function resources(yaml: string): Resource[] {
  const r = parseResourcesYaml(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

const upstream = `
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: backend }
spec:
  targets: [{ url: "http://127.0.0.1:9001" }, { url: "http://127.0.0.1:9002/", weight: 5 }]
`;

function api(name: string, spec: string): string {
  return `---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: ${name} }\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
}

describe('compileConfig', () => {
  it('compiles routes, upstreams and sorted policies into a frozen snapshot', () => {
    const res = resources(
      upstream +
        api(
          'shop',
          `hosts: [shop.example.com]
basePath: /shop
stripBasePath: true
policies: [{ name: ip-restriction, config: { deny: ["10.0.0.0/8"] } }]
routes:
  - name: items
    match: [{ path: { prefix: /items }, methods: [GET] }, { path: { exact: /item } }]
    destination: { upstream: backend }
    timeoutMs: 1500
  - name: open
    destination: { upstream: backend }
    policies: [{ name: ip-restriction, enabled: false }]`,
        ),
      );
    const r = compileConfig(res, 7);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const c = r.config;
    expect(c.version).toBe(7);
    expect(c.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.upstreams.backend?.targets)).toBe(true);
    expect(c.upstreams.backend?.targets).toEqual([
      { origin: 'http://127.0.0.1:9001', weight: 100, labels: {} },
      { origin: 'http://127.0.0.1:9002', weight: 5, labels: {} },
    ]);
    const items = c.routes.lookup('shop.example.com', '/shop/items/1', 'GET');
    expect(items.kind === 'match' && items.value).toMatchObject({ id: 'shop/items', basePath: '/shop', stripBasePath: true, timeoutMs: 1500 });
    const exact = c.routes.lookup('shop.example.com', '/shop/item', 'DELETE');
    expect(exact.kind === 'match' && exact.value.route).toBe('items');
    if (items.kind !== 'match') throw new Error('no match');
    expect(items.value.policies.access).toEqual([{ name: 'ip-restriction', priority: 3000, config: { allow: [], deny: ['10.0.0.0/8'], message: expect.any(String) }, level: 'api' }]);
    expect(items.value.policies.response).toBeNull();
    expect(Object.isFrozen(items.value.policies.access?.[0]?.config)).toBe(true);
    const open = c.routes.lookup('shop.example.com', '/shop/other', 'GET');
    expect(open.kind === 'match' && open.value.policies.access).toBeNull();
    expect(c.routes.lookup('other.example.com', '/shop/items', 'GET').kind).toBe('not_found');
  });

  it('gives the same hash whatever the input order, and a different one when content changes', () => {
    const a = resources(upstream + api('a', 'routes: [{ name: r, destination: { upstream: backend } }]'));
    const h1 = compileConfig(a, 1);
    const h2 = compileConfig([...a].reverse(), 2);
    const b = resources(upstream + api('a', 'basePath: /x\nroutes: [{ name: r, destination: { upstream: backend } }]'));
    const h3 = compileConfig(b, 3);
    if (!h1.ok || !h2.ok || !h3.ok) throw new Error('compile failed');
    expect(h1.config.hash).toBe(h2.config.hash);
    expect(h1.config.hash).not.toBe(h3.config.hash);
  });

  it('does not freeze or change its input', () => {
    const a = resources(upstream + api('a', 'hosts: [a.com]\nroutes: [{ name: r, destination: { upstream: backend } }]'));
    compileConfig(a, 1);
    expect(Object.isFrozen((a[1] as { spec: { hosts: string[] } }).spec.hosts)).toBe(false);
  });

  it('reports a dangling upstream reference with resource and path', () => {
    const r = compileConfig(resources(api('a', 'routes: [{ name: r, destination: { upstream: nope } }]')), 1);
    expect(r).toEqual({ ok: false, issues: [expect.objectContaining({ code: 'dangling_reference', resource: 'Api/a', path: 'spec.routes[0].destination.upstream' })] });
  });

  it('reports unknown policies and invalid policy config with the path into config', () => {
    const r = compileConfig(
      resources(
        upstream +
          api(
            'a',
            `policies: [{ name: no-such-policy }]
routes:
  - name: r
    destination: { upstream: backend }
    policies: [{ name: ip-restriction, config: { allow: ["1.2.3.4", "bad"] } }]`,
          ),
      ),
      1,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([
      expect.objectContaining({ code: 'unknown_policy', resource: 'Api/a', path: 'spec.policies[0].name' }),
      expect.objectContaining({ resource: 'Api/a', path: 'spec.routes[0].policies[0].config.allow[1]' }),
    ]);
  });

  it('reports a duplicate policy at the same level', () => {
    const r = compileConfig(resources(upstream + api('a', 'policies: [{ name: ip-restriction, config: { deny: ["::1"] } }, { name: ip-restriction, config: { deny: ["::2"] } }]\nroutes: [{ name: r, destination: { upstream: backend } }]')), 1);
    expect(r.ok === false && r.issues[0]).toMatchObject({ code: 'duplicate_policy', path: 'spec.policies[1].name' });
  });

  it('refuses two APIs claiming the same host and path with overlapping methods', () => {
    const r = compileConfig(
      resources(
        upstream +
          api('a', 'hosts: [x.com]\nroutes: [{ name: r, match: [{ path: { prefix: /p } }], destination: { upstream: backend } }]') +
          api('b', 'hosts: [x.com]\nbasePath: /p\nroutes: [{ name: s, match: [{ path: { prefix: / }, methods: [GET] }], destination: { upstream: backend } }]'),
      ),
      1,
    );
    expect(r.ok === false && r.issues).toEqual([expect.objectContaining({ code: 'route_conflict', resource: 'Api/b', path: 'spec.routes[0].match[0].path' })]);
  });

  it('allows the same path on different hosts, with disjoint methods, or within one API', () => {
    const r = compileConfig(
      resources(
        upstream +
          api('a', 'hosts: [x.com]\nroutes: [{ name: r, match: [{ path: { exact: /p }, methods: [GET] }], destination: { upstream: backend } }]') +
          api('b', 'hosts: [x.com]\nroutes: [{ name: s, match: [{ path: { exact: /p }, methods: [POST] }], destination: { upstream: backend } }]') +
          api('c', 'hosts: [y.com]\nroutes: [{ name: s, match: [{ path: { exact: /p } }], destination: { upstream: backend } }, { name: t, match: [{ path: { exact: /p } }], destination: { upstream: backend } }]'),
      ),
      1,
    );
    expect(r.ok).toBe(true);
  });

  it('compiles an empty config', () => {
    const r = compileConfig([], 0);
    expect(r.ok && r.config.routes.lookup('h', '/', 'GET').kind).toBe('not_found');
  });
});

describe('joinPath', () => {
  it.each([
    ['/', '/', '/'],
    ['/', '/a', '/a'],
    ['/v1', '/', '/v1'],
    ['/v1/', '/a', '/v1/a'],
    ['/v1', '/a/b', '/v1/a/b'],
  ])('%s + %s = %s', (b, p, want) => expect(joinPath(b, p)).toBe(want));
});

describe('compileConfig: routing validation', () => {
  const issuesOf = (spec: string, extra = '') => {
    const parsed = parseResourcesYaml(upstream + extra + api('a', spec));
    if (!parsed.ok) return parsed.issues;
    const r = compileConfig(parsed.resources, 1);
    return r.ok ? [] : r.issues;
  };

  it('refuses a path regex that does not compile (RE2 has no backreferences or lookarounds)', () => {
    expect(issuesOf('routes: [{ name: r, match: [{ path: { regex: "(a)\\\\1" } }], destination: { upstream: backend } }]')).toEqual([
      expect.objectContaining({ code: 'invalid_regex', path: 'spec.routes[0].match[0].path.regex' }),
    ]);
    expect(issuesOf('routes: [{ name: r, match: [{ headers: { x-a: { regex: "(?=x)" } } }], destination: { upstream: backend } }]')).toEqual([
      expect.objectContaining({ code: 'invalid_regex', path: 'spec.routes[0].match[0].headers.x-a.regex' }),
    ]);
  });

  it('refuses a rewrite that references an unknown capture', () => {
    expect(issuesOf('routes: [{ name: r, match: [{ path: { template: "/o/{id}" } }, { path: { prefix: /p } }], rewrite: { path: "/x/{id}" }, destination: { upstream: backend } }]')).toEqual([
      expect.objectContaining({ code: 'unknown_capture', path: 'spec.routes[0].rewrite.path', message: expect.stringContaining('match[1]') }),
    ]);
    expect(issuesOf('routes: [{ name: r, rewrite: { regex: { pattern: "/(a)", substitution: "/\\\\2" } }, destination: { upstream: backend } }]')).toEqual([
      expect.objectContaining({ code: 'unknown_capture', path: 'spec.routes[0].rewrite.regex.substitution' }),
    ]);
  });

  it('refuses weights summing to 0, a bad redirect code and two actions', () => {
    expect(issuesOf('routes: [{ name: r, destinations: [{ upstream: backend, weight: 0 }] }]')).toEqual([expect.objectContaining({ path: 'spec.routes[0].destinations' })]);
    expect(issuesOf('routes: [{ name: r, redirect: { path: /x, code: 303 } }]')).toEqual([expect.objectContaining({ path: 'spec.routes[0].redirect.code' })]);
    expect(issuesOf('routes: [{ name: r, redirect: { path: /x }, destination: { upstream: backend } }]')).toEqual([expect.objectContaining({ path: 'spec.routes[0].redirect' })]);
  });

  it('refuses an unknown upstream or subset in destinations and mirror', () => {
    expect(issuesOf('routes: [{ name: r, destinations: [{ upstream: backend, weight: 1 }, { upstream: nope, weight: 1 }], mirror: { upstream: backend, subset: v9 } }]')).toEqual([
      expect.objectContaining({ code: 'dangling_reference', path: 'spec.routes[0].destinations[1].upstream' }),
      expect.objectContaining({ code: 'unknown_subset', path: 'spec.routes[0].mirror.subset' }),
    ]);
  });

  it('keeps refusing true duplicates across APIs at the same priority, and accepts them at different priorities', () => {
    const two = (pa: number, pb: number) => {
      const parsed = parseResourcesYaml(upstream + api('a', `priority: ${pa}\nroutes: [{ name: r, match: [{ path: { prefix: /p }, headers: { x: { exact: "1" } } }], destination: { upstream: backend } }]`) + api('b', `priority: ${pb}\nroutes: [{ name: r, match: [{ path: { prefix: /p }, headers: { x: { exact: "1" } } }], destination: { upstream: backend } }]`));
      if (!parsed.ok) throw new Error('parse');
      return compileConfig(parsed.resources, 1);
    };
    expect(two(0, 0)).toMatchObject({ ok: false, issues: [expect.objectContaining({ code: 'route_conflict', resource: 'Api/b' })] });
    expect(two(0, 1).ok).toBe(true);
  });
});

describe('compiler dependencies', () => {
  it('validates policies through the light definitions entry, never the runtime one', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = new URL('.', import.meta.url);
    const offenders = readdirSync(dir)
      .filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))
      .filter((n) => /^import (?!type )[^;]*from '@tollgate\/policies'/m.test(readFileSync(new URL(n, dir), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
