import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../gateway/harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { expectClean, startImportStack, type ImportStack } from './harness.js';

/** VirtualService actions beyond routing: CORS, header changes, authority rewrite, mirror, redirect, regex rewrite. */
const yaml = (app: number, shadow: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: app }
spec:
  hosts: [app, shadow]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${app} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: shadow }
spec:
  hosts: [shadow.internal]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${shadow} } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: web }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*.example.com"] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web }
spec:
  hosts: ["web.example.com"]
  gateways: [web]
  http:
  - name: old
    match: [{ uri: { exact: /old } }]
    redirect: { uri: /new, redirectCode: 308 }
  - name: users
    match: [{ uri: { regex: "/users/[0-9]+" } }]
    rewrite:
      uriRegexRewrite: { match: "^/users/([0-9]+)$", rewrite: "/v2/users/\\\\1" }
    route: [{ destination: { host: app } }]
  - name: api
    match: [{ uri: { prefix: /api }, method: { exact: GET } }]
    rewrite: { authority: backend.internal }
    headers:
      request: { set: { x-from: tollgate }, remove: [x-secret] }
      response: { add: { x-served-by: web } }
    mirror: { host: shadow.internal }
    mirrorPercentage: { value: 100 }
    corsPolicy:
      allowOrigins: [{ exact: "https://app.example.com" }]
      allowMethods: [GET]
      maxAge: 24h
    route: [{ destination: { host: app } }]
`;

describe('VirtualService actions on real traffic', () => {
  let stack: ImportStack;
  let app: RecordingUpstream;
  let shadow: RecordingUpstream;
  const host = 'web.example.com';
  beforeAll(async () => {
    stack = await startImportStack();
    app = await startRecordingUpstream('app');
    shadow = await startRecordingUpstream('shadow');
    expectClean(await stack.apply(yaml(app.port, shadow.port)));
  });
  afterAll(async () => {
    await stack?.close();
    await app?.close();
    await shadow?.close();
  });

  it('redirects with the given code', async () => {
    const res = await stack.get('/old', host);
    expect(res.status).toBe(308);
    expect(res.headers.location).toMatch(/\/new$/);
  });

  it('rewrites with uriRegexRewrite', async () => {
    await stack.get('/users/42', host);
    expect(app.requests.at(-1)?.url).toBe('/v2/users/42');
  });

  it('rewrites the authority, changes headers and mirrors', async () => {
    const res = await stack.get('/api/x', host, { 'x-secret': 's' });
    expect(res.status).toBe(200);
    expect(res.headers['x-served-by']).toBe('web');
    const seen = app.requests.at(-1);
    expect(seen?.headers.host).toBe('backend.internal');
    expect(seen?.headers['x-from']).toBe('tollgate');
    expect(seen?.headers['x-secret']).toBeUndefined();
    await new Promise((r) => setTimeout(r, 200));
    expect(shadow.requests.map((r) => r.url)).toContain('/api/x');
    // method: exact GET. Tollgate answers a path that matches with another method 405 (docs/routing.md), where Envoy says 404.
    const before = app.requests.length;
    expect((await send(stack.gateway.port, { method: 'DELETE', path: '/api/x', headers: { host } })).status).toBe(405);
    expect(app.requests.length).toBe(before);
  });

  it('answers CORS preflights from corsPolicy', async () => {
    const res = await send(stack.gateway.port, { method: 'OPTIONS', path: '/api/x', headers: { host, origin: 'https://app.example.com', 'access-control-request-method': 'GET' } });
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-max-age']).toBe('86400');
  });
});
