import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenTls } from '@tollgate/gateway';
import { TestCa } from '../edge/certs.js';
import { send } from '../gateway/harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { expectClean, startImportStack, type ImportStack } from './harness.js';

/**
 * Modelled on the Gateway API guides (HTTP routing, traffic splitting, header modifiers,
 * redirects and rewrites): Gateway + HTTPRoute with Service + Endpoints saying where the two
 * versions run, checked against real upstreams.
 */
let stack: ImportStack;
let v1: RecordingUpstream;
let v2: RecordingUpstream;

const services = () => ['store-v1', 'store-v2']
  .map((name, i) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { ports: [{ name: http, port: 8080 }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: ${name} }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ name: http, port: ${[v1, v2][i]?.port} }] }]
`)
  .join('---\n');

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: edge, namespace: istio-ingress }
spec:
  gatewayClassName: istio
  listeners:
  - name: http
    hostname: "*.example.com"
    port: 80
    protocol: HTTP
    allowedRoutes: { namespaces: { from: All } }
`;

const ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: store }
spec:
  parentRefs: [{ name: edge, namespace: istio-ingress }]
  hostnames: [store.example.com]
  rules:
  - matches:
    - path: { type: PathPrefix, value: /store }
      headers: [{ name: env, value: canary }]
    - path: { type: PathPrefix, value: /store }
      method: POST
    backendRefs: [{ name: store-v2, port: 8080 }]
  - matches: [{ path: { type: PathPrefix, value: /store } }]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: { set: [{ name: x-route, value: store }], remove: [x-debug] }
    - type: ResponseHeaderModifier
      responseHeaderModifier: { add: [{ name: x-served-by, value: tollgate }] }
    backendRefs: [{ name: store-v1, port: 8080 }]
  - matches: [{ path: { type: Exact, value: /store/health } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /healthz } } }]
    backendRefs: [{ name: store-v2, port: 8080 }]
  - matches: [{ path: { type: PathPrefix, value: /shop } }]
    filters: [{ type: URLRewrite, urlRewrite: { hostname: store.internal, path: { type: ReplacePrefixMatch, replacePrefixMatch: /store } } }]
    backendRefs: [{ name: store-v1, port: 8080 }]
  - matches: [{ path: { type: PathPrefix, value: /split } }]
    backendRefs:
    - { name: store-v1, port: 8080, weight: 3 }
    - { name: store-v2, port: 8080, weight: 1 }
  - matches: [{ path: { type: PathPrefix, value: /old } }]
    filters: [{ type: RequestRedirect, requestRedirect: { scheme: https, hostname: new.example.com, statusCode: 301 } }]
`;

const get = (path: string, headers: Record<string, string> = {}) => stack.get(path, 'store.example.com', headers);
const last = (u: RecordingUpstream) => u.requests.at(-1);

beforeAll(async () => {
  v1 = await startRecordingUpstream('v1');
  v2 = await startRecordingUpstream('v2');
  stack = await startImportStack();
  expectClean(await stack.apply(`${services()}---\n${GATEWAY}---\n${ROUTE}`));
});

afterAll(async () => {
  await stack?.close();
  await v1?.close();
  await v2?.close();
});

describe('Gateway API Gateway + HTTPRoute through POST /config', () => {
  it('header and method matches go to v2; the rest of the prefix to v1 with header modifiers both ways', async () => {
    const canary = await get('/store/items', { env: 'canary' });
    expect(canary.headers['x-upstream']).toBe('v2');
    const post = await send(stack.gateway.port, { method: 'POST', path: '/store/items', headers: { host: 'store.example.com' }, body: '{}' });
    expect(post.headers['x-upstream']).toBe('v2');
    const plain = await get('/store/items', { 'x-debug': '1', 'x-route': 'forged' });
    expect(plain.headers['x-upstream']).toBe('v1');
    expect(plain.headers['x-served-by']).toBe('tollgate');
    expect(last(v1)?.headers['x-route']).toBe('store');
    expect(last(v1)?.headers['x-debug']).toBeUndefined();
    // PathPrefix matches whole elements: /storefront is not /store.
    expect((await get('/storefront')).status).toBe(404);
  });

  it('an Exact match wins over an earlier prefix rule and rewrites the full path', async () => {
    expect((await get('/store/health')).headers['x-upstream']).toBe('v2');
    expect(last(v2)?.url).toBe('/healthz');
  });

  it('ReplacePrefixMatch and hostname rewrite', async () => {
    expect((await get('/shop/cart?x=1')).headers['x-upstream']).toBe('v1');
    expect(last(v1)?.url).toBe('/store/cart?x=1');
    expect(last(v1)?.headers.host).toBe('store.internal');
  });

  it('weighted backendRefs send traffic to both versions', async () => {
    const seen = { v1: 0, v2: 0 };
    for (let i = 0; i < 40; i++) seen[(await get('/split')).headers['x-upstream'] as 'v1' | 'v2']++;
    expect(seen.v1).toBeGreaterThan(0);
    expect(seen.v2).toBeGreaterThan(0);
    expect(seen.v1 + seen.v2).toBe(40);
  });

  it('RequestRedirect answers with the new scheme and host, keeping the path', async () => {
    const r = await get('/old/page?q=1');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('https://new.example.com/old/page?q=1');
  });

  it('hostnames outside the listener are not served', async () => {
    expect((await stack.get('/store/items', 'store.other.test')).status).toBe(404);
  });

  it('an AuthorizationPolicy applied with the HTTPRoute protects it', async () => {
    const deny = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: no-posts, namespace: istio-system }
spec:
  action: DENY
  rules: [{ to: [{ operation: { methods: [POST] } }] }]
`;
    expectClean(await stack.apply(`${services()}---\n${GATEWAY}---\n${ROUTE}---\n${deny}`));
    const post = await send(stack.gateway.port, { method: 'POST', path: '/store/items', headers: { host: 'store.example.com' }, body: '{}' });
    expect(post.status).toBe(403);
    expect((await get('/store/items')).status).toBe(200);
  });
});

describe('Gateway API HTTPS listener', () => {
  it('terminates TLS with the certificateRefs Secret and serves the attached HTTPRoute', async () => {
    const ca = new TestCa();
    try {
      await listenTls(stack.gateway.gw, '127.0.0.1', 0);
      const port = (stack.gateway.gw.tls.address() as AddressInfo).port;
      const leaf = ca.issue('secure.example.com', ['secure.example.com']);
      const b64 = (x: string) => Buffer.from(x).toString('base64');
      expectClean(await stack.apply(`${services()}---
apiVersion: v1
kind: Secret
metadata: { name: secure-cert }
type: kubernetes.io/tls
data: { tls.crt: ${b64(leaf.cert)}, tls.key: ${b64(leaf.key)} }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: secure }
spec:
  gatewayClassName: tollgate
  listeners:
  - name: https
    hostname: secure.example.com
    port: 443
    protocol: HTTPS
    tls: { mode: Terminate, certificateRefs: [{ kind: Secret, name: secure-cert }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: secure }
spec:
  parentRefs: [{ name: secure, sectionName: https }]
  rules: [{ backendRefs: [{ name: store-v1, port: 8080 }] }]
`));
      const res = await new Promise<{ status: number; upstream: unknown }>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/hello', servername: 'secure.example.com', headers: { host: 'secure.example.com' }, ca: ca.ca.cert, agent: false }, (r) => {
          r.resume();
          r.on('end', () => resolve({ status: r.statusCode ?? 0, upstream: r.headers['x-upstream'] }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(res).toEqual({ status: 200, upstream: 'v1' });
    } finally {
      ca.dispose();
    }
  });
});
