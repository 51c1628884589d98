import { describe, expect, it } from 'vitest';
import { parseYamlDocuments, validateDocuments, type ApiResource, type UpstreamResource } from '@tollgate/model';
import { importDocuments } from './import.js';
import { exportAs } from './export.js';

function imported(yaml: string) {
  const { documents } = parseYamlDocuments(yaml);
  return importDocuments(documents);
}

describe('DestinationRule', () => {
  it('maps subsets, consistent hash, connection pool, outlier detection and TLS onto the Upstream', () => {
    const r = imported(`apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: pay }
spec:
  hosts: [pay.example.internal]
  ports: [{ number: 443, name: https, protocol: HTTP }]
  resolution: DNS
  endpoints:
  - { address: pay-a.example.internal, labels: { version: v1 }, weight: 3 }
  - { address: pay-b.example.internal, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: { name: pay }
spec:
  host: pay.example.internal
  trafficPolicy:
    loadBalancer:
      consistentHash: { httpHeaderName: x-user }
    connectionPool:
      tcp: { maxConnections: 50, connectTimeout: 250ms }
      http: { http1MaxPendingRequests: 10, maxRequestsPerConnection: 100 }
    outlierDetection: { consecutive5xxErrors: 3, baseEjectionTime: 1m, maxEjectionPercent: 50, interval: 10s }
    tls: { mode: SIMPLE, sni: pay.example.com }
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
`);
    expect(r.issues).toEqual([]);
    expect(r.warnings.map((w) => w.path)).toEqual(['spec.trafficPolicy.outlierDetection.interval']);
    const u = r.resources[0] as UpstreamResource;
    expect(u.metadata.name).toBe('svc-pay.example.internal-443');
    expect(u.metadata.labels).toEqual({ 'tollgate.dev/source': 'ServiceEntry/pay', 'tollgate.dev/destination-rule': 'DestinationRule/pay' });
    expect(u.spec).toMatchObject({
      targets: [
        { url: 'https://pay-a.example.internal:443', weight: 3, labels: { version: 'v1' } },
        { url: 'https://pay-b.example.internal:443', weight: 100, labels: { version: 'v2' } },
      ],
      subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }],
      loadBalancing: 'consistent-hash',
      consistentHash: { header: 'x-user' },
      maxConnectionsPerTarget: 50,
      timeouts: { connectMs: 250 },
      circuitBreaker: { maxPendingRequests: 10, maxRequestsPerConnection: 100 },
      healthChecks: { passive: { consecutiveErrors: 3, baseEjectionMs: 60_000, maxEjectionPercent: 50 } },
      tls: { serverName: 'pay.example.com', insecureSkipVerify: false },
    });
    expect(validateDocuments(r.documents).ok).toBe(true);
  });

  it('warns when no backend of the set uses the rule', () => {
    const r = imported(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: lonely }
spec: { host: nowhere, subsets: [{ name: v1, labels: { version: v1 } }] }
`);
    expect(r.resources).toEqual([]);
    expect(r.warnings).toEqual([expect.objectContaining({ document: 0, resource: 'DestinationRule/lonely', path: 'spec.host' })]);
  });

  it('reads EndpointSlices of a Service, leaving out endpoints that are not ready', () => {
    const r = imported(`apiVersion: v1
kind: Service
metadata: { name: web }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-abc, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
endpoints:
- { addresses: [10.1.0.1], conditions: { ready: true } }
- { addresses: [10.1.0.2], conditions: { ready: false } }
ports: [{ name: http, port: 8080 }]
`);
    expect((r.resources[0] as UpstreamResource).spec.targets.map((t) => t.url)).toEqual(['http://10.1.0.1:8080']);
  });
});

describe('exportAs', () => {
  const { documents } = parseYamlDocuments(`apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: orders }
spec:
  targets: [{ url: "http://10.0.0.1:8080", labels: { version: v1 } }]
  subsets: [{ name: v1, labels: { version: v1 } }]
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: orders }
spec:
  hosts: [shop.example.com]
  basePath: /orders
  routes:
  - name: all
    destination: { upstream: orders, subset: v1 }
    timeoutMs: 1500
`);
  const v = validateDocuments(documents);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));

  it('writes Istio documents that import back to the same routing', () => {
    const out = exportAs(v.resources, 'istio');
    expect(out.documents.map((d) => d.kind)).toEqual(['Gateway', 'ServiceEntry', 'DestinationRule', 'VirtualService']);
    const back = importDocuments(out.documents.map((value, index) => ({ index, value })));
    expect(back.issues).toEqual([]);
    const api = back.resources.find((r) => r.kind === 'Api') as ApiResource;
    expect(api.spec.hosts).toEqual(['shop.example.com']);
    expect(api.spec.routes[0]).toMatchObject({ destination: { upstream: 'svc-orders-8080', subset: 'v1' }, timeoutMs: 1500, match: [{ path: { regex: '/orders(/.*)?' } }] });
    expect(validateDocuments(back.documents).ok).toBe(true);
  });

  it('an istio round trip keeps the names: VirtualService x → Api vs-x → VirtualService x → Api vs-x', () => {
    const first = importDocuments(parseYamlDocuments(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: orders }
spec:
  hosts: [orders]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 10.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: x }
spec:
  hosts: [x.example.com]
  gateways: [edge]
  http: [{ route: [{ destination: { host: orders } }] }]
`).documents);
    const valid = validateDocuments(first.documents);
    if (!valid.ok) throw new Error(JSON.stringify(valid.issues));
    expect(valid.resources.filter((r) => r.kind === 'Api').map((r) => r.metadata.name)).toEqual(['vs-x']);
    const out = exportAs(valid.resources, 'istio');
    expect(out.documents.filter((d) => d.kind === 'VirtualService').map((d) => (d.metadata as { name: string }).name)).toEqual(['x']);
    const back = importDocuments(out.documents.map((value, index) => ({ index, value })));
    expect(back.resources.filter((r) => r.kind === 'Api').map((r) => r.metadata.name)).toEqual(['vs-x']);
    // A Tollgate-native Api keeps its own name.
    expect(exportAs(v.resources, 'istio').documents.filter((d) => d.kind === 'VirtualService').map((d) => (d.metadata as { name: string }).name)).toEqual(['orders']);
  });

  it('writes an Ingress and Service + Endpoints for k8s', () => {
    const out = exportAs(v.resources, 'k8s');
    expect(out.documents.map((d) => d.kind)).toEqual(['Service', 'Endpoints', 'Ingress']);
    expect(out.documents[2]).toMatchObject({ spec: { rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/orders', pathType: 'Prefix', backend: { service: { name: 'orders', port: { number: 8080 } } } }] } }] } });
    expect(out.warnings).toEqual(['Api/orders: timeoutMs have no Ingress mapping']);
  });
});
