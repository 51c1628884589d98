import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from './harness.js';

// Match types and precedence, against real upstreams that answer "<name> <method> <url>".
let ups: Record<string, RecordingUpstream>;
let g: RunningGateway;
const names = ['a', 'b', 'c', 'd', 'e', 'f'] as const;

beforeAll(async () => {
  ups = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await startUpstream(n)] as const)));
  const source = new TestConfigSource(
    yamlResources(
      names.map((n) => upstreamYaml(n, [(ups[n] as RecordingUpstream).origin])).join('') +
        apiYaml(
          'matchers',
          `hosts: [m.test]
routes:
  - { name: tpl, match: [{ path: { template: "/orders/{id}" } }], destination: { upstream: a } }
  - { name: rx, match: [{ path: { regex: "/v[0-9]+/items/[a-z]+" } }], destination: { upstream: b } }
  - name: hdr
    match:
      - { path: { prefix: /h }, headers: { x-env: { exact: canary } } }
      - { path: { prefix: /h }, headers: { x-user: { prefix: "vip-" } } }
      - { path: { prefix: /h }, headers: { x-tenant: { regex: "t[0-9]{2}" } } }
    destination: { upstream: c }
  - { name: hdr-present, match: [{ path: { prefix: /h }, headers: { authorization: { present: true } } }], destination: { upstream: d } }
  - { name: hdr-absent, match: [{ path: { prefix: /h }, headers: { cookie: { absent: true } } }], destination: { upstream: e } }
  - { name: q, match: [{ path: { prefix: /q }, queryParams: { mode: { exact: fast } } }, { path: { prefix: /q }, queryParams: { id: { regex: "[0-9]+" } } }, { path: { prefix: /q }, queryParams: { debug: { present: true } } }], destination: { upstream: c } }
  - { name: post-only, match: [{ path: { prefix: /m }, methods: [POST] }], destination: { upstream: d } }
  - { name: rest, destination: { upstream: f } }`,
        ) +
        // Precedence across APIs: same host, different path specificity.
        apiYaml('p-short', `hosts: [p.test]\nroutes: [{ name: r, match: [{ path: { prefix: /api } }], destination: { upstream: a } }]`) +
        apiYaml('p-long', `hosts: [p.test]\nroutes: [{ name: r, match: [{ path: { prefix: /api/v2 } }], destination: { upstream: b } }]`) +
        apiYaml('p-exact', `hosts: [p.test]\nroutes: [{ name: r, match: [{ path: { exact: /api/v2/status } }], destination: { upstream: c } }]`) +
        // Host specificity: a wildcard API with a longer path loses to the exact host.
        apiYaml('p-wild', `hosts: ["*.test"]\nroutes: [{ name: r, match: [{ path: { prefix: /api/v2/deep } }], destination: { upstream: d } }]`) +
        // Priority overrides both: a catch-all API with priority 10 on its own host set.
        apiYaml('prio-low', `hosts: [prio.test]\nroutes: [{ name: r, match: [{ path: { exact: /x } }], destination: { upstream: a } }]`) +
        apiYaml('prio-high', `hosts: ["*.prio.test", prio.test]\npriority: 10\nroutes: [{ name: r, match: [{ path: { prefix: / } }], destination: { upstream: e } }]`) +
        // Within one API: first match in declared order, even when a later route is more specific.
        apiYaml('order', `hosts: [o.test]\nroutes:\n  - { name: broad, match: [{ path: { prefix: /users } }], destination: { upstream: a } }\n  - { name: narrow, match: [{ path: { exact: /users/me } }], destination: { upstream: b } }`),
    ),
  );
  g = await startTestGateway(source);
});
afterAll(async () => {
  await g.close();
  await Promise.all(Object.values(ups).map((u) => u.close()));
});

const who = async (path: string, headers: Record<string, string> = {}, method = 'GET') => (await send(g.port, { method, path, headers: { host: 'm.test', ...headers } })).body.split(' ')[0];

describe('routing: match types', () => {
  it('path template: one segment per capture, nothing more', async () => {
    expect(await who('/orders/42')).toBe('a');
    expect(await who('/orders/42/lines')).toBe('f');
    expect(await who('/orders')).toBe('f');
  });

  it('path regex (RE2, whole path)', async () => {
    expect(await who('/v2/items/abc')).toBe('b');
    expect(await who('/v2/items/ABC')).toBe('f');
    expect(await who('/x/v2/items/abc')).toBe('f');
  });

  it('headers: exact, prefix, regex; blocks are ORed', async () => {
    expect(await who('/h', { 'x-env': 'canary', cookie: 'c=1' })).toBe('c');
    expect(await who('/h', { 'x-env': 'Canary', cookie: 'c=1' })).toBe('f');
    expect(await who('/h', { 'x-user': 'vip-7', cookie: 'c=1' })).toBe('c');
    expect(await who('/h', { 'x-tenant': 't42', cookie: 'c=1' })).toBe('c');
    expect(await who('/h', { 'x-tenant': 't420', cookie: 'c=1' })).toBe('f');
  });

  it('headers: present and absent', async () => {
    expect(await who('/h', { authorization: 'Bearer x', cookie: 'c=1' })).toBe('d');
    expect(await who('/h')).toBe('e');
    expect(await who('/h', { cookie: 'c=1' })).toBe('f');
  });

  it('query parameters: exact, regex, present', async () => {
    expect(await who('/q?mode=fast')).toBe('c');
    expect(await who('/q?mode=slow')).toBe('f');
    expect(await who('/q?id=123')).toBe('c');
    expect(await who('/q?id=12a')).toBe('f');
    expect(await who('/q?debug')).toBe('c');
    expect(await who('/q?x=debug')).toBe('f');
  });

  it('method: a route for POST only lets GET fall through to the next route', async () => {
    expect(await who('/m', {}, 'POST')).toBe('d');
    expect(await who('/m', {}, 'GET')).toBe('f');
  });
});

describe('routing: precedence', () => {
  const at = async (host: string, path: string) => (await send(g.port, { path, headers: { host } })).body.split(' ')[0];

  it('across APIs the longer prefix wins, and an exact path beats any prefix', async () => {
    expect(await at('p.test', '/api/v1')).toBe('a');
    expect(await at('p.test', '/api/v2/x')).toBe('b');
    expect(await at('p.test', '/api/v2/status')).toBe('c');
  });

  it('an exact host beats a wildcard even when the wildcard has a longer path', async () => {
    expect(await at('p.test', '/api/v2/deep')).toBe('b');
    expect(await at('q.test', '/api/v2/deep')).toBe('d');
  });

  it('a higher API priority beats a more specific host and path', async () => {
    expect(await at('prio.test', '/x')).toBe('e');
    expect(await at('a.prio.test', '/anything')).toBe('e');
  });

  it('within one API the first route in declared order wins', async () => {
    expect(await at('o.test', '/users/me')).toBe('a');
  });
});
