import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';

const KEY = 'tg_Zx81mQv3LkP0sR7aT2bYc9dWf4gHj6N';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let up: RecordingUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  up = await startUpstream('svc');
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('svc', [up.origin]) +
        apiYaml(
          'keyed',
          `basePath: /keyed
policies: [{ name: key-auth, config: { queryParams: [k] } }]
routes: [{ name: all, destination: { upstream: svc } }]`,
        ) +
        apiYaml(
          'either',
          `basePath: /either
policies:
  - { name: key-auth }
  - { name: jwt-auth, config: { issuers: [{ issuer: "https://i.test", algorithms: [HS256], audiences: [x], secrets: ["0123456789abcdef0123456789abcdef"] }] } }
routes: [{ name: all, destination: { upstream: svc } }]`,
        ) +
        apiYaml('open', `basePath: /open\nroutes: [{ name: all, destination: { upstream: svc } }]`) +
        `---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { customId: acme-1, groups: [gold], keys: [{ name: ci, hash: "${sha(KEY)}" }] }
`,
    ),
  );
  gw = await startTestGateway(source, { logQuery: true });
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const spoof = { 'x-consumer-id': 'root', 'x-consumer-name': 'admin', 'x-consumer-groups': 'staff', 'x-consumer-custom': 'x' };

describe('key-auth through the gateway', () => {
  it('a declared key authenticates; the upstream sees the gateway identity, never the key or spoofed headers', async () => {
    const before = up.received.length;
    const r = await send(gw.port, { path: '/keyed/a?x=1', headers: { apikey: KEY, ...spoof } });
    expect(r.status).toBe(200);
    const h = up.received[before]?.headers ?? {};
    expect(h.apikey).toBeUndefined();
    expect(h['x-consumer-name']).toBe('acme');
    expect(h['x-consumer-id']).toBe('acme-1');
    expect(h['x-consumer-groups']).toBe('gold');
    expect(h['x-consumer-custom']).toBeUndefined();
  });

  it('a key in a configured query parameter is removed from the forwarded URL and the access log', async () => {
    const before = up.received.length;
    const r = await send(gw.port, { path: `/keyed/b?x=1&k=${KEY}&y=2`, headers: { 'x-api-key': 'tg_wrong_but_later', connection: 'close' } });
    // Two different keys in one request are refused; the query key is removed anyway.
    expect(r.status).toBe(401);
    const ok = await send(gw.port, { path: `/keyed/b?x=1&k=${KEY}&y=2` });
    expect(ok.status).toBe(200);
    expect(up.received[before]?.url).toBe('/keyed/b?x=1&y=2');
    const lines = gw.logs.filter((l) => l.type === 'access' && String(l.path).startsWith('/keyed/b'));
    expect(lines.length).toBe(2);
    expect(lines.map((l) => l.query)).toEqual(['x=1&y=2', 'x=1&y=2']);
    expect(JSON.stringify(gw.logs)).not.toContain(KEY);
    expect(JSON.stringify(gw.logs)).not.toContain(KEY.slice(3, 20));
  });

  it('missing and wrong keys are 401 with an ApiKey challenge and never reach the upstream', async () => {
    const before = up.started;
    const missing = await send(gw.port, { path: '/keyed/c' });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('ApiKey realm="tollgate"');
    expect(missing.json()).toMatchObject({ code: 'AUTH_REQUIRED' });
    const wrong = await send(gw.port, { path: '/keyed/c', headers: { apikey: `${KEY}x` } });
    expect(wrong.status).toBe(401);
    expect(wrong.json()).toMatchObject({ code: 'INVALID_CREDENTIAL' });
    expect(wrong.body).not.toContain(KEY);
    expect(up.started).toBe(before);
  });

  it('spoofed X-Consumer-* headers are removed on a route with no auth policy', async () => {
    const before = up.received.length;
    expect((await send(gw.port, { path: '/open/x', headers: spoof })).status).toBe(200);
    const h = up.received[before]?.headers ?? {};
    for (const name of Object.keys(spoof)) expect(h[name]).toBeUndefined();
  });

  it('key OR jwt: the key alone passes, nothing is 401 with both challenges, a bad token is 401', async () => {
    expect((await send(gw.port, { path: '/either/a', headers: { apikey: KEY } })).status).toBe(200);
    const none = await send(gw.port, { path: '/either/a' });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('ApiKey realm="tollgate", Bearer realm="tollgate"');
    const bad = await send(gw.port, { path: '/either/a', headers: { authorization: 'Bearer a.b.c' } });
    expect(bad.status).toBe(401);
    expect(bad.json()).toMatchObject({ code: 'INVALID_CREDENTIAL' });
    // The first policy that finds a credential decides: a valid key wins over a garbage token.
    expect((await send(gw.port, { path: '/either/a', headers: { apikey: KEY, authorization: 'Bearer a.b.c' } })).status).toBe(200);
  });
});
