import { describe, expect, it } from 'vitest';
import { parseYamlDocuments, validateDocuments, type ApiResource, type CertificateResource } from '@tollgate/model';
import { importDocuments } from './import.js';

const BACKENDS = `apiVersion: v1
kind: Service
metadata: { name: web }
spec: { ports: [{ name: http, port: 8080 }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: web }
subsets: [{ addresses: [{ ip: 10.0.0.1 }], ports: [{ name: http, port: 8080 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: web-v2 }
spec: { ports: [{ name: http, port: 8080 }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: web-v2 }
subsets: [{ addresses: [{ ip: 10.0.0.2 }], ports: [{ name: http, port: 8080 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  gatewayClassName: istio
  listeners:
  - { name: http, port: 80, protocol: HTTP, hostname: "*.example.com", allowedRoutes: { namespaces: { from: All } } }
`;

function run(yaml: string) {
  const { documents, issues } = parseYamlDocuments(`${BACKENDS}---\n${yaml}`);
  expect(issues).toEqual([]);
  const imported = importDocuments(documents);
  const validated = imported.issues.length === 0 ? validateDocuments(imported.documents) : undefined;
  if (validated && !validated.ok) throw new Error(JSON.stringify(validated.issues));
  const api = imported.resources.find((r) => r.kind === 'Api') as ApiResource | undefined;
  return { ...imported, api };
}

const route = (rules: string, extra = '') => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ name: edge }]
  hostnames: [shop.example.com, other.test]
${extra}  rules:
${rules}`;

describe('Gateway API Gateway + HTTPRoute', () => {
  it('serves routes on the hostnames both the route and the listener admit', () => {
    const r = run(route('  - backendRefs: [{ name: web, port: 8080 }]\n'));
    expect(r.issues).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.api?.metadata).toMatchObject({ name: 'hr-web', labels: { 'tollgate.dev/source': 'HTTPRoute/web' } });
    expect(r.api?.spec.hosts).toEqual(['shop.example.com']);
    expect(r.api?.spec.routes).toEqual([expect.objectContaining({ name: 'rule-0', match: [expect.objectContaining({ path: { prefix: '/' } })], destination: { upstream: 'svc-web-8080' } })]);
  });

  it('orders (rule, match) pairs by Gateway API precedence: Exact, regex, longest prefix, method, headers, query, then list order', () => {
    const r = run(route(`  - matches: [{ path: { type: PathPrefix, value: / } }]
    backendRefs: [{ name: web, port: 8080 }]
  - matches:
    - path: { type: PathPrefix, value: /api }
    - path: { type: PathPrefix, value: /api }
      headers: [{ name: X-Canary, value: "true" }]
    - path: { type: PathPrefix, value: /api }
      method: POST
    - path: { type: Exact, value: /api/health }
    - path: { type: RegularExpression, value: "/api/v[0-9]+/.*" }
    - path: { type: PathPrefix, value: /api/v1 }
      queryParams: [{ name: debug, type: RegularExpression, value: "1|true" }]
    backendRefs: [{ name: web-v2, port: 8080 }]
`));
    expect(r.api?.spec.routes.map((x) => x.name)).toEqual(['rule-1-3', 'rule-1-4', 'rule-1-5', 'rule-1-2', 'rule-1-1', 'rule-1-0', 'rule-0']);
    const [health, , v1, post, canary] = r.api?.spec.routes ?? [];
    expect(health?.match[0]?.path).toEqual({ exact: '/api/health' });
    expect(v1?.match[0]?.queryParams).toEqual({ debug: { regex: '1|true' } });
    expect(post?.match[0]?.methods).toEqual(['POST']);
    expect(canary?.match[0]?.headers).toEqual({ 'x-canary': { exact: 'true' } });
  });

  it('weighted backendRefs (default weight 1), header modifiers, URL rewrites, mirror and timeouts', () => {
    const r = run(route(`  - matches: [{ path: { type: PathPrefix, value: /shop/ } }]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: { set: [{ name: X-Env, value: prod }], add: [{ name: X-Via, value: tollgate }], remove: [X-Debug] }
    - type: ResponseHeaderModifier
      responseHeaderModifier: { remove: [Server] }
    - type: URLRewrite
      urlRewrite: { hostname: web.internal, path: { type: ReplacePrefixMatch, replacePrefixMatch: /store } }
    - type: RequestMirror
      requestMirror: { backendRef: { name: web-v2, port: 8080 }, percent: 10 }
    timeouts: { request: 2s }
    backendRefs:
    - { name: web, port: 8080, weight: 90 }
    - { name: web-v2, port: 8080 }
  - matches: [{ path: { type: Exact, value: /old } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /new } } }]
    backendRefs: [{ name: web, port: 8080 }]
`));
    expect(r.warnings).toEqual([]);
    const [old, shop] = r.api?.spec.routes ?? [];
    expect(shop).toMatchObject({
      destinations: [{ upstream: 'svc-web-8080', weight: 90 }, { upstream: 'svc-web-v2-8080', weight: 1 }],
      headers: { request: { set: { 'x-env': 'prod' }, add: { 'x-via': 'tollgate' }, remove: ['x-debug'] }, response: { remove: ['server'] } },
      rewrite: { host: 'web.internal', regex: { pattern: '^/shop', substitution: '/store' } },
      mirror: { upstream: 'svc-web-v2-8080', percentage: 10 },
      timeoutMs: 2000,
    });
    expect(old).toMatchObject({ rewrite: { regex: { pattern: '^.*$', substitution: '/new' } } });
  });

  it('redirects (default 302), a rule without a usable backend answers 500, unknown filters warn', () => {
    const r = run(route(`  - matches: [{ path: { type: PathPrefix, value: /http } }]
    filters: [{ type: RequestRedirect, requestRedirect: { scheme: https, statusCode: 301 } }]
  - matches: [{ path: { type: PathPrefix, value: /moved } }]
    filters: [{ type: RequestRedirect, requestRedirect: { hostname: new.example.com, path: { type: ReplaceFullPath, replaceFullPath: /here } } }]
  - matches: [{ path: { type: PathPrefix, value: /off } }]
    backendRefs: [{ name: web, port: 8080, weight: 0 }]
  - matches: [{ path: { type: PathPrefix, value: /ext } }]
    filters: [{ type: ExtensionRef, extensionRef: { group: example.com, kind: Thing, name: x } }]
    backendRefs: [{ name: web, port: 8080 }]
`));
    const byName = Object.fromEntries((r.api?.spec.routes ?? []).map((x) => [x.name, x]));
    expect(byName['rule-0']?.redirect).toEqual({ code: 301, scheme: 'https' });
    expect(byName['rule-1']?.redirect).toEqual({ code: 302, host: 'new.example.com', path: '/here' });
    expect(byName['rule-2']?.directResponse).toMatchObject({ status: 500 });
    expect(r.warnings).toEqual([expect.objectContaining({ path: 'spec.rules[3].filters[0]' })]);
  });

  it('HTTPS listeners take their certificate from a kubernetes.io/tls Secret; unserved classes and missing ports are reported', () => {
    const { documents } = parseYamlDocuments(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: other }
spec:
  gatewayClassName: nginx
  listeners: [{ name: http, port: 80, protocol: HTTP }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: elsewhere }
spec:
  parentRefs: [{ name: other }]
  rules: [{ backendRefs: [{ name: web, port: 8080 }] }]
`);
    const skipped = importDocuments(documents);
    expect(skipped.resources).toEqual([]);
    expect(skipped.warnings.map((w) => `${w.resource} ${w.path}`)).toEqual(['Gateway/other spec.gatewayClassName', 'HTTPRoute/elsewhere spec.parentRefs']);
    const noPort = run(route('  - backendRefs: [{ name: nowhere }]\n'));
    expect(noPort.issues).toEqual([expect.objectContaining({ code: 'unresolved_destination', path: 'spec.rules[0].backendRefs[0].port' })]);
    const missingSecret = run(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: tls }
spec:
  gatewayClassName: tollgate
  listeners: [{ name: https, port: 443, protocol: HTTPS, hostname: secure.example.com, tls: { certificateRefs: [{ name: cert }] } }]
`);
    expect(missingSecret.issues).toEqual([expect.objectContaining({ code: 'unknown_secret', path: 'spec.listeners[0].tls.certificateRefs[0].name' })]);
    expect(missingSecret.resources.filter((x): x is CertificateResource => x.kind === 'Certificate')).toEqual([]);
  });
});
