import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type RecordingUpstream as GatewayUpstream } from '../gateway/harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { expectClean, startImportStack, type ImportStack } from './harness.js';

/**
 * Modelled on Istio's bookinfo traffic-management tasks (request routing by `end-user`
 * header to subsets, weighted canary, fault injection, timeouts, retries), served at the edge
 * through a Gateway, with ServiceEntries saying where the services run.
 */
const bookinfo = (v1: number, v2: number, v3: number, ratings: number, details: number) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: bookinfo-gateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 8080
      name: http
      protocol: HTTP
    hosts:
    - "bookinfo.example.com"
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: reviews
spec:
  hosts:
  - reviews.default.svc.cluster.local
  ports:
  - number: 9080
    name: http
    protocol: HTTP
  resolution: STATIC
  endpoints:
  - address: 127.0.0.1
    ports: { http: ${v1} }
    labels: { version: v1 }
  - address: 127.0.0.1
    ports: { http: ${v2} }
    labels: { version: v2 }
  - address: 127.0.0.1
    ports: { http: ${v3} }
    labels: { version: v3 }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ratings
spec:
  hosts: [ratings]
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${ratings} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: details
spec:
  hosts: [details]
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${details} } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
  - name: v3
    labels:
      version: v3
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: bookinfo
spec:
  hosts:
  - "bookinfo.example.com"
  gateways:
  - bookinfo-gateway
  http:
  - name: ratings-abort
    match:
    - uri:
        prefix: /ratings
      headers:
        end-user:
          exact: jason
    fault:
      abort:
        percentage:
          value: 100.0
        httpStatus: 500
    route:
    - destination:
        host: ratings
  - name: ratings-delay
    match:
    - uri:
        prefix: /ratings
      headers:
        end-user:
          exact: delayed
    fault:
      delay:
        percentage:
          value: 100
        fixedDelay: 0.3s
    route:
    - destination:
        host: ratings
  - name: ratings
    match:
    - uri:
        prefix: /ratings
    retries:
      attempts: 3
      perTryTimeout: 2s
      retryOn: gateway-error,connect-failure,refused-stream
    route:
    - destination:
        host: ratings
  - name: details
    match:
    - uri:
        exact: /details
    timeout: 0.5s
    route:
    - destination:
        host: details
  - name: jason
    match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
  - name: canary
    match:
    - uri:
        prefix: /canary/
    rewrite:
      uri: /reviews/
    route:
    - destination:
        host: reviews
        subset: v1
      weight: 90
    - destination:
        host: reviews
        subset: v3
      weight: 10
  - route:
    - destination:
        host: reviews.default.svc.cluster.local
        subset: v1
`;

describe('bookinfo-shaped Istio configuration routes real traffic', () => {
  let stack: ImportStack;
  let v1: RecordingUpstream;
  let v2: RecordingUpstream;
  let v3: RecordingUpstream;
  let ratings: GatewayUpstream;
  let details: GatewayUpstream;
  let ratingsCalls = 0;
  const host = 'bookinfo.example.com';

  beforeAll(async () => {
    stack = await startImportStack();
    [v1, v2, v3] = await Promise.all([startRecordingUpstream('reviews-v1'), startRecordingUpstream('reviews-v2'), startRecordingUpstream('reviews-v3')]);
    // Fails twice with 503, then answers: retries on gateway-error must hide the failures.
    ratings = await startUpstream('ratings', (_req, res) => {
      ratingsCalls++;
      res.statusCode = ratingsCalls % 3 === 0 ? 200 : 503;
      res.end(`ratings ${ratingsCalls}`);
    });
    // Answers after 2 s: the 0.5 s route timeout must answer 504 first.
    details = await startUpstream('details', (_req, res) => void setTimeout(() => res.end('details'), 2_000).unref());
    const port = (u: GatewayUpstream) => Number(new URL(u.origin).port);
    const res = await stack.apply(bookinfo(v1.port, v2.port, v3.port, port(ratings), port(details)));
    expectClean(res);
  });
  afterAll(async () => {
    await stack?.close();
    await Promise.all([v1, v2, v3, ratings, details].map((u) => u?.close()));
  });

  it('routes by the end-user header to subset v2, everyone else to v1', async () => {
    const jason = await stack.get('/productpage', host, { 'end-user': 'jason' });
    expect(jason.headers['x-upstream']).toBe('reviews-v2');
    const anon = await stack.get('/productpage', host);
    expect(anon.headers['x-upstream']).toBe('reviews-v1');
    expect((await stack.get('/productpage', host, { 'end-user': 'someone' })).headers['x-upstream']).toBe('reviews-v1');
  });

  it('splits the canary 90/10 between v1 and v3 and rewrites the prefix', async () => {
    v1.requests.length = 0;
    v3.requests.length = 0;
    for (let i = 0; i < 200; i++) expect((await stack.get(`/canary/${i}`, host)).status).toBe(200);
    expect(v1.requests.length + v3.requests.length).toBe(200);
    // 10% of 200: 20 expected; the bounds fail with probability far below 1e-6.
    expect(v3.requests.length).toBeGreaterThan(3);
    expect(v3.requests.length).toBeLessThan(50);
    expect(v1.requests[0]?.url).toMatch(/^\/reviews\/\d+$/);
  });

  it('injects an abort for jason without calling ratings', async () => {
    const before = ratingsCalls;
    const res = await stack.get('/ratings/0', host, { 'end-user': 'jason' });
    expect(res.status).toBe(500);
    expect(ratingsCalls).toBe(before);
  });

  it('injects a delay, then forwards', async () => {
    ratingsCalls = 2;
    const started = Date.now();
    const res = await stack.get('/ratings/0', host, { 'end-user': 'delayed' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(res.status).toBe(200);
  });

  it('retries gateway errors until ratings answers', async () => {
    ratingsCalls = 0;
    const res = await stack.get('/ratings/1', host);
    expect(res.status).toBe(200);
    expect(res.body).toBe('ratings 3');
  });

  it('answers 504 when details is slower than the route timeout', async () => {
    const started = Date.now();
    const res = await stack.get('/details', host);
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(1_800);
  });

  it('serves only the Gateway hosts', async () => {
    expect((await stack.get('/productpage', 'other.example.com')).status).toBe(404);
  });
});
