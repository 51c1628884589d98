import { describe, expect, it } from 'vitest';
import { normalizeHost, RouteTable, type RouteEntry } from './route-table.js';

function entry(value: string, opts: { hosts?: string[]; exact?: string; prefix?: string; methods?: string[] }): RouteEntry<string> {
  return {
    hosts: opts.hosts ?? [],
    path: opts.exact !== undefined ? { kind: 'exact', value: opts.exact } : { kind: 'prefix', value: opts.prefix ?? '/' },
    methods: opts.methods ?? [],
    value,
  };
}

function hit(t: RouteTable<string>, host: string, path: string, method = 'GET'): string | undefined {
  const r = t.lookup(normalizeHost(host), path, method);
  return r.kind === 'match' ? r.value : r.kind;
}

describe('normalizeHost', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['example.com:8080', 'example.com'],
    ['example.com.', 'example.com'],
    ['[::1]:8080', '[::1]'],
    ['[::1]', '[::1]'],
  ])('%s -> %s', (h, want) => expect(normalizeHost(h)).toBe(want));
});

describe('RouteTable', () => {
  it('prefers exact host over wildcard over any host', () => {
    const t = new RouteTable([
      entry('any', { prefix: '/' }),
      entry('wild', { hosts: ['*.example.com'], prefix: '/' }),
      entry('longwild', { hosts: ['*.api.example.com'], prefix: '/' }),
      entry('exact', { hosts: ['a.example.com'], prefix: '/' }),
    ]);
    expect(hit(t, 'a.example.com', '/x')).toBe('exact');
    expect(hit(t, 'A.Example.com:443', '/x')).toBe('exact');
    expect(hit(t, 'b.example.com', '/x')).toBe('wild');
    expect(hit(t, 'x.y.example.com', '/x')).toBe('wild');
    expect(hit(t, 'v1.api.example.com', '/x')).toBe('longwild');
    expect(hit(t, 'example.com', '/x')).toBe('any');
    expect(hit(t, 'other.org', '/x')).toBe('any');
  });

  it('falls through to a less specific host when the specific host has no path match', () => {
    const t = new RouteTable([entry('health', { exact: '/health' }), entry('api', { hosts: ['api.example.com'], prefix: '/v1' })]);
    expect(hit(t, 'api.example.com', '/v1/users')).toBe('api');
    expect(hit(t, 'api.example.com', '/health')).toBe('health');
    expect(hit(t, 'api.example.com', '/v2')).toBe('not_found');
  });

  it('prefers exact path over prefix and longer prefix over shorter', () => {
    const t = new RouteTable([
      entry('root', { prefix: '/' }),
      entry('a', { prefix: '/a' }),
      entry('ab', { prefix: '/a/b' }),
      entry('exact', { exact: '/a/b/c' }),
    ]);
    expect(hit(t, 'h', '/a/b/c')).toBe('exact');
    expect(hit(t, 'h', '/a/b/c/d')).toBe('ab');
    expect(hit(t, 'h', '/a/b')).toBe('ab');
    expect(hit(t, 'h', '/a/x')).toBe('a');
    expect(hit(t, 'h', '/z')).toBe('root');
  });

  it('matches prefixes on a segment boundary only', () => {
    const t = new RouteTable([entry('a', { prefix: '/a' }), entry('slash', { prefix: '/s/' })]);
    expect(hit(t, 'h', '/a')).toBe('a');
    expect(hit(t, 'h', '/a/')).toBe('a');
    expect(hit(t, 'h', '/a/b')).toBe('a');
    expect(hit(t, 'h', '/ab')).toBe('not_found');
    expect(hit(t, 'h', '/s')).toBe('slash');
    expect(hit(t, 'h', '/s/x')).toBe('slash');
  });

  it('uses declared order among equals', () => {
    const t = new RouteTable([entry('first', { prefix: '/a' }), entry('second', { prefix: '/a' }), entry('e1', { exact: '/x' }), entry('e2', { exact: '/x' })]);
    expect(hit(t, 'h', '/a/1')).toBe('first');
    expect(hit(t, 'h', '/x')).toBe('e1');
  });

  it('skips routes restricted to other methods and reports 405 with the allowed methods', () => {
    const t = new RouteTable([
      entry('get', { prefix: '/r', methods: ['GET'] }),
      entry('post', { exact: '/r/x', methods: ['POST', 'PUT'] }),
      entry('h', { hosts: ['h.example.com'], prefix: '/r', methods: ['DELETE'] }),
    ]);
    expect(hit(t, 'x', '/r/x', 'GET')).toBe('get');
    expect(hit(t, 'x', '/r/x', 'POST')).toBe('post');
    const r = t.lookup('x', '/r/x', 'PATCH');
    expect(r).toEqual({ kind: 'method_not_allowed', allow: ['GET', 'POST', 'PUT'] });
    const r2 = t.lookup('h.example.com', '/r', 'PATCH');
    expect(r2).toEqual({ kind: 'method_not_allowed', allow: ['GET', 'DELETE'] });
    expect(hit(t, 'h.example.com', '/r', 'GET')).toBe('get');
    expect(t.lookup('x', '/nothing', 'PATCH')).toEqual({ kind: 'not_found' });
  });

  it('returns the same preallocated result object for repeated matches', () => {
    const t = new RouteTable([entry('a', { prefix: '/a' })]);
    expect(t.lookup('h', '/a/1', 'GET')).toBe(t.lookup('h', '/a/2', 'GET'));
    const r = t.lookup('h', '/a/1', 'GET');
    expect(r.kind === 'match' && r.prefix).toBe('/a');
  });

  it('maps values while keeping the structure', () => {
    const t = new RouteTable([entry('a', { prefix: '/a' }), entry('b', { hosts: ['x.com'], exact: '/b' })]).map((v) => v.toUpperCase());
    expect(hit(t as unknown as RouteTable<string>, 'x.com', '/b')).toBe('B');
    expect(hit(t as unknown as RouteTable<string>, 'y.com', '/a')).toBe('A');
    expect(Object.isFrozen(t)).toBe(true);
  });

  it('an empty table finds nothing', () => {
    expect(new RouteTable<string>([]).lookup('h', '/', 'GET')).toEqual({ kind: 'not_found' });
  });
});

describe('RouteTable: templates, regexes, conditions, groups and priority', () => {
  const e = (value: string, path: RouteEntry<string>['path'], more: Partial<RouteEntry<string>> = {}): RouteEntry<string> => ({ hosts: [], path, methods: [], value, ...more });

  it('captures template segments below the base path', () => {
    const t = new RouteTable([e('t', { kind: 'template', base: '/shop', value: '/orders/{id}/items/{item}' })]);
    const r = t.lookup('h', '/shop/orders/42/items/a%20b', 'GET');
    expect(r).toMatchObject({ kind: 'match', value: 't', prefix: null, captures: { id: '42', item: 'a%20b' } });
    expect(t.lookup('h', '/shop/orders/42/items', 'GET').kind).toBe('not_found');
    expect(t.lookup('h', '/orders/42/items/1', 'GET').kind).toBe('not_found');
  });

  it('matches RE2 regexes against the whole path and returns named groups', () => {
    const t = new RouteTable([e('r', { kind: 'regex', base: '', value: '/v(?P<ver>[0-9]+)/.*' })]);
    expect(t.lookup('h', '/v12/x', 'GET')).toMatchObject({ kind: 'match', captures: { ver: '12' } });
    expect(t.lookup('h', '/x/v12/x', 'GET').kind).toBe('not_found');
  });

  it('ANDs header and query conditions', () => {
    const t = new RouteTable([
      e('canary', { kind: 'prefix', value: '/' }, { headers: [{ name: 'x-env', match: { exact: 'canary' } }, { name: 'x-user', match: { regex: 'u[0-9]+' } }] }),
      e('q', { kind: 'prefix', value: '/' }, { query: [{ name: 'debug', match: { present: true } }] }),
      e('noauth', { kind: 'prefix', value: '/' }, { headers: [{ name: 'authorization', match: { absent: true } }] }),
      e('rest', { kind: 'prefix', value: '/' }),
    ]);
    expect(hit2(t, { 'x-env': 'canary', 'x-user': 'u1' })).toBe('canary');
    expect(hit2(t, { 'x-env': 'canary', 'x-user': 'u1x', authorization: 'a' })).toBe('rest');
    expect(hit2(t, { authorization: 'a' }, 'a=1&debug')).toBe('q');
    expect(hit2(t, {})).toBe('noauth');
    expect(hit2(t, { authorization: 'a' })).toBe('rest');
  });

  it('takes the first match in declared order within a group, the more specific path across groups', () => {
    const t = new RouteTable([
      e('a-prefix', { kind: 'prefix', value: '/users' }, { group: 'a' }),
      e('a-exact', { kind: 'exact', value: '/users/me' }, { group: 'a' }),
      e('b-exact', { kind: 'exact', value: '/users/you' }, { group: 'b' }),
    ]);
    expect(t.lookup('h', '/users/me', 'GET')).toMatchObject({ value: 'a-prefix' });
    expect(t.lookup('h', '/users/you', 'GET')).toMatchObject({ value: 'b-exact' });
  });

  it('lets a higher priority win over host and path specificity', () => {
    const t = new RouteTable([
      e('specific', { kind: 'exact', value: '/x' }, { hosts: ['a.com'], group: 'a' }),
      e('override', { kind: 'prefix', value: '/' }, { group: 'b', priority: 5 }),
    ]);
    expect(t.lookup('a.com', '/x', 'GET')).toMatchObject({ value: 'override' });
  });
});

function hit2(t: RouteTable<string>, headers: Record<string, string>, query: string | null = null): string {
  const r = t.lookup('h', '/', 'GET', headers, query);
  return r.kind === 'match' ? r.value : r.kind;
}

describe('RouteTable: indexed lookups in large tables (#16)', () => {
  const api = (i: number, hosts: string[], base: string): RouteEntry<string>[] => [
    { hosts, path: { kind: 'prefix', value: `${base}/items` }, methods: ['GET'], group: `api${i}`, value: `api${i}/items` },
    { hosts, path: { kind: 'template', base, value: '/orders/{id}' }, methods: ['GET', 'POST'], group: `api${i}`, value: `api${i}/orders` },
  ];
  const many = (n: number, f: (i: number) => RouteEntry<string>[]): RouteEntry<string>[] => Array.from({ length: n }, (_, i) => f(i)).flat();

  it('finds the first, a middle and the last of 2,000 APIs on one host, with captures, 404 and 405', () => {
    const t = new RouteTable(many(2000, (i) => api(i, ['api.example.com'], `/svc${i}`)));
    expect(t.lookup('api.example.com', '/svc0/items/1', 'GET')).toMatchObject({ value: 'api0/items', prefix: '/svc0/items' });
    expect(t.lookup('api.example.com', '/svc1000/orders/7', 'POST')).toMatchObject({ value: 'api1000/orders', captures: { id: '7' } });
    expect(t.lookup('api.example.com', '/svc1999/orders/42', 'GET')).toMatchObject({ value: 'api1999/orders', captures: { id: '42' } });
    expect(t.lookup('api.example.com', '/svc1999/orders', 'GET').kind).toBe('not_found');
    expect(t.lookup('api.example.com', '/svc19999/items', 'GET').kind).toBe('not_found');
    expect(t.lookup('other.example.com', '/svc1/items', 'GET').kind).toBe('not_found');
    expect(t.lookup('api.example.com', '/svc5/items', 'DELETE')).toEqual({ kind: 'method_not_allowed', allow: ['GET'] });
    expect(t.lookup('api.example.com', '/svc5/orders/1', 'DELETE')).toEqual({ kind: 'method_not_allowed', allow: ['GET', 'POST'] });
  });

  it('keeps declared order within a group and specificity across groups with many entries per host', () => {
    const t = new RouteTable([
      ...many(50, (i) => [{ hosts: ['h.com'], path: { kind: 'exact', value: `/pad/${i}` }, methods: [], value: `pad${i}` }]),
      { hosts: ['h.com'], path: { kind: 'prefix', value: '/users' }, methods: [], group: 'a', value: 'a-prefix' },
      { hosts: ['h.com'], path: { kind: 'exact', value: '/users/me' }, methods: [], group: 'a', value: 'a-exact' },
      { hosts: ['h.com'], path: { kind: 'template', base: '', value: '/users/{id}' }, methods: [], group: 'b', value: 'b-template' },
      { hosts: ['h.com'], path: { kind: 'regex', base: '/users', value: '/[0-9]+' }, methods: [], group: 'c', value: 'c-regex' },
      { hosts: ['h.com'], path: { kind: 'exact', value: '/users/you' }, methods: [], group: 'd', value: 'd-exact' },
    ]);
    // Group a answers with its first match (the prefix), group b's template is more specific.
    expect(t.lookup('h.com', '/users/me', 'GET')).toMatchObject({ value: 'b-template' });
    expect(t.lookup('h.com', '/users/you', 'GET')).toMatchObject({ value: 'd-exact' });
    expect(t.lookup('h.com', '/users/12/x', 'GET')).toMatchObject({ value: 'a-prefix' });
    expect(t.lookup('h.com', '/pad/49', 'GET')).toMatchObject({ value: 'pad49' });
  });

  it('indexes case-insensitive APIs under the lower-cased path and matrix-parameter views under the stripped one', () => {
    const ci = { caseInsensitive: true, matrixParams: 'reject', trailingDots: 'reject' } as const;
    const t = new RouteTable([
      ...many(100, (i) => api(i, ['h.com'], `/svc${i}`)),
      { hosts: ['h.com'], path: { kind: 'prefix', value: '/Admin' }, methods: [], pathMatching: ci, value: 'admin' },
      { hosts: ['h.com'], path: { kind: 'exact', value: '/Exact/Path' }, methods: [], pathMatching: ci, value: 'exact' },
    ]);
    expect(t.lookup('h.com', '/ADMIN/x', 'GET')).toMatchObject({ value: 'admin' });
    expect(t.lookup('h.com', '/exact/PATH', 'GET')).toMatchObject({ value: 'exact' });
    expect(t.lookup('h.com', '/svc3;x=1/items', 'GET')).toMatchObject({ value: 'api3/items' });
    expect(t.lookup('h.com', '/SVC3/items', 'GET').kind).toBe('not_found');
  });

  it('probes wildcard hosts longest suffix first among thousands of hosts', () => {
    const t = new RouteTable([
      ...many(3000, (i) => api(i, [`*.t${i}.example.com`], '')),
      { hosts: ['*.example.com'], path: { kind: 'prefix', value: '/' }, methods: [], value: 'wide' },
      { hosts: ['*.t7.example.com'], path: { kind: 'prefix', value: '/' }, methods: [], value: 'narrow-catch-all' },
    ]);
    expect(t.lookup('a.b.t7.example.com', '/items', 'GET')).toMatchObject({ value: 'api7/items' });
    expect(t.lookup('a.t7.example.com', '/other', 'GET')).toMatchObject({ value: 'narrow-catch-all' });
    expect(t.lookup('t7.example.com', '/items', 'GET')).toMatchObject({ value: 'wide' });
    expect(t.lookup('example.com', '/items', 'GET').kind).toBe('not_found');
  });
});

describe('RouteTable built in steps (#16)', () => {
  const entries = (): RouteEntry<string>[] => [
    ...Array.from({ length: 300 }, (_, i): RouteEntry<string>[] => [
      { hosts: ['h.com'], path: { kind: 'prefix', value: `/svc${i}/items` }, methods: ['GET'], group: `api${i}`, value: `api${i}/items` },
      { hosts: ['h.com'], path: { kind: 'template', base: `/svc${i}`, value: '/orders/{id}' }, methods: [], group: `api${i}`, value: `api${i}/orders` },
    ]).flat(),
    { hosts: ['*.h.com'], path: { kind: 'prefix', value: '/' }, methods: [], value: 'wild' },
    { hosts: [], path: { kind: 'template', base: '', value: '/any/{id}' }, methods: ['GET'], value: 'any' },
  ];
  const probes: Array<[string, string]> = [['h.com', '/svc7/items'], ['h.com', '/svc299/orders/x'], ['h.com', '/nope'], ['a.h.com', '/x'], ['other.com', '/any/3'], ['other.com', '/any']];
  const answers = (t: RouteTable<string>) => probes.map(([h, p]) => hit(t, h, p));

  it('RouteTable.steps yields between entries and builds the table the constructor builds', () => {
    const steps = RouteTable.steps(entries());
    let yields = 0;
    let r = steps.next();
    while (!r.done) {
      yields++;
      r = steps.next();
    }
    expect(yields).toBeGreaterThan(600);
    expect(answers(r.value)).toEqual(answers(new RouteTable(entries())));
    expect(answers(r.value)).toEqual(['api7/items', 'api299/orders', 'not_found', 'wild', 'any', 'not_found']);
  });

  it('mapSteps maps every value once and answers like map', () => {
    const t = new RouteTable(entries());
    let calls = 0;
    const steps = t.mapSteps((v) => (calls++, `m:${v}`));
    let r = steps.next();
    while (!r.done) r = steps.next();
    expect(calls).toBe(new Set(entries().map((e) => e.value)).size);
    expect(answers(r.value)).toEqual(answers(t.map((v) => `m:${v}`)));
    expect(answers(r.value)[0]).toBe('m:api7/items');
    expect(r.value.entries.length).toBe(t.entries.length);
  });
});
