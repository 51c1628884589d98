import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from './harness.js';

let a: RecordingUpstream;
let b: RecordingUpstream;
let c: RecordingUpstream;
let g: RunningGateway;

beforeAll(async () => {
  [a, b, c] = await Promise.all([startUpstream('a'), startUpstream('b'), startUpstream('c')]);
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('ua', [a.origin]) +
        upstreamYaml('ub', [b.origin]) +
        upstreamYaml('uc', [c.origin]) +
        apiYaml(
          'exact-host',
          `hosts: [api.example.com]
routes:
  - { name: item, match: [{ path: { exact: /users/me } }], destination: { upstream: ub } }
  - { name: users, match: [{ path: { prefix: /users }, methods: [GET, POST] }], destination: { upstream: ua } }`,
        ) +
        apiYaml('wild', `hosts: ["*.example.com"]\nroutes: [{ name: all, match: [{ path: { prefix: /users } }], destination: { upstream: ub } }]`) +
        apiYaml(
          'any',
          `basePath: /shop
stripBasePath: true
routes:
  - { name: root, destination: { upstream: uc } }
  - { name: admin, match: [{ path: { prefix: /admin }, methods: [DELETE] }], destination: { upstream: ua } }`,
        ) +
        apiYaml('guarded', `hosts: [guarded.test]\npolicies: [{ name: ip-restriction, config: { deny: ["127.0.0.0/8"] } }]\nroutes: [{ name: r, destination: { upstream: ua } }]`),
    ),
  );
  g = await startTestGateway(source);
});
afterAll(async () => {
  await g.close();
  await Promise.all([a.close(), b.close(), c.close()]);
});

describe('routing', () => {
  it('routes by exact host, wildcard host and any host', async () => {
    expect((await send(g.port, { path: '/users/1', headers: { host: 'api.example.com' } })).body).toBe('a GET /users/1');
    expect((await send(g.port, { path: '/users/1', headers: { host: 'API.Example.com:8443' } })).body).toBe('a GET /users/1');
    expect((await send(g.port, { path: '/users/1', headers: { host: 'eu.api.example.com' } })).body).toBe('b GET /users/1');
    expect((await send(g.port, { path: '/shop/cart', headers: { host: 'elsewhere.org' } })).body).toBe('c GET /cart');
  });

  it('takes the first matching route in declared order within an API (exact declared first)', async () => {
    expect((await send(g.port, { path: '/users/me', headers: { host: 'api.example.com' } })).body).toBe('b GET /users/me');
  });

  it('a method the specific route excludes falls through to a less specific host route', async () => {
    // exact-host allows GET/POST on /users; the wildcard API takes any method.
    expect((await send(g.port, { method: 'PUT', path: '/users/1', headers: { host: 'api.example.com' } })).body).toBe('b PUT /users/1');
  });

  it('strips the base path and forwards the query unchanged', async () => {
    const r = await send(g.port, { path: '/shop?x=1&y=%20', headers: { host: 'h' } });
    expect(r.body).toBe('c GET /?x=1&y=%20');
  });

  it('answers 404 ROUTE_NOT_FOUND as problem+json with the request id', async () => {
    const r = await send(g.port, { path: '/nothing', headers: { host: 'api.example.com', 'x-request-id': 'req-404' } });
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.headers['x-request-id']).toBe('req-404');
    expect(r.json()).toEqual({
      type: 'https://tollgate.dev/errors/route-not-found',
      title: expect.any(String),
      status: 404,
      code: 'ROUTE_NOT_FOUND',
      detail: expect.stringContaining('/nothing'),
      requestId: 'req-404',
    });
  });

  it('answers 405 METHOD_NOT_ALLOWED with Allow when the path matches but no method does', async () => {
    const r = await send(g.port, { method: 'PATCH', path: '/shop/admin/x', headers: { host: 'h' } });
    // The shop root prefix allows any method, so PATCH on /shop/admin goes to root; use DELETE-only path check instead.
    expect(r.status).toBe(200);
    const source = new TestConfigSource(yamlResources(upstreamYaml('ua', [a.origin]) + apiYaml('m', `routes: [{ name: r, match: [{ path: { exact: /only }, methods: [GET, HEAD] }], destination: { upstream: ua } }]`)));
    const g2 = await startTestGateway(source);
    try {
      const r2 = await send(g2.port, { method: 'POST', path: '/only', body: 'x' });
      expect(r2.status).toBe(405);
      expect(r2.headers.allow).toBe('GET, HEAD');
      expect(r2.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED', status: 405, type: 'https://tollgate.dev/errors/method-not-allowed' });
    } finally {
      await g2.close();
    }
  });

  it('forwards exactly the normalized path', async () => {
    const before = a.received.length;
    const r = await send(g.port, { path: '/users/x/./y/%2e%2e/z//w/%7Euser/%41?q=%2e', headers: { host: 'api.example.com' } });
    expect(r.status).toBe(200);
    expect(a.received[before]?.url).toBe('/users/x/z/w/~user/A?q=%2e');
  });

  it('routes on the normalized path, so dot-segments cannot escape a prefix', async () => {
    // /shop/../users/1 normalizes to /users/1: on api.example.com that is the users route, not the shop API.
    const r = await send(g.port, { path: '/shop/../users/1', headers: { host: 'api.example.com' } });
    expect(r.body).toBe('a GET /users/1');
  });

  it.each(['/users/..%2f..%2fadmin', '/users/%2F', '/users/%5c', '/users/a\\b', '/users/%zz', '/users/%00'])('refuses %s with 400 BAD_PATH without reaching the upstream', async (path) => {
    const before = a.started + b.started + c.started;
    const r = await send(g.port, { path, headers: { host: 'api.example.com' } });
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.json()).toMatchObject({ code: 'BAD_PATH', status: 400 });
    expect(a.started + b.started + c.started).toBe(before);
  });

  it("routes an absolute-form target by its authority, not the Host header (RFC 9112 §3.2.2), and refuses the asterisk-form", async () => {
    const raw = (line: string) =>
      new Promise<string>((resolve) => {
        const s = connect(g.port, '127.0.0.1', () => s.write(line));
        let buf = '';
        s.on('data', (d: Buffer) => (buf += d.toString()));
        s.on('close', () => resolve(buf));
      });
    const abs = await raw('GET http://api.example.com/users/x/../y HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n');
    expect(abs).toMatch(/^HTTP\/1\.1 200/);
    expect(abs).toContain('a GET /users/y');
    expect(a.received.at(-1)?.headers.host).toBe('api.example.com');
    const star = await raw('OPTIONS * HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n');
    expect(star).toMatch(/^HTTP\/1\.1 400/);
    expect(star).toContain('"code":"BAD_PATH"');
  });

  it('runs access policies: ip-restriction answers 403 IP_FORBIDDEN without reaching the upstream', async () => {
    const before = a.started;
    const r = await send(g.port, { path: '/x', headers: { host: 'guarded.test' } });
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({ code: 'IP_FORBIDDEN', status: 403, type: 'https://tollgate.dev/errors/ip-forbidden', requestId: r.headers['x-request-id'] });
    expect(a.started).toBe(before);
  });

  it('writes one access log line per request without authorization, cookies or query values', async () => {
    await send(g.port, { path: '/users/log?token=supersecret', headers: { host: 'api.example.com', authorization: 'Bearer topsecret', cookie: 'sid=cookiesecret', 'x-request-id': 'log-1' } });
    const { eventually } = await import('./harness.js');
    await eventually(() => g.logs.some((l) => l.requestId === 'log-1'));
    const line = g.logs.find((l) => l.requestId === 'log-1') as Record<string, unknown>;
    expect(line).toMatchObject({ type: 'access', method: 'GET', path: '/users/log', host: 'api.example.com', api: 'exact-host', route: 'users', upstream: a.origin, status: 200, bytesIn: 0 });
    expect(line.latencyMs).toEqual(expect.any(Number));
    expect(line.upstreamMs).toEqual(expect.any(Number));
    expect(line.bytesOut as number).toBeGreaterThan(0);
    await send(g.port, { path: '/bad%zz', headers: { 'x-request-id': 'log-bad-url' } });
    await eventually(() => g.logs.some((l) => l.requestId === 'log-bad-url'));
    expect(g.logs.find((l) => l.requestId === 'log-bad-url')).toMatchObject({ type: 'access', status: 400, path: '/bad%zz' });
    const all = JSON.stringify(g.logs);
    expect(all).not.toContain('topsecret');
    expect(all).not.toContain('cookiesecret');
    expect(all).not.toContain('supersecret');
  });
});
