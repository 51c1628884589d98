import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, eventually, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';
import { freePort } from '../support/ports.js';

// Aggregate routes through a real gateway listening on a socket, with real HTTP backends: each
// backend is a node:http server started here; "down" is a port nothing listens on.

const KEY = 'tg_Agg81mQv3LkP0sR7aT2bYc9dWf4gHj6N';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function json(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const USERS: Record<string, unknown> = {
  '7': { id: 7, name: 'Ada', password: 'secret', address: { city: 'Paris', zip: '75001' } },
  // /users/me resolves to user 7, so the sequential test proves the second call used the response.
  me: { id: 7, name: 'Ada (me)', password: 'secret', address: { city: 'Paris', zip: '75001' } },
  acme: { id: 99, name: 'Acme Corp', password: 'secret', address: { city: 'Lyon', zip: '69001' } },
};

function usersHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const id = decodeURIComponent(url.pathname.replace(/^\/users\//, ''));
  const user = USERS[id];
  if (user === undefined) return json(res, 404, { error: 'no such user', id });
  json(res, 200, user);
}

function ordersHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const user = url.searchParams.get('user');
  json(res, 200, { data: { items: [{ id: 1, user, total: 5, internal: 'x' }, { id: 2, user, total: 6, internal: 'y' }] }, page: 1 });
}

function miscHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  switch (url.pathname) {
    case '/settings':
      return json(res, 200, { theme: 'dark', lang: 'en' });
    case '/slow': {
      const timer = setTimeout(() => json(res, 200, { late: true }), 3000);
      res.on('close', () => {
        if (!res.writableFinished) {
          clearTimeout(timer);
          slowAbandoned++;
        }
      });
      return;
    }
    case '/fail':
      return json(res, 500, { error: 'boom' });
    case '/html':
      return json(res, 200, '<html>nope</html>', 'text/html');
    case '/badjson':
      return json(res, 200, '{"not": json');
    case '/big': {
      // Chunked (no Content-Length): the cap must cut it off mid-stream.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"pad":"');
      const chunk = 'x'.repeat(16 * 1024);
      for (let i = 0; i < 64; i++) res.write(chunk);
      res.end('"}');
      return;
    }
    case '/gzip':
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(Buffer.from([0x1f, 0x8b, 0x08, 0x00]));
      return;
    case '/echo':
      return json(res, 200, { url: req.url, headers: req.headers });
    default:
      return json(res, 404, { error: 'not found' });
  }
}

/** Calls to /slow whose connection the gateway closed before the answer. */
let slowAbandoned = 0;
let users: RecordingUpstream;
let orders: RecordingUpstream;
let misc: RecordingUpstream;
let gw: RunningGateway;

const routes = `
- name: profile
  match: [{ path: { template: "/profile/{id}" }, methods: [GET] }]
  aggregate:
    backends:
      - { name: user, upstream: users, path: "/users/{path.id}", allow: [id, name, address.city] }
      - { name: settings, upstream: misc, path: /settings, merge: true, rename: { lang: language } }
      - { name: orders, upstream: orders, path: /orders, query: { user: "{path.id}", absent: "{query.nothing}" }, extract: data.items, deny: [internal], rename: { total: amount }, group: recentOrders }
- name: by-query
  match: [{ path: { exact: /by-query } }]
  aggregate:
    backends: [{ name: user, upstream: users, path: "/users/{query.id}" }]
- name: seq
  match: [{ path: { template: "/seq/{id}" } }]
  aggregate:
    mode: sequential
    backends:
      - { name: user, upstream: users, path: "/users/{path.id}", deny: [password] }
      - { name: orders, upstream: orders, path: /orders, query: { user: "{resp.user.id}" }, extract: data.items, allow: [id, user] }
- name: slow
  match: [{ path: { exact: /slow } }]
  aggregate:
    budgetMs: 300
    backends:
      - { name: user, upstream: users, path: /users/7, allow: [id] }
      - { name: slow, upstream: misc, path: /slow }
- name: per-backend-timeout
  match: [{ path: { exact: /timeout } }]
  aggregate:
    budgetMs: 10000
    backends:
      - { name: user, upstream: users, path: /users/7, allow: [id] }
      - { name: slow, upstream: misc, path: /slow, timeoutMs: 150 }
- name: failing
  match: [{ path: { exact: /failing } }]
  aggregate:
    backends:
      - { name: user, upstream: users, path: /users/7, allow: [id] }
      - { name: boom, upstream: misc, path: /fail }
      - { name: down, upstream: down, path: /anything }
      - { name: ghost, upstream: users, path: /users/nobody }
- name: bodies
  match: [{ path: { exact: /bodies } }]
  aggregate:
    maxBodyBytes: 65536
    backends:
      - { name: user, upstream: users, path: /users/7, allow: [id] }
      - { name: html, upstream: misc, path: /html }
      - { name: badjson, upstream: misc, path: /badjson }
      - { name: big, upstream: misc, path: /big }
      - { name: notobject, upstream: orders, path: /orders, extract: data.items, merge: true }
      - { name: gzip, upstream: misc, path: /gzip }
- name: abandon
  match: [{ path: { exact: /abandon } }]
  aggregate:
    budgetMs: 20000
    backends:
      - { name: slow, upstream: misc, path: /slow }
- name: strict
  match: [{ path: { exact: /strict } }]
  aggregate:
    partial: 502
    backends:
      - { name: user, upstream: users, path: /users/7 }
      - { name: boom, upstream: misc, path: /fail }
- name: required
  match: [{ path: { exact: /required } }]
  aggregate:
    backends:
      - { name: user, upstream: misc, path: /fail, required: true }
      - { name: settings, upstream: misc, path: /settings }
- name: all-missing
  match: [{ path: { exact: /all-missing } }]
  aggregate:
    backends:
      - { name: a, upstream: misc, path: /fail }
      - { name: b, upstream: down, path: /x }
- name: seq-broken
  match: [{ path: { template: "/seq-broken/{id}" } }]
  aggregate:
    mode: sequential
    backends:
      - { name: user, upstream: users, path: "/users/{path.id}" }
      - { name: orders, upstream: orders, path: /orders, query: { user: "{resp.user.id}" } }
      - { name: settings, upstream: misc, path: /settings }
- name: headers
  match: [{ path: { exact: /headers } }]
  headers: { request: { set: { x-from: gateway } }, response: { set: { x-served-by: tollgate } } }
  aggregate:
    backends:
      - { name: echo, upstream: misc, path: /echo, headers: { authorization: "{header.authorization}", x-page: "p{query.page}", x-missing: "{header.x-nope}" }, query: { q: "{query.q}" } }
- name: limited
  match: [{ path: { exact: /limited } }]
  policies: [{ name: rate-limit, config: { by: route, limits: [{ limit: 2, window: 1m }] } }]
  aggregate:
    backends: [{ name: user, upstream: users, path: /users/7, allow: [id] }]
- name: mine
  match: [{ path: { exact: /mine } }]
  policies: [{ name: key-auth }]
  aggregate:
    backends:
      - { name: me, upstream: users, path: "/users/{consumer.name}", allow: [id, name] }
      - { name: echo, upstream: misc, path: /echo, allow: [headers.x-consumer-name, headers.apikey] }
`;

beforeAll(async () => {
  users = await startUpstream('users', usersHandler);
  orders = await startUpstream('orders', ordersHandler);
  misc = await startUpstream('misc', miscHandler);
  const downPort = await freePort();
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('users', [users.origin]) +
        upstreamYaml('orders', [orders.origin]) +
        upstreamYaml('misc', [misc.origin]) +
        upstreamYaml('down', [`http://127.0.0.1:${downPort}`]) +
        apiYaml('agg', `basePath: /agg\nstripBasePath: true\nroutes:\n${routes.replace(/^/gm, '  ')}`) +
        `---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { keys: [{ name: ci, hash: "${sha(KEY)}" }] }
`,
    ),
  );
  gw = await startTestGateway(source);
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([users?.close(), orders?.close(), misc?.close()]);
});

describe('parallel aggregation', () => {
  it('groups, merges, filters, renames and extracts, in declared order, with nothing missing', async () => {
    const r = await send(gw.port, { path: '/agg/profile/7' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json\b/);
    expect(r.headers['x-tollgate-partial']).toBeUndefined();
    expect(r.headers['x-tollgate-missing']).toBeUndefined();
    expect(r.headers['x-request-id']).toBeTruthy();
    const body = r.json();
    expect(body).toEqual({
      user: { id: 7, name: 'Ada', address: { city: 'Paris' } },
      theme: 'dark',
      language: 'en',
      recentOrders: [
        { id: 1, user: '7', amount: 5 },
        { id: 2, user: '7', amount: 6 },
      ],
    });
    expect(Object.keys(body)).toEqual(['user', 'theme', 'language', 'recentOrders']);
    // A query template whose value is absent leaves that parameter out.
    expect(orders.received.at(-1)?.url).toBe('/orders?user=7');
  });

  it('a value in a path is encoded as one segment: it cannot add segments, a query or climb out', async () => {
    await send(gw.port, { path: '/agg/profile/a%3Fb%20c%23' });
    expect(users.received.at(-1)?.url).toBe('/users/a%3Fb%20c%23');
    await send(gw.port, { path: '/agg/by-query?id=../admin' });
    expect(users.received.at(-1)?.url).toBe('/users/..%2Fadmin');
    await send(gw.port, { path: '/agg/by-query?id=..' });
    expect(users.received.at(-1)?.url).toBe('/users/%2E%2E');
  });

  it('the access log sees the aggregate route as any other', async () => {
    const r = await send(gw.port, { path: '/agg/profile/7', headers: { 'x-request-id': 'agg-log-1' } });
    expect(r.status).toBe(200);
    const line = gw.logs.find((l) => l.type === 'access' && l.requestId === 'agg-log-1');
    expect(line).toMatchObject({ api: 'agg', route: 'profile', status: 200 });
    expect(typeof line?.upstreamMs).toBe('number');
  });
});

describe('sequential aggregation', () => {
  it('a later call uses a value from an earlier response', async () => {
    const r = await send(gw.port, { path: '/agg/seq/me' });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({
      user: { id: 7, name: 'Ada (me)', address: { city: 'Paris', zip: '75001' } },
      orders: [
        { id: 1, user: '7' },
        { id: 2, user: '7' },
      ],
    });
    expect(orders.received.at(-1)?.url).toBe('/orders?user=7');
  });

  it('when the earlier call fails, the call that needs its value is missing too; the others still run', async () => {
    const before = orders.received.length;
    const r = await send(gw.port, { path: '/agg/seq-broken/nobody' });
    expect(r.status).toBe(200);
    expect(r.headers['x-tollgate-partial']).toBe('true');
    expect(r.headers['x-tollgate-missing']).toBe('user, orders');
    expect(r.json()).toEqual({ settings: { theme: 'dark', lang: 'en' } });
    expect(orders.received.length).toBe(before);
  });
});

describe('partial results', () => {
  it('a slow backend is left out when the budget ends, and the answer comes within the budget', async () => {
    const t0 = Date.now();
    const r = await send(gw.port, { path: '/agg/slow' });
    const elapsed = Date.now() - t0;
    expect(r.status).toBe(200);
    expect(r.headers['x-tollgate-partial']).toBe('true');
    expect(r.headers['x-tollgate-missing']).toBe('slow');
    expect(r.json()).toEqual({ user: { id: 7 } });
    // The backend answers after 3 s; the budget is 300 ms (loose margin for a busy machine).
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2500);
  });

  it('a per-backend timeout cuts that backend short inside a long budget', async () => {
    const t0 = Date.now();
    const r = await send(gw.port, { path: '/agg/timeout', headers: { 'x-request-id': 'agg-timeout-1' } });
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(r.status).toBe(200);
    expect(r.headers['x-tollgate-missing']).toBe('slow');
    const warn = gw.logs.find((l) => l.requestId === 'agg-timeout-1' && l.msg === 'aggregate backends missing');
    expect(JSON.stringify(warn?.missing)).toContain('timed out after 150 ms');
  });

  it('a 500, a refused connection and a 404 are left out and named', async () => {
    const r = await send(gw.port, { path: '/agg/failing', headers: { 'x-request-id': 'agg-failing-1' } });
    expect(r.status).toBe(200);
    expect(r.headers['x-tollgate-partial']).toBe('true');
    expect(r.headers['x-tollgate-missing']).toBe('boom, down, ghost');
    expect(r.json()).toEqual({ user: { id: 7 } });
    const warn = gw.logs.find((l) => l.requestId === 'agg-failing-1' && l.msg === 'aggregate backends missing');
    const reasons = JSON.stringify(warn?.missing);
    expect(reasons).toContain('boom (status 500)');
    expect(reasons).toContain('ghost (status 404)');
    expect(reasons).toMatch(/down \((unavailable|no healthy target)/);
    const metrics = await (await fetch(`http://127.0.0.1:${gw.statusPort}/metrics`)).text();
    for (const b of ['boom', 'down', 'ghost']) expect(metrics).toMatch(new RegExp(`tollgate_aggregate_missing_total\\{api="agg",route="failing",backend="${b}"\\} [1-9]`));
    expect(metrics).not.toContain('route="failing",backend="user"');
  });

  it('non-JSON, invalid JSON, oversized and unmergeable bodies are left out, never a crash', async () => {
    const r = await send(gw.port, { path: '/agg/bodies', headers: { 'x-request-id': 'agg-bodies-1' } });
    expect(r.status).toBe(200);
    expect(r.headers['x-tollgate-missing']).toBe('html, badjson, big, notobject, gzip');
    expect(r.json()).toEqual({ user: { id: 7 } });
    const reasons = JSON.stringify(gw.logs.find((l) => l.requestId === 'agg-bodies-1' && l.msg === 'aggregate backends missing')?.missing);
    expect(reasons).toContain('html (not JSON (content-type text/html))');
    expect(reasons).toContain('badjson (the body is not valid JSON)');
    expect(reasons).toContain('big (the body is larger than 65536 bytes)');
    expect(reasons).toContain('notobject (the body is an array, not an object to merge)');
    expect(reasons).toContain('gzip (the body has content-encoding gzip)');
    // The gateway is still fine.
    expect((await send(gw.port, { path: '/agg/profile/7' })).status).toBe(200);
  });

  it('partial: 502 answers problem+json naming what is missing', async () => {
    const r = await send(gw.port, { path: '/agg/strict' });
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json\b/);
    expect(r.headers['x-tollgate-missing']).toBe('boom');
    const body = r.json();
    expect(body).toMatchObject({ status: 502, code: 'AGGREGATE_INCOMPLETE', type: 'https://tollgate.dev/errors/aggregate-incomplete', requestId: r.headers['x-request-id'] });
    expect(body.detail).toContain('boom (status 500)');
  });

  it('a missing required backend, or every backend missing, is a 502 whatever the partial policy', async () => {
    const req = await send(gw.port, { path: '/agg/required' });
    expect(req.status).toBe(502);
    expect(req.json()).toMatchObject({ code: 'AGGREGATE_FAILED' });
    expect(String(req.json().detail)).toContain('required');
    const all = await send(gw.port, { path: '/agg/all-missing' });
    expect(all.status).toBe(502);
    expect(all.headers['x-tollgate-missing']).toBe('a, b');
    expect(all.json()).toMatchObject({ code: 'AGGREGATE_FAILED' });
  });
});

describe('a client that goes away', () => {
  it('stops the backends at once instead of waiting for the budget', async () => {
    const before = misc.started;
    const abandoned = slowAbandoned;
    const req = httpRequest({ host: '127.0.0.1', port: gw.port, path: '/agg/abandon', headers: { 'x-request-id': 'agg-gone-1' }, agent: false });
    req.on('error', () => undefined);
    req.end();
    await eventually(() => misc.started > before);
    const t0 = Date.now();
    req.destroy();
    // The backend answers after 3 s and the budget is 20 s: only the abort closes it this early.
    await eventually(() => slowAbandoned > abandoned, 2500);
    expect(Date.now() - t0).toBeLessThan(2500);
  });
});

describe('what backends receive', () => {
  it('only the templated headers and query, plus the gateway headers; client headers are not copied', async () => {
    const r = await send(gw.port, { path: '/agg/headers?page=3&q=a%20b', headers: { authorization: 'Bearer abc', cookie: 'session=1', 'x-request-id': 'agg-hdr-1' } });
    expect(r.status).toBe(200);
    const echo = r.json().echo as { url: string; headers: Record<string, string> };
    expect(echo.url).toBe('/echo?q=a+b');
    expect(echo.headers.authorization).toBe('Bearer abc');
    expect(echo.headers['x-page']).toBe('p3');
    expect(echo.headers['x-missing']).toBeUndefined();
    expect(echo.headers.cookie).toBeUndefined();
    expect(echo.headers['x-request-id']).toBe('agg-hdr-1');
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers.accept).toBe('application/json');
    // The route's header changes apply to backend requests and to the aggregate answer.
    expect(echo.headers['x-from']).toBe('gateway');
    expect(r.headers['x-served-by']).toBe('tollgate');
  });
});

describe('policies on an aggregate route', () => {
  it('key-auth refuses before any backend is called', async () => {
    const before = users.started + misc.started;
    const r = await send(gw.port, { path: '/agg/mine' });
    expect(r.status).toBe(401);
    expect(users.started + misc.started).toBe(before);
  });

  it('a rate limit counts aggregate requests and refuses past it without calling a backend', async () => {
    expect((await send(gw.port, { path: '/agg/limited' })).status).toBe(200);
    expect((await send(gw.port, { path: '/agg/limited' })).status).toBe(200);
    const before = users.started;
    const r = await send(gw.port, { path: '/agg/limited' });
    expect(r.status).toBe(429);
    expect(r.json()).toMatchObject({ code: 'RATE_LIMITED' });
    expect(users.started).toBe(before);
  });

  it('an authenticated consumer feeds {consumer.name}; backends get the identity, never the key', async () => {
    const r = await send(gw.port, { path: '/agg/mine', headers: { apikey: KEY, 'x-request-id': 'agg-auth-1' } });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ me: { id: 99, name: 'Acme Corp' }, echo: { headers: { 'x-consumer-name': 'acme' } } });
    expect(users.received.at(-1)?.url).toBe('/users/acme');
    expect(gw.logs.find((l) => l.type === 'access' && l.requestId === 'agg-auth-1')).toMatchObject({ consumer: 'acme', route: 'mine', status: 200 });
  });
});
