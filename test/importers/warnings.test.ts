import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAdminHarness, type AdminHarness } from '../admin/harness.js';

const SERVICE_ENTRY = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: orders }
spec:
  hosts: [orders]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
`;

/** A VirtualService with fields Tollgate does not implement (gRPC abort, sourceLabels, tcp). */
const WITH_UNSUPPORTED = `${SERVICE_ENTRY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: orders }
spec:
  hosts: [orders.example.com]
  gateways: [istio-system/public]
  tcp:
  - route: [{ destination: { host: orders } }]
  http:
  - match:
    - uri: { prefix: /orders }
      sourceLabels: { app: web }
    fault:
      abort:
        grpcStatus: UNAVAILABLE
        percentage: { value: 5 }
    route:
    - destination: { host: orders }
`;

describe('warnings, strict mode and malformed foreign documents on POST /config', () => {
  let admin: AdminHarness;
  beforeAll(async () => {
    admin = await startAdminHarness('pglite');
  });
  afterAll(async () => admin?.close());
  beforeEach(async () => admin.reset());

  it('applies what it can and lists every ignored field with document and path', async () => {
    const res = await admin.applyYaml(WITH_UNSUPPORTED);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { warnings: Array<{ document: number; resource: string; path: string }>; changes: unknown[] };
    expect(body.warnings.map((w) => `${w.document} ${w.resource} ${w.path}`)).toEqual([
      '1 VirtualService/orders spec.tcp',
      '1 VirtualService/orders spec.gateways',
      '1 VirtualService/orders spec.http[0].match[0].sourceLabels',
      '1 VirtualService/orders spec.http[0].fault.abort.grpcStatus',
    ]);
    expect(body.changes).toEqual([
      { kind: 'Upstream', name: 'svc-orders-80', action: 'create' },
      { kind: 'Api', name: 'vs-orders', action: 'create' },
    ]);
  });

  it('?strict=true turns the warnings into a 422 and changes nothing', async () => {
    const res = await admin.applyYaml(WITH_UNSUPPORTED, '?strict=true');
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json() as { errors: Array<{ code: string; document: number; path: string }> };
    expect(problem.errors).toContainEqual(expect.objectContaining({ code: 'unsupported_field', document: 1, path: 'spec.http[0].fault.abort.grpcStatus' }));
    expect(await admin.exportYaml()).toBe('');
    // Without unsupported fields strict mode applies normally.
    expect((await admin.applyYaml(SERVICE_ENTRY, '?strict=true')).statusCode).toBe(200);
  });

  it('a malformed foreign document is a problem+json naming document, field and line', async () => {
    const res = await admin.applyYaml(`${SERVICE_ENTRY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: broken }
spec:
  hosts: [orders.example.com]
  gateways: [public]
  http:
  - route:
    - destination: { host: orders }
    timeout: soon
`);
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json() as { detail: string; errors: unknown[] };
    // Line 19 of the stream: the 8-line ServiceEntry, "---", then line 11 of the VirtualService.
    expect(problem.errors).toEqual([{ code: 'invalid_duration', message: expect.stringContaining('soon'), document: 1, resource: 'VirtualService/broken', path: 'spec.http[0].timeout', line: 19 }]);
    expect(problem.detail).toContain('document 1');
    expect(await admin.exportYaml()).toBe('');
  });

  it('a destination nobody declares is refused with its path', async () => {
    const res = await admin.applyYaml(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: nowhere }
spec:
  hosts: [a.example.com]
  gateways: [public]
  http:
  - route:
    - destination: { host: nowhere }
`);
    expect(res.statusCode).toBe(422);
    expect((res.json() as { errors: unknown[] }).errors).toEqual([expect.objectContaining({ code: 'unresolved_destination', document: 0, path: 'spec.http[0].route[0].destination.port' })]);
  });

  it('accepts foreign documents in a JSON body too', async () => {
    const serviceEntry = { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'orders' }, spec: { hosts: ['orders'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', endpoints: [{ address: '127.0.0.1' }] } };
    const res = await admin.app.inject({ method: 'POST', url: '/config', headers: admin.auth(), payload: [serviceEntry, { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'tollgate' }, spec: { controller: 'tollgate.dev/ingress' } }] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ changes: [{ kind: 'Upstream', name: 'svc-orders-80', action: 'create' }], warnings: [{ document: 1, resource: 'IngressClass/tollgate', path: 'kind' }] });
  });

  it('refuses an AuthorizationPolicy applied without the routes it protects', async () => {
    const res = await admin.applyYaml(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: require-jwt }
spec:
  action: ALLOW
  rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }]
`);
    expect(res.statusCode).toBe(422);
    expect((res.json() as { errors: unknown[] }).errors).toEqual([expect.objectContaining({ code: 'nothing_to_protect', document: 0, path: 'kind' })]);
  });
});
