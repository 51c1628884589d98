import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect, type PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenTls } from '@tollgate/gateway';
import { apiYaml, eventually, startTestGateway, startUpstream, TestConfigSource, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';
import { TestCa, yamlBlock, type TestCert } from './certs.js';

let ca: TestCa;
let certA: TestCert;
let certB: TestCert;
let certA2: TestCert;
let certM: TestCert;
let up: RecordingUpstream;
let g: RunningGateway;
let tlsPort: number;
let source: TestConfigSource;
// An HTTPS upstream that requires a client certificate from the gateway.
let secure: HttpsServer;
let secureOrigin: string;
let upstreamCa: TestCa;
let gatewayClient: TestCert;

function certificate(name: string, c: TestCert, hosts: string[], extra = ''): string {
  return `---
apiVersion: tollgate.dev/v1
kind: Certificate
metadata: { name: ${name} }
spec:
  hosts: [${hosts.join(', ')}]
  certificate: ${yamlBlock(c.cert, 4)}
  privateKey: ${yamlBlock(c.key, 4)}
${extra}`;
}

function config(a: TestCert, clientCert = gatewayClient): string {
  return (
    certificate('site-a', a, ['a.test']) +
    certificate('site-b', certB, ['"*.b.test"']) +
    certificate('site-m', certM, ['m.test'], `  clientAuth:\n    ca: ${yamlBlock(upstreamCa.ca.cert, 6)}\n    mode: required\n`) +
    `---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: plain }
spec:
  targets: [{ url: "${up.origin}" }]
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: nocert }
spec:
  targets: [{ url: "${secureOrigin}" }]
  tls:
    serverName: upstream.internal
    ca: ${yamlBlock(upstreamCa.ca.cert, 6)}
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: wrongname }
spec:
  targets: [{ url: "${secureOrigin}" }]
  tls:
    ca: ${yamlBlock(upstreamCa.ca.cert, 6)}
    clientCertificate: ${yamlBlock(clientCert.cert, 6)}
    clientKey: ${yamlBlock(clientCert.key, 6)}
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: secure }
spec:
  targets: [{ url: "${secureOrigin}" }]
  tls:
    serverName: upstream.internal
    ca: ${yamlBlock(upstreamCa.ca.cert, 6)}
    clientCertificate: ${yamlBlock(clientCert.cert, 6)}
    clientKey: ${yamlBlock(clientCert.key, 6)}
` +
    apiYaml(
      'site',
      `routes:
  - { name: secure, match: [{ path: { prefix: /secure } }], destination: { upstream: secure } }
  - { name: nocert, match: [{ path: { prefix: /nocert } }], destination: { upstream: nocert } }
  - { name: wrongname, match: [{ path: { prefix: /wrongname } }], destination: { upstream: wrongname } }
  - { name: all, destination: { upstream: plain } }`,
    )
  );
}

/** Handshakes with `servername` and returns the served certificate's subject CN and the HTTP answer. */
function get(servername: string | undefined, path = '/hello', client?: TestCert): Promise<{ cn: string; status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: tlsPort, ...(servername ? { servername } : {}), ...(client ? { cert: client.cert, key: client.key } : {}), ca: ca.ca.cert, rejectUnauthorized: servername !== undefined }, () => {
      const peer: PeerCertificate = s.getPeerCertificate();
      s.write(`GET ${path} HTTP/1.1\r\nHost: ${servername ?? 'x'}\r\nConnection: close\r\n\r\n`);
      let data = '';
      s.on('data', (d: Buffer) => (data += d.toString()));
      s.on('end', () => {
        const status = Number(data.slice(9, 12));
        resolve({ cn: String(peer.subject?.CN), status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
      });
    });
    s.on('error', reject);
  });
}

beforeAll(async () => {
  ca = new TestCa();
  certA = ca.issue('a.test', ['a.test']);
  certA2 = ca.issue('a.test renewed', ['a.test']);
  certB = ca.issue('b wildcard', ['*.b.test']);
  certM = ca.issue('m.test', ['m.test']);
  upstreamCa = new TestCa('Upstream CA');
  const serverCert = upstreamCa.issue('upstream.internal', ['upstream.internal']);
  gatewayClient = upstreamCa.issue('tollgate-gateway', [], 'client');
  secure = createHttpsServer({ cert: serverCert.cert, key: serverCert.key, ca: upstreamCa.ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
    res.end(`secure ${req.url} client=${peer.subject?.CN} proto=${req.headers['x-forwarded-proto']}`);
  });
  await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
  secureOrigin = `https://127.0.0.1:${(secure.address() as AddressInfo).port}`;
  up = await startUpstream('plain', (req, res) => res.end(`plain ${req.url} proto=${req.headers['x-forwarded-proto']}`));
  source = new TestConfigSource(yamlResources(config(certA)));
  g = await startTestGateway(source);
  await listenTls(g.gw, '127.0.0.1', 0);
  tlsPort = (g.gw.tls.address() as AddressInfo).port;
});
afterAll(async () => {
  await g.close();
  await up.close();
  secure.closeAllConnections();
  await new Promise<void>((r) => secure.close(() => r()));
  ca.dispose();
  upstreamCa.dispose();
});

describe('HTTPS listener', () => {
  it('serves the certificate chosen by SNI (exact and wildcard) and proxies over it', async () => {
    const a = await get('a.test');
    expect(a.cn).toBe('a.test');
    expect(a.status).toBe(200);
    expect(a.body).toBe('plain /hello proto=https');
    const b = await get('api.b.test');
    expect(b.cn).toBe('b wildcard');
    expect(b.status).toBe(200);
  });

  it('fails the handshake for an SNI name no certificate serves, and without SNI when no default exists', async () => {
    await expect(get('unknown.test')).rejects.toThrow();
    await expect(get('x.y.b.test')).rejects.toThrow(); // a wildcard covers one label
    await expect(get(undefined)).rejects.toThrow();
  });

  it('applies a replaced certificate to the next handshake without a restart', async () => {
    const v = source.set(yamlResources(config(certA2)));
    await eventually(() => g.gw.currentVersion() === v, 3_000);
    expect((await get('a.test')).cn).toBe('a.test renewed');
    const back = source.set(yamlResources(config(certA)));
    await eventually(() => g.gw.currentVersion() === back, 3_000);
    expect((await get('a.test')).cn).toBe('a.test');
  });
});

describe('client certificates', () => {
  it('a host with clientAuth required serves clients with a verified certificate and closes others', async () => {
    const ok = await get('m.test', '/hello', gatewayClient);
    expect(ok.status).toBe(200);
    const without = await get('m.test', '/hello').catch(() => ({ status: 0, cn: '', body: '' }));
    expect(without.status).toBe(0);
    const wrongCa = ca.issue('stranger', [], 'client');
    const stranger = await get('m.test', '/hello', wrongCa).catch(() => ({ status: 0, cn: '', body: '' }));
    expect(stranger.status).toBe(0);
    // Hosts without clientAuth are unaffected.
    expect((await get('a.test')).status).toBe(200);
  });
});

describe('upstream TLS', () => {
  it('verifies the upstream with the given CA and SNI name and presents the client certificate (mTLS)', async () => {
    const r = await get('a.test', '/secure/x');
    expect(r.status).toBe(200);
    expect(r.body).toBe('secure /secure/x client=tollgate-gateway proto=https');
  });

  it('fails with 502 without the client certificate, and when the upstream certificate does not match the SNI name', async () => {
    const nocert = await get('a.test', '/nocert');
    expect(nocert.status).toBe(502);
    expect(JSON.parse(nocert.body)).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    // No serverName: the target is an IP, which the upstream certificate does not name.
    expect((await get('a.test', '/wrongname')).status).toBe(502);
  });
});
