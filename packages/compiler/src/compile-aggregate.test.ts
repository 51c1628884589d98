import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type ConfigIssue } from '@tollgate/model';
import { parseTemplate } from './compile-aggregate.js';
import { compileConfig } from './compile.js';

describe('parseTemplate', () => {
  it('splits literal text and references of every source', () => {
    const r = parseTemplate('/users/{path.id}/x-{query.page}{header.X-Tenant}{consumer.name}/{resp.user.address.city}');
    expect(r).toEqual({
      ok: true,
      template: {
        parts: [
          { text: '/users/' },
          { source: 'path', key: 'id' },
          { text: '/x-' },
          { source: 'query', key: 'page' },
          { source: 'header', key: 'x-tenant' },
          { source: 'consumer', key: 'name' },
          { text: '/' },
          { source: 'resp', backend: 'user', field: ['address', 'city'] },
        ],
      },
    });
  });

  it('a template without references is one text part; an empty one has none', () => {
    expect(parseTemplate('/static')).toEqual({ ok: true, template: { parts: [{ text: '/static' }] } });
    expect(parseTemplate('')).toEqual({ ok: true, template: { parts: [] } });
  });

  it.each([
    ['/a/{foo.x}', 'unknown source "foo"'],
    ['/a/{path}', 'name what to take'],
    ['/a/{path.id', 'is not closed'],
    ['/a/path.id}', 'closes nothing'],
    ['/a/{resp.user}', '{resp.<backend>.<field>'],
    ['/a/{resp.user..id}', '{resp.<backend>.<field>'],
    ['/a/{consumer.email}', 'the consumer has name, customId, groups'],
    ['/a/{header.x y}', 'is not an HTTP field name'],
    ['/a/{path.{id}}', 'inside the reference'],
  ])('refuses %s', (t, message) => {
    const r = parseTemplate(t);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(message);
  });
});

const upstreams = `
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: users }
spec: { targets: [{ url: "http://127.0.0.1:9001", labels: { v: blue } }], subsets: [{ name: blue, labels: { v: blue } }] }
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: orders }
spec: { targets: [{ url: "http://127.0.0.1:9002" }] }
`;

function compileRoute(route: string): { ok: true; actions: unknown } | { ok: false; issues: ConfigIssue[] } {
  const yaml = `${upstreams}---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: shop }
spec:
  basePath: /shop
  routes:
${route.replace(/^/gm, '    ')}
`;
  const parsed = parseResourcesYaml(yaml);
  if (!parsed.ok) return { ok: false, issues: parsed.issues };
  const c = compileConfig(parsed.resources, 1);
  if (!c.ok) return c;
  const entry = c.config.routes.entries.find((e) => e.value.route === 'agg');
  return { ok: true, actions: entry?.value.actions };
}

describe('aggregate routes in the compiler', () => {
  it('compiles templates, groups and the sequential order into snapshot data', () => {
    const r = compileRoute(`- name: agg
  match: [{ path: { template: "/profile/{id}" } }]
  aggregate:
    mode: sequential
    budgetMs: 500
    backends:
      - { name: user, upstream: users, path: "/users/{path.id}", allow: [id, address.city], rename: { id: userId } }
      - { name: orders, upstream: orders, path: /orders, query: { user: "{resp.user.id}" }, extract: data.items, group: recent }
      - { name: extra, upstream: users, subset: blue, path: /x, merge: true }`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const a = (r.actions as { aggregate: Record<string, unknown> }).aggregate;
    expect(a).toMatchObject({ budgetMs: 500, partial: 200, maxBodyBytes: 1048576 });
    expect(a.backends).toMatchObject([
      { name: 'user', upstream: 'users', subset: null, method: 'GET', group: 'user', merge: false, allow: [['id'], ['address', 'city']], rename: [['id', 'userId']], after: [], path: { parts: [{ text: '/users/' }, { source: 'path', key: 'id' }] } },
      { name: 'orders', group: 'recent', extract: ['data', 'items'], after: [0], query: [['user', { parts: [{ source: 'resp', backend: 'user', field: ['id'] }] }]] },
      { name: 'extra', subset: 'blue', group: null, merge: true, after: [1] },
    ]);
    expect(Object.isFrozen(a.backends)).toBe(true);
  });

  const refused = (route: string): ConfigIssue[] => {
    const r = compileRoute(route);
    if (r.ok) throw new Error('expected the route to be refused');
    return r.issues;
  };

  it('refuses a response reference to an unknown backend', () => {
    const issues = refused(`- name: agg
  aggregate:
    backends: [{ name: a, upstream: users, path: "/x/{resp.nobody.id}" }]`);
    expect(issues).toEqual([expect.objectContaining({ code: 'unknown_backend', resource: 'Api/shop', path: 'spec.routes[0].aggregate.backends[0].path' })]);
  });

  it('refuses a backend used before it runs: a later one in sequential mode, one not in dependsOn in parallel mode, itself', () => {
    const seq = refused(`- name: agg
  aggregate:
    mode: sequential
    backends:
      - { name: a, upstream: users, path: /a, query: { x: "{resp.b.id}" } }
      - { name: b, upstream: users, path: /b }`);
    expect(seq).toEqual([expect.objectContaining({ code: 'backend_not_ready', path: 'spec.routes[0].aggregate.backends[0].query.x' })]);
    expect(seq[0]?.message).toContain('sequential');
    const par = refused(`- name: agg
  aggregate:
    backends:
      - { name: a, upstream: users, path: /a }
      - { name: b, upstream: users, path: "/b/{resp.a.id}" }`);
    expect(par).toEqual([expect.objectContaining({ code: 'backend_not_ready', path: 'spec.routes[0].aggregate.backends[1].path' })]);
    expect(par[0]?.message).toContain('dependsOn');
    const self = refused(`- name: agg
  aggregate:
    mode: sequential
    backends: [{ name: a, upstream: users, path: "/a/{resp.a.id}" }]`);
    expect(self[0]?.code).toBe('backend_not_ready');
  });

  it('accepts a response reference through dependsOn, transitively, and orders by it', () => {
    const r = compileRoute(`- name: agg
  aggregate:
    backends:
      - { name: c, upstream: users, path: "/c/{resp.a.id}", dependsOn: [b] }
      - { name: a, upstream: users, path: /a }
      - { name: b, upstream: users, path: /b, dependsOn: [a] }`);
    expect(r.ok).toBe(true);
    if (r.ok) expect((r.actions as { aggregate: { backends: Array<{ after: number[] }> } }).aggregate.backends.map((b) => b.after)).toEqual([[2], [], [1]]);
  });

  it('refuses dependsOn cycles and unknown names', () => {
    const issues = refused(`- name: agg
  aggregate:
    backends:
      - { name: a, upstream: users, path: /a, dependsOn: [b] }
      - { name: b, upstream: users, path: /b, dependsOn: [a, ghost] }`);
    expect(issues.map((i) => `${i.code} ${i.path}`).sort()).toEqual([
      'dependency_cycle spec.routes[0].aggregate.backends[0].dependsOn',
      'dependency_cycle spec.routes[0].aggregate.backends[1].dependsOn',
      'unknown_backend spec.routes[0].aggregate.backends[1].dependsOn[1]',
    ]);
  });

  it('refuses an unknown source, an unknown upstream and subset, and a path capture the match does not have', () => {
    const issues = refused(`- name: agg
  match: [{ path: { template: "/p/{id}" } }, { path: { prefix: /q } }]
  aggregate:
    backends:
      - { name: a, upstream: nowhere, path: "/a/{foo.x}" }
      - { name: b, upstream: users, subset: green, path: "/b/{path.id}", headers: { x-t: "{header.x-t" } }`);
    expect(issues.map((i) => `${i.code} ${i.path}`).sort()).toEqual([
      'dangling_reference spec.routes[0].aggregate.backends[0].upstream',
      'invalid_template spec.routes[0].aggregate.backends[0].path',
      'invalid_template spec.routes[0].aggregate.backends[1].headers.x-t',
      'unknown_capture spec.routes[0].aggregate.backends[1].path',
      'unknown_subset spec.routes[0].aggregate.backends[1].subset',
    ].sort());
    expect(issues.find((i) => i.code === 'unknown_capture')?.message).toContain('match[1] captures nothing');
  });

  it('the model refuses two actions, duplicate names and groups, group with merge, dependsOn in sequential mode', () => {
    const parse = (route: string) => {
      const r = parseResourcesYaml(`${upstreams}---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: shop }\nspec:\n  routes:\n${route.replace(/^/gm, '    ')}\n`);
      return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
    };
    expect(parse(`- name: agg\n  destination: { upstream: users }\n  aggregate: { backends: [{ name: a, upstream: users, path: /a }] }`)).toEqual([
      expect.stringMatching(/^spec\.routes\[0\]\.aggregate: give exactly one of destination, .*aggregate/),
    ]);
    const many = parse(`- name: agg
  aggregate:
    mode: sequential
    backends:
      - { name: a, upstream: users, path: /a, group: g }
      - { name: a, upstream: users, path: /b, group: g, merge: true }
      - { name: c, upstream: users, path: /c, group: g, dependsOn: [a] }`);
    expect(many).toEqual(
      expect.arrayContaining([
        expect.stringContaining('backends[1].group: give either group or merge'),
        expect.stringContaining('backends[1].name: duplicate backend name "a"'),
        expect.stringContaining('backends[2].group: backends[0] already writes to "g"'),
        expect.stringContaining('backends[2].dependsOn: dependsOn is for parallel mode'),
      ]),
    );
    expect(parse(`- name: agg\n  aggregate: { backends: [{ name: a, upstream: users, path: "/a?x=1" }] }`)[0]).toContain('use `query` for parameters');
    expect(parse(`- name: agg\n  aggregate: { partial: 500, backends: [{ name: a, upstream: users, path: /a }] }`).length).toBeGreaterThan(0);
  });
});

describe('route fields next to an aggregate', () => {
  it('mirror, retries, timeoutMs and path rewrites are refused; rewrite.host and header changes are accepted', () => {
    const r = compileRoute(`- name: agg
  mirror: { upstream: users }
  retries: { attempts: 1 }
  timeoutMs: 100
  rewrite: { prefix: /x }
  aggregate: { backends: [{ name: a, upstream: users, path: /a }] }`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => `${i.code} ${i.path}`).sort()).toEqual(['mirror', 'retries', 'rewrite', 'timeoutMs'].map((k) => `unsupported_with_aggregate spec.routes[0].${k}`));
    const ok = compileRoute(`- name: agg
  rewrite: { host: users.internal }
  headers: { request: { set: { x-a: b } }, response: { set: { x-c: d } } }
  aggregate: { backends: [{ name: a, upstream: users, path: /a }] }`);
    expect(ok.ok).toBe(true);
  });
});

describe('backend path literals', () => {
  it('must be URL path characters', () => {
    const r = parseResourcesYaml(`${upstreams}---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: shop }\nspec:\n  routes:\n    - name: agg\n      aggregate: { backends: [{ name: a, upstream: users, path: "/a b/{path.id}" }] }\n`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.message).toContain('URL path characters');
    const ok = parseResourcesYaml(`${upstreams}---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: shop }\nspec:\n  routes:\n    - name: agg\n      aggregate: { backends: [{ name: a, upstream: users, path: "/a%20b/v1:get/{path.id}" }] }\n`);
    expect(ok.ok).toBe(true);
  });
});
