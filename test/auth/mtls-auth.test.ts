import { createHash, X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenTls } from '@tollgate/gateway';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';
import { TestCa, yamlBlock, type TestCert } from '../edge/certs.js';

// Certificates are generated per run with openssl (test/edge/certs.ts); no key is committed.
let serverCa: TestCa;
let clientCa: TestCa;
let rogueCa: TestCa;
let server: TestCert;
let byFingerprint: TestCert;
let bySubject: TestCert;
let bySan: TestCert;
let unmapped: TestCert;
let rogue: TestCert;
let up: RecordingUpstream;
let g: RunningGateway;
let tlsPort: number;
const API_KEY = 'tg_mtls_combined_key_0123456789abcdef';
const JWT_SECRET = 'jwt-hs256-secret-for-bound-tokens-0123456789';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const fingerprint = (c: TestCert) => new X509Certificate(c.cert).fingerprint256;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request to the gateway's TLS listener, with an optional client certificate. */
function call(path: string, client?: TestCert, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: tlsPort, servername: 'mtls.test', path, headers: { host: 'mtls.test', ...headers }, ca: serverCa.ca.cert, ...(client ? { cert: client.cert, key: client.key } : {}), agent: false },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  serverCa = new TestCa('Server CA');
  clientCa = new TestCa('Client CA');
  rogueCa = new TestCa('Rogue CA');
  server = serverCa.issue('mtls.test', ['mtls.test']);
  byFingerprint = clientCa.issue('acme-client', [], 'client');
  bySubject = clientCa.issue('beta-client', [], 'client');
  bySan = clientCa.issue('gamma-workload', ['URI:spiffe://tollgate.test/ns/prod/sa/gamma'], 'client');
  unmapped = clientCa.issue('stranger', [], 'client');
  // Same subject as a mapped certificate, but from a CA the gateway does not trust.
  rogue = rogueCa.issue('beta-client', [], 'client');
  up = await startUpstream('svc');
  const consumers = `---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { customId: acme-1, certificates: [{ fingerprint: "${fingerprint(byFingerprint)}" }], keys: [{ name: k, hash: "${sha(API_KEY)}" }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: beta }
spec: { groups: [partners], certificates: [{ subject: "CN=beta-client" }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: gamma }
spec: { certificates: [{ san: "URI:spiffe://tollgate.test/ns/prod/sa/gamma" }] }
`;
  const source = new TestConfigSource(
    yamlResources(
      `---
apiVersion: tollgate.dev/v1
kind: Certificate
metadata: { name: mtls }
spec:
  hosts: [mtls.test]
  certificate: ${yamlBlock(server.cert, 4)}
  privateKey: ${yamlBlock(server.key, 4)}
  clientAuth:
    ca: ${yamlBlock(clientCa.ca.cert, 6)}
    mode: optional
` +
        upstreamYaml('svc', [up.origin]) +
        apiYaml('certs', `basePath: /certs\npolicies: [{ name: mtls-auth, config: { fingerprintHeader: x-client-cert-sha256 } }]\nroutes: [{ name: all, destination: { upstream: svc } }]`) +
        apiYaml(
          'bound',
          `basePath: /bound\npolicies: [{ name: jwt-auth, config: { certificateBound: true, issuers: [{ issuer: "https://as.test", algorithms: [HS256], audiences: [api], secrets: ["${JWT_SECRET}"] }] } }]\nroutes: [{ name: all, destination: { upstream: svc } }]`,
        ) +
        apiYaml('both', `basePath: /both\nauth: { mode: all }\npolicies: [{ name: mtls-auth }, { name: key-auth }]\nroutes: [{ name: all, destination: { upstream: svc } }]`) +
        consumers,
    ),
  );
  g = await startTestGateway(source);
  await listenTls(g.gw, '127.0.0.1', 0);
  tlsPort = (g.gw.tls.address() as AddressInfo).port;
});

afterAll(async () => {
  await g?.close();
  await up?.close();
  for (const ca of [serverCa, clientCa, rogueCa]) ca?.dispose();
});

describe('mtls-auth: a verified client certificate identifies the consumer', () => {
  it('maps by SHA-256 fingerprint, by subject and by SAN; the upstream gets the identity, never spoofed headers', async () => {
    for (const [cert, name] of [
      [byFingerprint, 'acme'],
      [bySubject, 'beta'],
      [bySan, 'gamma'],
    ] as const) {
      const before = up.received.length;
      const r = await call('/certs/x', cert, { 'x-consumer-name': 'root', 'x-client-cert-sha256': 'forged' });
      expect(r.status, r.body).toBe(200);
      const h = up.received[before]?.headers ?? {};
      expect(h['x-consumer-name']).toBe(name);
      expect(h['x-client-cert-sha256']).toBe(fingerprint(cert).replace(/:/g, '').toLowerCase());
    }
    expect(up.received.at(-2)?.headers['x-consumer-groups']).toBe('partners');
  });

  it('a verified certificate that maps to no consumer is 401 CERTIFICATE_UNKNOWN', async () => {
    const before = up.started;
    const r = await call('/certs/x', unmapped);
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).code).toBe('CERTIFICATE_UNKNOWN');
    expect(r.headers['www-authenticate']).toBe('ClientCertificate realm="tollgate", error="unknown_certificate"');
    expect(up.started).toBe(before);
  });

  it('no certificate (TLS or plain listener) is 401 AUTH_REQUIRED with a ClientCertificate challenge', async () => {
    const r = await call('/certs/x');
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).code).toBe('AUTH_REQUIRED');
    expect(r.headers['www-authenticate']).toBe('ClientCertificate realm="tollgate"');
    const plain = await send(g.port, { path: '/certs/x', headers: { host: 'mtls.test' } });
    expect(plain.status).toBe(401);
  });

  it('a certificate verified for one SNI name does not identify a request for another Host on that connection', async () => {
    const r = await call('/certs/x', byFingerprint, { host: 'elsewhere.test' });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).code).toBe('AUTH_REQUIRED');
  });

  it('a certificate from an untrusted CA never identifies anyone (the handshake is closed)', async () => {
    await expect(call('/certs/x', rogue)).rejects.toThrow();
  });

  it('auth.mode all: certificate and API key of the same consumer pass; of different consumers are refused', async () => {
    expect((await call('/both/x', byFingerprint, { apikey: API_KEY })).status).toBe(200);
    const mismatch = await call('/both/x', bySubject, { apikey: API_KEY });
    expect(mismatch.status).toBe(401);
    expect(JSON.parse(mismatch.body).code).toBe('CREDENTIALS_MISMATCH');
    expect((await call('/both/x', byFingerprint)).status).toBe(401);
  });

  it('RFC 8705: a certificate-bound token is accepted only with the certificate it names (cnf x5t#S256)', async () => {
    const thumb = (c: TestCert) => Buffer.from(fingerprint(c).replace(/:/g, ''), 'hex').toString('base64url');
    const token = (cnf?: Record<string, string>) =>
      new SignJWT({ ...(cnf ? { cnf } : {}) }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://as.test').setAudience('api').setSubject('acme-1').setExpirationTime('5m').sign(new TextEncoder().encode(JWT_SECRET));
    const bound = await token({ 'x5t#S256': thumb(byFingerprint) });
    const ok = await call('/bound/x', byFingerprint, { authorization: `Bearer ${bound}` });
    expect(ok.status, ok.body).toBe(200);
    expect(up.received.at(-1)?.headers['x-consumer-name']).toBe('acme');
    for (const [what, cert, tok] of [
      ['another verified certificate', bySubject, bound],
      ['no certificate', undefined, bound],
      ['a token with no cnf', byFingerprint, await token()],
    ] as const) {
      const r = await call('/bound/x', cert, { authorization: `Bearer ${tok}` });
      expect(r.status, what).toBe(401);
      expect(JSON.parse(r.body).code, what).toBe('INVALID_CREDENTIAL');
    }
  });
});
