import { describe, expect, it } from 'vitest';
import { parseYamlDocuments, validateDocuments, type ApiResource, type UpstreamResource } from '@tollgate/model';
import { importDocuments } from './import.js';
// The issue's examples, verbatim, shared with the black-box tests.
import { INGRESS_EXAMPLE, ISTIO_EXAMPLE } from '../../../test/importers/examples.js';

function run(yaml: string, options = {}) {
  const { documents, issues } = parseYamlDocuments(yaml);
  expect(issues).toEqual([]);
  const imported = importDocuments(documents, options);
  const validated = imported.issues.length === 0 ? validateDocuments(imported.documents) : undefined;
  return { ...imported, validated };
}

const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: httpbin }
spec:
  ports: [{ name: http, port: 8000, targetPort: 80 }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: httpbin }
subsets:
- addresses: [{ ip: 10.0.0.7 }, { ip: 10.0.0.8 }]
  ports: [{ name: http, port: 80 }]
`;

describe('Ingress', () => {
  it('translates the v1beta1 example with Service + Endpoints', () => {
    const r = run(`${SERVICE}---\n${INGRESS_EXAMPLE}`);
    expect(r.issues).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.validated?.ok).toBe(true);
    const up = r.resources.find((x) => x.kind === 'Upstream') as UpstreamResource;
    expect(up.metadata.name).toBe('svc-httpbin-8000');
    expect(up.spec.targets.map((t) => t.url)).toEqual(['http://10.0.0.7:80', 'http://10.0.0.8:80']);
    expect(up.metadata.labels['tollgate.dev/source']).toBe('Service/httpbin');
    const api = r.resources.find((x) => x.kind === 'Api') as ApiResource;
    expect(api.metadata.name).toBe('ing-ingress-0');
    expect(api.metadata.labels['tollgate.dev/source']).toBe('Ingress/ingress');
    expect(api.spec.hosts).toEqual(['httpbin.example.com']);
    expect(api.spec.routes[0]?.match[0]?.path).toEqual({ prefix: '/status' });
    expect(api.spec.routes[0]?.destination).toEqual({ upstream: 'svc-httpbin-8000' });
  });

  it('skips classes it does not serve, with a warning naming the field', () => {
    const r = run(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: other }
spec:
  ingressClassName: nginx
  rules: [{ host: a.example.com, http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: a, port: { number: 80 } } } }] } }]
`);
    expect(r.resources).toEqual([]);
    expect(r.warnings).toEqual([expect.objectContaining({ document: 0, resource: 'Ingress/other', path: 'spec.ingressClassName' })]);
    expect(run(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: other }
spec:
  ingressClassName: nginx
  rules: [{ host: a.example.com, http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: a, port: { number: 80 } } } }] } }]
`, { ingressClasses: ['nginx'] }).resources).toHaveLength(1);
  });

  it('reads ImplementationSpecific "/a/*", "/a/.*" and "/a" as element prefixes of /a', () => {
    for (const path of ['/a/*', '/a/.*', '/a']) {
      const r = run(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: impl }
spec:
  rules: [{ http: { paths: [{ path: "${path}", pathType: ImplementationSpecific, backend: { service: { name: a, port: { number: 80 } } } }] } }]
`);
      expect((r.resources[0] as ApiResource).spec.routes[0]?.match[0]?.path).toEqual({ prefix: '/a' });
    }
  });

  it('orders Exact before longer Prefix before shorter, and maps pathTypes', () => {
    const r = run(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: paths }
spec:
  rules:
  - http:
      paths:
      - { path: /, pathType: Prefix, backend: { service: { name: a, port: { number: 80 } } } }
      - { path: /foo/, pathType: Prefix, backend: { service: { name: b, port: { number: 80 } } } }
      - { path: /foo/bar, pathType: Exact, backend: { service: { name: c, port: { number: 80 } } } }
`);
    const api = r.resources[0] as ApiResource;
    expect(api.spec.hosts).toEqual([]);
    expect(api.spec.routes.map((x) => x.match[0]?.path)).toEqual([{ exact: '/foo/bar' }, { prefix: '/foo' }, { prefix: '/' }]);
  });

  it('reports a malformed document with the field path', () => {
    const r = run(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: bad }
spec:
  rules:
  - http:
      paths: { path: / }
`);
    expect(r.issues).toEqual([expect.objectContaining({ document: 0, path: 'spec.rules[0].http.paths', code: 'invalid_type', line: 7 })]);
  });
});

describe('Istio', () => {
  it('translates the Gateway + VirtualService example with a ServiceEntry', () => {
    const r = run(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: httpbin }
spec:
  hosts: [httpbin]
  ports: [{ number: 8000, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: 9999 } }]
---
${ISTIO_EXAMPLE}`);
    expect(r.issues).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.validated?.ok).toBe(true);
    const api = r.resources.find((x) => x.kind === 'Api') as ApiResource;
    expect(api.metadata.name).toBe('vs-httpbin');
    expect(api.spec.routes[0]?.match[0]?.path).toEqual({ regex: '/status.*' });
    expect(api.spec.routes[0]?.retries).toEqual({ attempts: 2, retryOn: ['connect-failure', 'reset', '503'], allowNonIdempotent: false });
    expect((r.resources.find((x) => x.kind === 'Upstream') as UpstreamResource).spec.targets[0]?.url).toBe('http://127.0.0.1:9999');
  });

  it('skips mesh-only VirtualServices and Gateways for other selectors, with warnings', () => {
    const r = run(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: mesh }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, port: { number: 9080 } } }] }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: egress }
spec:
  selector: { istio: egressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]
`);
    expect(r.resources).toEqual([]);
    expect(r.warnings.map((w) => `${w.document} ${w.resource} ${w.path}`)).toEqual(['0 VirtualService/mesh spec.gateways', '1 Gateway/egress spec.selector']);
  });

  it('warns about every unsupported field with its path', () => {
    const r = run(`apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: { name: w }
spec:
  hosts: [a.example.com]
  gateways: [gw]
  tcp: []
  http:
  - match: [{ uri: { prefix: / }, sourceLabels: { app: x } }]
    fault: { abort: { grpcStatus: UNAVAILABLE, httpStatus: 503 } }
    retries: { attempts: 3, retryOn: "5xx,retriable-4xx" }
    route: [{ destination: { host: a, port: { number: 80 } } }]
`);
    expect(r.warnings.map((w) => w.path)).toEqual([
      'spec.tcp',
      'spec.gateways',
      'spec.http[0].match[0].sourceLabels',
      'spec.http[0].retries.retryOn',
      'spec.http[0].retries.retryOn',
      'spec.http[0].fault.abort.grpcStatus',
    ]);
  });

  it('matches the Gateway selector against the configured gateway labels', () => {
    const yaml = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  selector: { app: tollgate }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: [a.example.com] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: a }
spec:
  hosts: [a.example.com, b.example.com]
  gateways: [edge]
  http: [{ route: [{ destination: { host: a, port: { number: 80 } } }] }]
`;
    expect(run(yaml).resources).toEqual([]);
    const served = run(yaml, { gatewayLabels: { app: 'tollgate', other: 'x' } });
    expect(served.warnings).toEqual([]);
    // Only the hosts the Gateway admits are served.
    expect((served.resources[0] as ApiResource).spec.hosts).toEqual(['a.example.com']);
  });

  it('refuses security kinds that protect no route of the set (applied alone they would protect nothing)', () => {
    const r = run(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny }
spec: { action: DENY }
`);
    expect(r.issues).toEqual([expect.objectContaining({ code: 'nothing_to_protect', document: 0, path: 'kind' })]);
  });
});
