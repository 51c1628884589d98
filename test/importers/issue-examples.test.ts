import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { INGRESS_EXAMPLE, ISTIO_EXAMPLE } from './examples.js';
import { expectClean, startImportStack, type ImportStack } from './harness.js';

/** Where httpbin runs, the Kubernetes way: a Service and its Endpoints. */
const serviceAndEndpoints = (port: number) => `apiVersion: v1
kind: Service
metadata:
  name: httpbin
spec:
  ports:
  - name: http
    port: 8000
    targetPort: ${port}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: httpbin
subsets:
- addresses:
  - ip: 127.0.0.1
  ports:
  - name: http
    port: ${port}
`;

/** Where httpbin runs, the Istio way: a ServiceEntry with a static endpoint. */
const serviceEntry = (port: number) => `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: httpbin
spec:
  hosts:
  - httpbin
  ports:
  - number: 8000
    name: http
    protocol: HTTP
  resolution: STATIC
  endpoints:
  - address: 127.0.0.1
    ports:
      http: ${port}
`;

describe('the two examples of issue #4, through POST /config, with real traffic', () => {
  let stack: ImportStack;
  let httpbin: RecordingUpstream;
  beforeAll(async () => {
    stack = await startImportStack();
    httpbin = await startRecordingUpstream('httpbin');
  });
  afterAll(async () => {
    await stack?.close();
    await httpbin?.close();
  });
  beforeEach(async () => {
    await stack.admin.reset();
    httpbin.requests.length = 0;
  });

  it('Ingress v1beta1 (ImplementationSpecific "/status/*") + Service + Endpoints', async () => {
    const res = await stack.apply(`${serviceAndEndpoints(httpbin.port)}---\n${INGRESS_EXAMPLE}`);
    expectClean(res);
    expect(res.body.changes).toEqual([
      { kind: 'Upstream', name: 'svc-httpbin-8000', action: 'create' },
      { kind: 'Api', name: 'ing-ingress-0', action: 'create' },
    ]);
    const ok = await stack.get('/status/418', 'httpbin.example.com');
    expect(ok.status).toBe(200);
    expect(httpbin.requests.map((r) => r.url)).toEqual(['/status/418']);
    // "/status/*" is a prefix of whole path elements: /status itself too, /statusx not.
    expect((await stack.get('/status', 'httpbin.example.com')).status).toBe(200);
    expect((await stack.get('/statusx', 'httpbin.example.com')).status).toBe(404);
    expect((await stack.get('/headers', 'httpbin.example.com')).status).toBe(404);
    expect((await stack.get('/status/200', 'other.example.com')).status).toBe(404);
    // Re-applying the same documents updates in place (deterministic names).
    const again = await stack.apply(`${serviceAndEndpoints(httpbin.port)}---\n${INGRESS_EXAMPLE}`);
    expect(again.body.changes).toEqual([
      { kind: 'Upstream', name: 'svc-httpbin-8000', action: 'unchanged' },
      { kind: 'Api', name: 'ing-ingress-0', action: 'unchanged' },
    ]);
  });

  it('Istio Gateway + VirtualService + ServiceEntry', async () => {
    const res = await stack.apply(`${serviceEntry(httpbin.port)}---\n${ISTIO_EXAMPLE}`);
    expectClean(res);
    expect(res.body.changes).toEqual([
      { kind: 'Upstream', name: 'svc-httpbin-8000', action: 'create' },
      { kind: 'Api', name: 'vs-httpbin', action: 'create' },
    ]);
    expect((await stack.get('/status/200', 'httpbin.example.com')).status).toBe(200);
    // Istio's uri prefix is a string prefix (Envoy prefix match), so /statusx matches too.
    expect((await stack.get('/statusx', 'httpbin.example.com')).status).toBe(200);
    expect(httpbin.requests.map((r) => r.url)).toEqual(['/status/200', '/statusx']);
    expect((await stack.get('/headers', 'httpbin.example.com')).status).toBe(404);
    expect((await stack.get('/status/200', 'other.example.com')).status).toBe(404);
  });

  it('the generated resources carry their source label and export back', async () => {
    await stack.apply(`${serviceEntry(httpbin.port)}---\n${ISTIO_EXAMPLE}`);
    const exported = await stack.admin.exportYaml();
    expect(exported).toContain('tollgate.dev/source: VirtualService/httpbin');
    expect(exported).toContain('tollgate.dev/source: ServiceEntry/httpbin');
  });
});
