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
