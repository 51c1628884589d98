import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

// oauth2-introspection through a real `tollgate start` process, against a real RFC 7662 endpoint
// served by this test (the "external authorization server").
const TOKEN = 'introspection-admin-token-0123456789ab';
const CLIENT_SECRET = 'as-client-secret-5d1f0c7e9b';
const now = () => Math.floor(Date.now() / 1000);

describe('oauth2-introspection through a real process', () => {
  let db: TestDatabase;
  let up: RecordingUpstream;
  let tg: TollgateProcess;
  let as: Server;
  let asUrl: string;
  const tokens = new Map<string, Record<string, unknown>>();
  let asUp = true;
  let asCalls = 0;

  const config = () => `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: svc }
spec: { targets: [{ url: "${up.url}" }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { jwtSubjects: [{ issuer: "https://as.test", subject: user-1 }] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: opaque }
spec:
  policies:
    - name: oauth2-introspection
      config:
        endpoint: ${asUrl}/introspect
        clientId: gateway
        clientSecret: ${CLIENT_SECRET}
        issuer: https://as.test
        audiences: [api://orders]
        timeoutMs: 500
        negativeCacheTtlSec: 0
  routes: [{ name: all, destination: { upstream: svc } }]
`;
  const admin = (path: string, init: RequestInit = {}) => fetch(`${tg.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string>) } });
  const call = async (token?: string) => {
    const res = await fetch(`${tg.proxyUrl}/orders/1`, { headers: token !== undefined ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };

  beforeAll(async () => {
    as = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        asCalls++;
        if (!asUp) return void res.destroy();
        if (req.headers.authorization !== `Basic ${Buffer.from(`gateway:${CLIENT_SECRET}`).toString('base64')}`) return void res.writeHead(401).end();
        const t = tokens.get(new URLSearchParams(body).get('token') ?? '');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(t ?? { active: false }));
      });
    });
    await new Promise<void>((r) => as.listen(0, '127.0.0.1', r));
    asUrl = `http://127.0.0.1:${(as.address() as AddressInfo).port}`;
    db = await createTestDatabase();
    up = await startRecordingUpstream('svc');
    tg = await startTollgateProcess({ env: { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, CONFIG_POLL_MS: '500' }, readyTimeoutMs: 55_000 });
    const res = await admin('/config', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: config() });
    expect(res.status, await res.text()).toBe(200);
    await waitUntil(async () => (await call()).status === 401, 5000);
  }, 90_000);

  afterAll(async () => {
    await tg?.stop();
    await up?.close();
    as?.closeAllConnections();
    await new Promise((r) => as?.close(r));
    await db?.drop();
  });

  it('forwards an active token as its consumer, without the token, and caches the answer', async () => {
    tokens.set('opaque-good', { active: true, sub: 'user-1', iss: 'https://as.test', aud: 'api://orders', exp: now() + 300 });
    const before = asCalls;
    for (let i = 0; i < 3; i++) expect((await call('opaque-good')).status).toBe(200);
    expect(asCalls - before).toBe(1);
    const seen = up.requests.at(-1);
    expect(seen?.headers['x-consumer-name']).toBe('acme');
    expect(seen?.headers.authorization).toBeUndefined();
  });

  it('refuses inactive (revoked), wrong-audience and expired tokens with stable codes', async () => {
    tokens.set('opaque-aud', { active: true, sub: 'user-1', iss: 'https://as.test', aud: 'api://billing' });
    tokens.set('opaque-exp', { active: true, sub: 'user-1', iss: 'https://as.test', aud: 'api://orders', exp: now() - 10 });
    for (const [t, code] of [['opaque-revoked', 'INVALID_CREDENTIAL'], ['opaque-aud', 'INVALID_CREDENTIAL'], ['opaque-exp', 'TOKEN_EXPIRED']] as const) {
      const res = await call(t);
      expect(res.status, t).toBe(401);
      expect(JSON.parse(res.body)).toMatchObject({ code });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="tollgate", error="invalid_token"/);
    }
    expect(JSON.parse((await call()).body)).toMatchObject({ code: 'AUTH_REQUIRED' });
  });

  it('answers 503 INTROSPECTION_UNAVAILABLE with Retry-After while the authorization server is down, then recovers', async () => {
    asUp = false;
    tokens.set('opaque-later', { active: true, sub: 'user-1', iss: 'https://as.test', aud: 'api://orders' });
    const res = await call('opaque-later');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'INTROSPECTION_UNAVAILABLE' });
    expect(res.headers.get('retry-after')).toBe('5');
    asUp = true;
    expect((await call('opaque-later')).status).toBe(200);
  });

  it('never shows the client secret: config reads, export, audit log and process output', async () => {
    const bodies: string[] = [];
    for (const path of ['/config', '/config?format=json', '/apis/opaque', '/audit-log']) {
      const res = await admin(path);
      expect(res.status, path).toBe(200);
      bodies.push(await res.text());
    }
    expect(bodies[0]).toContain('<redacted>');
    expect(bodies.join('\n') + tg.output()).not.toContain(CLIENT_SECRET);
    expect(tg.output()).not.toContain('opaque-good');
  });
});
