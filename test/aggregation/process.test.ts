import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type RecordingUpstream } from '../gateway/harness.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

// The built `tollgate start` process on embedded defaults: an aggregate route applied through the
// admin API answers through the proxy, and aggregates whose templates point at nothing are
// refused at apply with problem+json naming the document, field and line.

const TOKEN = `tgadm_${randomBytes(24).toString('hex')}`;

let dir: string;
let tg: TollgateProcess;
let users: RecordingUpstream;
let orders: RecordingUpstream;

const upstreams = (u: string, o: string) => `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: users }
spec: { targets: [{ url: "${u}" }] }
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: orders }
spec: { targets: [{ url: "${o}" }] }
`;

/** An Api whose one route is a sequential aggregate; `second` is the second backend's YAML line. */
const api = (second: string) => `---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: profiles }
spec:
  basePath: /profiles
  routes:
    - name: profile
      match: [{ path: { template: "/{id}" }, methods: [GET] }]
      aggregate:
        mode: sequential
        budgetMs: 2000
        backends:
          - { name: user, upstream: users, path: "/users/{path.id}", allow: [id, name] }
          ${second}
`;

const GOOD = '- { name: orders, upstream: orders, path: /orders, query: { user: "{resp.user.id}" }, extract: items }';

async function apply(yaml: string): Promise<{ status: number; type: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: yaml });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-agg-'));
  users = await startUpstream('users', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 41, name: `user ${req.url}`, secret: 's' }));
  });
  orders = await startUpstream('orders', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ items: [{ order: 1, for: new URL(req.url ?? '/', 'http://x').searchParams.get('user') }] }));
  });
  tg = await startTollgateProcess({ env: { TOLLGATE_DATA: join(dir, 'data'), ADMIN_TOKEN: TOKEN } });
});

afterAll(async () => {
  await tg?.stop();
  await users?.close();
  await orders?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('aggregate routes in a running tollgate', () => {
  it('an applied sequential aggregate answers through the proxy', async () => {
    const r = await apply(upstreams(users.origin, orders.origin) + api(GOOD));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await waitUntil(async () => (await fetch(`${tg.proxyUrl}/profiles/5`)).status === 200, 5000);
    const res = await fetch(`${tg.proxyUrl}/profiles/5`);
    expect(await res.json()).toEqual({ user: { id: 41, name: 'user /users/5' }, orders: [{ order: 1, for: '41' }] });
  });

  it.each([
    ['a template naming an unknown backend', '- { name: orders, upstream: orders, path: /orders, query: { user: "{resp.nobody.id}" } }', 'unknown_backend', 'spec.routes[0].aggregate.backends[1].query.user'],
    ['a backend used before it runs', '- { name: orders, upstream: orders, path: "/orders/{resp.orders.id}" }', 'backend_not_ready', 'spec.routes[0].aggregate.backends[1].path'],
    ['an unknown template source', '- { name: orders, upstream: orders, path: "/orders/{foo.x}" }', 'invalid_template', 'spec.routes[0].aggregate.backends[1].path'],
    ['a path capture the route does not have', '- { name: orders, upstream: orders, path: "/orders/{path.user}" }', 'unknown_capture', 'spec.routes[0].aggregate.backends[1].path'],
    ['an unknown upstream', '- { name: orders, upstream: nowhere, path: /orders }', 'dangling_reference', 'spec.routes[0].aggregate.backends[1].upstream'],
  ])('%s is refused at apply with 422 problem+json, and the running config keeps serving', async (_what, second, code, path) => {
    const r = await apply(upstreams(users.origin, orders.origin) + api(second));
    expect(r.status).toBe(422);
    expect(r.type).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ status: 422, code: 'INVALID_CONFIG' });
    expect(r.body.errors).toEqual([expect.objectContaining({ code, path, resource: 'Api/profiles', document: 2, line: expect.any(Number) })]);
    const res = await fetch(`${tg.proxyUrl}/profiles/6`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { orders: unknown[] }).orders).toEqual([{ order: 1, for: '41' }]);
  });
});
