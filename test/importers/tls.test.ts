import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenTls } from '@tollgate/gateway';
import { TestCa, type TestCert } from '../edge/certs.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { expectClean, startImportStack, type ImportStack } from './harness.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A `kubernetes.io/tls` Secret as kubectl writes it (base64 data). */
function secret(name: string, c: TestCert, ca?: string): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name} }
type: kubernetes.io/tls
data:
  tls.crt: ${b64(c.cert)}
  tls.key: ${b64(c.key)}
${ca ? `  ca.crt: ${b64(ca)}\n` : ''}---
`;
}

function get(port: number, host: string, path: string, ca: string, client?: TestCert): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername: host, headers: { host }, ca, agent: false, ...(client ? { cert: client.cert, key: client.key } : {}) }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS from Kubernetes Secrets: Istio Gateway SIMPLE / MUTUAL and Ingress tls', () => {
  let stack: ImportStack;
  let up: RecordingUpstream;
  let ca: TestCa;
  let tlsPort: number;

  beforeAll(async () => {
    stack = await startImportStack();
    await listenTls(stack.gateway.gw, '127.0.0.1', 0);
    tlsPort = (stack.gateway.gw.tls.address() as AddressInfo).port;
    up = await startRecordingUpstream('app');
    ca = new TestCa();
  });
  afterAll(async () => {
    await stack?.close();
    await up?.close();
    ca?.dispose();
  });

  it('serves a SIMPLE server with the credentialName Secret, and MUTUAL requires a client certificate', async () => {
    const simple = ca.issue('simple.test', ['simple.test']);
    const mutual = ca.issue('mutual.test', ['mutual.test']);
    const client = ca.issue('client', [], 'client');
    const res = await stack.apply(`${secret('simple-cred', simple)}${secret('mutual-cred', mutual, ca.ca.cert)}apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: app }
spec:
  hosts: [app]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${up.port} } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: secure }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 443, name: https-simple, protocol: HTTPS }
    hosts: [simple.test]
    tls: { mode: SIMPLE, credentialName: simple-cred }
  - port: { number: 443, name: https-mutual, protocol: HTTPS }
    hosts: [mutual.test]
    tls: { mode: MUTUAL, credentialName: mutual-cred }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: app }
spec:
  hosts: ["*"]
  gateways: [secure]
  http:
  - route: [{ destination: { host: app } }]
`);
    expectClean(res);
    expect(res.body.changes).toEqual(expect.arrayContaining([
      { kind: 'Certificate', name: 'gw-secure-0', action: 'create' },
      { kind: 'Certificate', name: 'gw-secure-1', action: 'create' },
    ]));
    expect((await get(tlsPort, 'simple.test', '/hello', ca.ca.cert)).status).toBe(200);
    expect(up.requests.at(-1)?.url).toBe('/hello');
    expect((await get(tlsPort, 'mutual.test', '/m', ca.ca.cert, client)).status).toBe(200);
    await expect(get(tlsPort, 'mutual.test', '/m', ca.ca.cert)).rejects.toThrow();
  });

  it('an Ingress tls secretName becomes a Certificate; a missing Secret is refused with its path', async () => {
    const site = ca.issue('ing.test', ['ing.test']);
    const ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: site }
spec:
  ingressClassName: tollgate
  tls: [{ hosts: [ing.test], secretName: site-tls }]
  rules:
  - host: ing.test
    http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
`;
    const missing = await stack.apply(ingress);
    expect(missing.status).toBe(422);
    expect(missing.body.errors).toEqual([expect.objectContaining({ code: 'unknown_secret', document: 0, path: 'spec.tls[0].secretName' })]);
    const res = await stack.apply(`${secret('site-tls', site)}${ingress}`);
    expect(res.status).toBe(200);
    expect(res.body.changes).toEqual(expect.arrayContaining([{ kind: 'Certificate', name: 'ing-site-tls-0', action: 'create' }]));
    expect((await get(tlsPort, 'ing.test', '/x', ca.ca.cert)).status).toBe(200);
  });
});
