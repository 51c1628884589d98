import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';

// Black box: `auth: { mode: all }` through the gateway, with real key-auth keys and a real RS256
// JWT whose key the gateway fetches from a local JWKS server.

const ISS = 'https://issuer.test';
const AUD = 'api://orders';
const ACME_KEY = 'tg_all_mode_acme_key_0123456789abcdef';
const GLOBEX_KEY = 'tg_all_mode_globex_key_0123456789abcd';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const now = () => Math.floor(Date.now() / 1000);

let jwks: Server;
let up: RecordingUpstream;
let gw: RunningGateway;
let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };

const sign = (sub: string) => new SignJWT({ iss: ISS, aud: AUD, sub, exp: now() + 300, iat: now() }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(rsa.privateKey);

function call(path: string, creds: { key?: string; token?: string }) {
  return send(gw.port, { path, headers: { ...(creds.key !== undefined ? { apikey: creds.key } : {}), ...(creds.token !== undefined ? { authorization: `Bearer ${creds.token}` } : {}) } });
}

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  const keys = [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }];
  jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys })));
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const jwksUri = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
  up = await startUpstream('orders');
  const policies = `policies:
  - name: key-auth
  - name: jwt-auth
    config: { issuers: [{ issuer: "${ISS}", algorithms: [RS256], audiences: ["${AUD}"], jwksUri: "${jwksUri}" }] }`;
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('orders', [up.origin]) +
        apiYaml(
          'strict',
          `basePath: /strict
auth: { mode: all }
${policies}
routes:
  - { name: all, destination: { upstream: orders } }`,
        ) +
        apiYaml(
          'either',
          `basePath: /either
${policies}
routes:
  - { name: all, destination: { upstream: orders } }`,
        ) +
        `---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { customId: acme-1, keys: [{ name: k, hash: "${sha(ACME_KEY)}" }], jwtSubjects: [{ issuer: "${ISS}", subject: alice }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: globex }
spec: { keys: [{ name: k, hash: "${sha(GLOBEX_KEY)}" }], jwtSubjects: [{ issuer: "${ISS}", subject: bob }] }
`,
    ),
  );
  gw = await startTestGateway(source);
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
  await new Promise<void>((r) => (jwks ? (jwks.closeAllConnections(), jwks.close(() => r())) : r()));
});

describe('auth mode all', () => {
  it('an API key and a JWT of the same consumer: 200, consumer set, both credentials stripped', async () => {
    const before = up.received.length;
    const r = await call('/strict/x', { key: ACME_KEY, token: await sign('alice') });
    expect(r.status).toBe(200);
    const got = up.received[before]?.headers ?? {};
    expect(got['x-consumer-name']).toBe('acme');
    expect(got['x-consumer-id']).toBe('acme-1');
    expect(got.apikey).toBeUndefined();
    expect(got.authorization).toBeUndefined();
  });

  it('only one of the two credentials: 401 AUTH_REQUIRED challenging the missing scheme, nothing forwarded', async () => {
    const before = up.received.length;
    const onlyKey = await call('/strict/x', { key: ACME_KEY });
    expect(onlyKey.status).toBe(401);
    expect(onlyKey.headers['content-type']).toContain('application/problem+json');
    expect(onlyKey.json().code).toBe('AUTH_REQUIRED');
    expect(onlyKey.headers['www-authenticate']).toContain('Bearer');
    const onlyToken = await call('/strict/x', { token: await sign('alice') });
    expect(onlyToken.status).toBe(401);
    expect(onlyToken.headers['www-authenticate']).toContain('ApiKey');
    expect(up.received.length).toBe(before);
  });

  it('an invalid second credential: 401 from that policy', async () => {
    const r = await call('/strict/x', { key: 'tg_nobody_holds_this_key_000000000', token: await sign('alice') });
    expect(r.status).toBe(401);
    expect(r.json().code).toBe('INVALID_CREDENTIAL');
  });

  it('valid credentials of two different consumers never combine: 401 CREDENTIALS_MISMATCH', async () => {
    const before = up.received.length;
    const r = await call('/strict/x', { key: GLOBEX_KEY, token: await sign('alice') });
    expect(r.status).toBe(401);
    expect(r.json().code).toBe('CREDENTIALS_MISMATCH');
    expect(r.headers['www-authenticate']).toBeDefined();
    expect(up.received.length).toBe(before);
  });
});

describe('auth mode any (default) is unchanged', () => {
  it('one credential suffices; with two, the first policy decides', async () => {
    expect((await call('/either/x', { key: ACME_KEY })).status).toBe(200);
    expect((await call('/either/x', { token: await sign('alice') })).status).toBe(200);
    const before = up.received.length;
    expect((await call('/either/x', { key: GLOBEX_KEY, token: await sign('alice') })).status).toBe(200);
    expect(up.received[before]?.headers['x-consumer-name']).toBe('globex');
    expect((await call('/either/x', {})).status).toBe(401);
  });
});
