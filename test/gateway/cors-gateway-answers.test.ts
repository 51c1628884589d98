import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

// CORS on the answers the gateway produces itself, through a real `tollgate start` process: a
// browser app must be able to read why it was refused (401, 403, 429 and its Retry-After, 413,
// 502, 504), exactly as it reads a successful answer; a disallowed origin still gets none.
const TOKEN = 'cors-gateway-answers-admin-token-0123456789';
const KEY = 'tg_cors-answers-silver-key-0123456789';
const APP = 'https://app.example.com';

const cors = `{ name: cors, config: { allowOrigins: ["${APP}"], exposeHeaders: [x-total] } }`;
const api = (name: string, policies: string[], route: string) => `---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: ${name} }
spec:
  basePath: /${name}
  policies: [${[cors, ...policies].join(', ')}]
  routes: [${route}]
`;

const config = (live: string, dead: string, slow: string) => `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: live }
spec: { targets: [{ url: "${live}" }] }
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: dead }
spec: { targets: [{ url: "${dead}" }] }
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: slow }
spec: { targets: [{ url: "${slow}" }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { groups: [silver], keys: [{ name: ci, key: "${KEY}" }] }
${api('auth', ['{ name: key-auth }'], '{ name: r, destination: { upstream: live } }')}${api('acl', ['{ name: key-auth }', '{ name: acl, config: { allowGroups: [gold] } }'], '{ name: r, destination: { upstream: live } }')}${api('limited', ['{ name: rate-limit, config: { by: ip, limits: [{ limit: 1, window: 1m }] } }'], '{ name: r, destination: { upstream: live } }')}${api('big', ['{ name: request-transformer, config: { body: { set: { seen: true } }, maxBodyBytes: 64 } }'], '{ name: r, destination: { upstream: live } }')}${api('down', [], '{ name: r, destination: { upstream: dead } }')}${api('late', [], '{ name: r, timeoutMs: 300, destination: { upstream: slow } }')}---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: secret }
spec:
  product: secret
  version: v1
  basePath: /secret
  lifecycle: { state: draft, previewConsumers: [acme] }
  policies: [${cors}, { name: key-auth }]
  routes: [{ name: r, destination: { upstream: live } }]
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: plain }
spec:
  basePath: /plain
  policies: [{ name: key-auth }]
  routes: [{ name: r, destination: { upstream: live } }]
`;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function call(base: string, path: string, opts: { origin?: string; method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.origin !== undefined) headers.origin = opts.origin;
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = request(`${base}${path}`, { method: opts.method ?? 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The header value as a list of lower-case names. */
const names = (v: string | string[] | undefined): string[] => (v === undefined ? [] : String(v).toLowerCase().split(/\s*,\s*/));

describe('CORS headers on the gateway’s own answers (real process)', () => {
  let db: TestDatabase;
  let live: RecordingUpstream;
  let slow: Server;
  let tg: TollgateProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    live = await startRecordingUpstream('live');
    // Answers its headers long after the route's 300 ms deadline.
    slow = createServer((_req, res) => void setTimeout(() => res.end('late'), 5_000).unref());
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const deadPort = await freePort();
    tg = await startTollgateProcess({ env: { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, CONFIG_POLL_MS: '500' }, readyTimeoutMs: 55_000 });
    const res = await fetch(`${tg.adminUrl}/config`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' },
      body: config(live.url, `http://127.0.0.1:${deadPort}`, `http://127.0.0.1:${(slow.address() as AddressInfo).port}`),
    });
    expect(res.status, await res.text()).toBe(200);
    await waitUntil(async () => (await call(tg.proxyUrl, '/plain/x')).status === 401, 10_000);
  }, 90_000);

  afterAll(async () => {
    await tg?.stop();
    await live?.close();
    slow?.closeAllConnections();
    await new Promise((r) => slow?.close(r));
    await db?.drop();
  });

  /** What every refusal to the allowed origin must carry. */
  const expectCors = (a: Answer, code: string, status: number) => {
    expect(a.status, a.body).toBe(status);
    expect(JSON.parse(a.body)).toMatchObject({ code });
    expect(a.headers['access-control-allow-origin']).toBe(APP);
    expect(names(a.headers.vary)).toContain('origin');
    // The configured names, and the request id the problem quotes.
    expect(names(a.headers['access-control-expose-headers'])).toEqual(expect.arrayContaining(['x-total', 'x-request-id']));
  };

  it('401 from key-auth: Allow-Origin, and WWW-Authenticate exposed', async () => {
    const a = await call(tg.proxyUrl, '/auth/x', { origin: APP });
    expectCors(a, 'AUTH_REQUIRED', 401);
    expect(names(a.headers['access-control-expose-headers'])).toContain('www-authenticate');
  });

  it('403 from acl', async () => {
    expectCors(await call(tg.proxyUrl, '/acl/x', { origin: APP, headers: { apikey: KEY } }), 'ACL_DENIED', 403);
  });

  it('429 from rate-limit, with Retry-After and the RateLimit fields exposed', async () => {
    const first = await call(tg.proxyUrl, '/limited/x', { origin: APP });
    expect(first.status).toBe(200);
    expect(first.headers['access-control-allow-origin']).toBe(APP);
    const a = await call(tg.proxyUrl, '/limited/x', { origin: APP });
    expectCors(a, 'RATE_LIMITED', 429);
    expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
    expect(names(a.headers['access-control-expose-headers'])).toEqual(expect.arrayContaining(['retry-after', 'ratelimit', 'ratelimit-policy', 'x-ratelimit-remaining']));
  });

  it('413 from the body limit of a transformation (after access, on the way upstream)', async () => {
    const a = await call(tg.proxyUrl, '/big/x', { origin: APP, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(200) }) });
    expectCors(a, 'BODY_TOO_LARGE', 413);
  });

  it('502 from a dead upstream and 504 from a slow one', async () => {
    expectCors(await call(tg.proxyUrl, '/down/x', { origin: APP }), 'UPSTREAM_UNAVAILABLE', 502);
    expectCors(await call(tg.proxyUrl, '/late/x', { origin: APP }), 'UPSTREAM_TIMEOUT', 504);
  });

  it('a disallowed origin gets no CORS headers on any of them, only Vary: Origin', async () => {
    for (const [path, status] of [
      ['/auth/x', 401],
      ['/down/x', 502],
      ['/late/x', 504],
    ] as const) {
      const a = await call(tg.proxyUrl, path, { origin: 'https://evil.test' });
      expect(a.status, path).toBe(status);
      expect(a.headers['access-control-allow-origin'], path).toBeUndefined();
      expect(a.headers['access-control-expose-headers'], path).toBeUndefined();
      expect(names(a.headers.vary), path).toContain('origin');
    }
  });

  it('a route without the cors policy, and a request that matches no route, get none', async () => {
    const plain = await call(tg.proxyUrl, '/plain/x', { origin: APP });
    expect(plain.status).toBe(401);
    expect(plain.headers['access-control-allow-origin']).toBeUndefined();
    const none = await call(tg.proxyUrl, '/nowhere', { origin: APP });
    expect(none.status).toBe(404);
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('a draft Api hidden from a caller shows nothing of its CORS policy (the 404 of no route)', async () => {
    const hidden = await call(tg.proxyUrl, '/secret/x', { origin: APP });
    expect(hidden.status).toBe(404);
    expect(JSON.parse(hidden.body)).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    expect(hidden.headers['access-control-allow-origin']).toBeUndefined();
    expect(hidden.headers.vary).toBeUndefined();
    const preview = await call(tg.proxyUrl, '/secret/x', { origin: APP, headers: { apikey: KEY } });
    expect(preview.status).toBe(200);
    expect(preview.headers['access-control-allow-origin']).toBe(APP);
  });

  it('a refused preflight still carries no Allow-Origin (the preflight answer is the policy’s own)', async () => {
    const a = await call(tg.proxyUrl, '/auth/x', { origin: APP, method: 'OPTIONS', headers: { 'access-control-request-method': 'DELETE' } });
    expect(a.status).toBe(403);
    expect(JSON.parse(a.body)).toMatchObject({ code: 'CORS_FORBIDDEN' });
    expect(a.headers['access-control-allow-origin']).toBeUndefined();
  });
});
