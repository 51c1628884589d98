import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../gateway/harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { expectClean, startImportStack, type ImportStack } from './harness.js';

/**
 * Modelled on Istio's "Authorization on ingress gateway" and "JWT authentication" tasks: a
 * RequestAuthentication on the ingress gateway plus AuthorizationPolicies, applied together with
 * the Gateway and VirtualService they protect, judged against real tokens and a real upstream.
 */
const ISS_A = 'https://issuer-a.test';
const ISS_B = 'testing@secure.istio.io';
const HOST = 'httpbin.example.com';
const now = () => Math.floor(Date.now() / 1000);

let stack: ImportStack;
let upstream: RecordingUpstream;
let jwksServer: Server;
let jwksUrl: string;
let jwksHits = 0;
let keyA: { privateKey: CryptoKey; publicKey: CryptoKey };
let keyB: { privateKey: CryptoKey; publicKey: CryptoKey };
let inlineJwks: string;

function sign(key: CryptoKey, kid: string, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ exp: now() + 300, iat: now(), ...claims }).setProtectedHeader({ alg: 'RS256', kid }).sign(key);
}
const tokenA = (claims: Record<string, unknown> = {}) => sign(keyA.privateKey, 'a1', { iss: ISS_A, sub: 'alice', aud: 'httpbin', ...claims });
const tokenB = (claims: Record<string, unknown> = {}) => sign(keyB.privateKey, 'b1', { iss: ISS_B, sub: 'bob', ...claims });

function routes(): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: httpbin }
spec:
  hosts: [httpbin]
  ports: [{ number: 8000, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${upstream.port} } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: httpbin-gateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: ["${HOST}"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin }
spec:
  hosts: ["${HOST}"]
  gateways: [istio-system/httpbin-gateway]
  http:
  - route:
    - destination: { host: httpbin, port: { number: 8000 } }
`;
}

function requestAuthentication(): string {
  return `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: istio-system }
spec:
  selector:
    matchLabels: { istio: ingressgateway }
  jwtRules:
  - issuer: "${ISS_A}"
    audiences: [httpbin]
    jwksUri: "${jwksUrl}/jwks.json"
  - issuer: "${ISS_B}"
    jwks: '${inlineJwks}'
    fromHeaders:
    - name: x-jwt-assertion
      prefix: "Token "
    outputPayloadToHeader: x-jwt-payload
`;
}

const REQUIRE_JWT = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: require-jwt, namespace: istio-system }
spec:
  selector:
    matchLabels: { istio: ingressgateway }
  action: ALLOW
  rules:
  - from:
    - source: { requestPrincipals: ["${ISS_A}/*", "${ISS_B}/bob"] }
    to:
    - operation: { paths: ["/status/*", "/headers"], methods: [GET] }
  - to:
    - operation: { paths: ["/reports/*"] }
    when:
    - key: request.auth.claims[groups]
      values: [admins]
`;

const DENY_ADMIN = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: istio-system }
spec:
  action: DENY
  rules:
  - to:
    - operation: { paths: ["/status/admin*"] }
`;

/** The one warning these rules earn: issuer B reads another header than issuer A, and Tollgate reads both for both. */
function expectLocationWarning(res: { status: number; body: Record<string, unknown> }): void {
  expect(res.body).toMatchObject({ dryRun: false });
  expect(res.status).toBe(200);
  expect(res.body.warnings).toEqual([expect.objectContaining({ resource: 'RequestAuthentication/jwt', path: 'spec.jwtRules[1]', message: expect.stringContaining('different places') })]);
}

const get = (path: string, headers: Record<string, string> = {}) => stack.get(path, HOST, headers);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

beforeAll(async () => {
  keyA = await generateKeyPair('RS256', { extractable: true });
  keyB = await generateKeyPair('RS256', { extractable: true });
  const jwkA = { ...(await exportJWK(keyA.publicKey)), kid: 'a1', alg: 'RS256', use: 'sig' };
  inlineJwks = JSON.stringify({ keys: [{ ...(await exportJWK(keyB.publicKey)), kid: 'b1', alg: 'RS256', use: 'sig' }] });
  jwksServer = createServer((_req, res) => {
    jwksHits++;
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: [jwkA] }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  upstream = await startRecordingUpstream('httpbin');
  stack = await startImportStack();
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
  await new Promise<void>((r) => (jwksServer ? (jwksServer.closeAllConnections(), jwksServer.close(() => r())) : r()));
});

describe('RequestAuthentication + AuthorizationPolicy through POST /config', () => {
  it('RequestAuthentication alone: a missing token passes, an invalid one is 401 (istio#24371 for a foreign issuer)', async () => {
    expectLocationWarning(await stack.apply(`${routes()}---\n${requestAuthentication()}`));
    expect((await get('/status/200')).status).toBe(200);
    expect((await get('/status/200', bearer(await tokenA()))).status).toBe(200);
    const foreign = await sign(keyA.privateKey, 'a1', { iss: 'https://unknown.test', sub: 'mallory', aud: 'httpbin' });
    const r = await get('/status/200', bearer(foreign));
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toContain('invalid_token');
    expect((await get('/status/200', bearer('not-a-jwt'))).status).toBe(401);
    expect(jwksHits).toBeGreaterThan(0); // keys of issuer A came from the JWKS endpoint
  });

  it('requestPrincipals: no token → 403, a valid token → 200, wrong issuer / expired / wrong audience / bad signature → 401', async () => {
    expectLocationWarning(await stack.apply(`${routes()}---\n${requestAuthentication()}---\n${REQUIRE_JWT}---\n${DENY_ADMIN}`));
    const missing = await get('/status/200');
    expect(missing.status).toBe(403);
    expect(JSON.parse(missing.body.toString())).toMatchObject({ code: 'AUTHZ_DENIED' });
    const before = upstream.requests.length;
    const ok = await get('/status/200', bearer(await tokenA()));
    expect(ok.status).toBe(200);
    expect(upstream.requests.length).toBe(before + 1);
    // Istio removes the token before forwarding unless forwardOriginalToken is true.
    expect(upstream.requests.at(-1)?.headers.authorization).toBeUndefined();
    expect((await get('/status/200', bearer(await sign(keyA.privateKey, 'a1', { iss: 'https://unknown.test', sub: 'alice', aud: 'httpbin' })))).status).toBe(401);
    const expired = await get('/status/200', bearer(await tokenA({ exp: now() - 3600 })));
    expect(expired.status).toBe(401);
    expect(JSON.parse(expired.body.toString())).toMatchObject({ code: 'TOKEN_EXPIRED' });
    expect((await get('/status/200', bearer(await tokenA({ aud: 'someone-else' })))).status).toBe(401);
    expect((await get('/status/200', bearer(await sign(keyB.privateKey, 'a1', { iss: ISS_A, sub: 'alice', aud: 'httpbin' })))).status).toBe(401);
    // The operation part of the rule: POST is not admitted.
    expect((await send(stack.gateway.port, { method: 'POST', path: '/status/200', headers: { host: HOST, ...bearer(await tokenA()) }, body: '{}' })).status).toBe(403);
  });

  it('DENY on a path wins over an ALLOW that admits the caller', async () => {
    expect((await get('/status/admin/users', bearer(await tokenA()))).status).toBe(403);
    expect((await get('/status/administrator')).status).toBe(403);
    expect((await get('/status/201', bearer(await tokenA()))).status).toBe(200);
  });

  it('`when` on request.auth.claims[groups]', async () => {
    expect((await get('/reports/q3', bearer(await tokenA({ groups: ['admins', 'staff'] })))).status).toBe(200);
    expect((await get('/reports/q3', bearer(await tokenA({ groups: ['staff'] })))).status).toBe(403);
    expect((await get('/reports/q3')).status).toBe(403);
  });

  it('fromHeaders with a prefix, inline jwks, an exact principal, and outputPayloadToHeader arriving upstream', async () => {
    const t = await tokenB({ email: 'bob@example.com' });
    const r = await get('/headers', { 'x-jwt-assertion': `Token ${t}`, 'x-jwt-payload': 'forged' });
    expect(r.status).toBe(200);
    const seen = upstream.requests.at(-1);
    expect(seen?.headers['x-jwt-assertion']).toBeUndefined();
    const payload = JSON.parse(Buffer.from(String(seen?.headers['x-jwt-payload']), 'base64url').toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ iss: ISS_B, sub: 'bob', email: 'bob@example.com' });
    // Another subject of issuer B is not among the requestPrincipals.
    expect((await get('/headers', { 'x-jwt-assertion': `Token ${await tokenB({ sub: 'eve' })}` })).status).toBe(403);
    // Without the prefix the header carries no token: judged as a request without one.
    expect((await get('/headers', { 'x-jwt-assertion': t })).status).toBe(403);
    // A client cannot forge the payload header on a request without a token either.
    expect((await get('/headers', { 'x-jwt-payload': 'forged' })).status).toBe(403);
  });

  it('the token is also read from the access_token query parameter (Istio default) and removed before forwarding', async () => {
    const r = await get(`/status/200?a=1&access_token=${await tokenA()}`);
    expect(r.status).toBe(200);
    expect(upstream.requests.at(-1)?.url).toBe('/status/200?a=1');
  });

  it('malformed security documents are a 422 naming document, path and line; ?strict=true refuses what is ignored', async () => {
    const bad = await stack.apply(`${routes()}---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: bad }
spec:
  jwtRules:
  - issuer: https://a.test
    jwks: "{not json"
`);
    expect(bad.status).toBe(422);
    expect(bad.body.errors).toEqual([expect.objectContaining({ code: 'invalid_jwks', document: 3, resource: 'RequestAuthentication/bad', path: 'spec.jwtRules[0].jwks', line: `${routes()}---\n`.split('\n').length - 1 + 7 })]);
    const custom = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext-authz, namespace: istio-system }
spec:
  action: CUSTOM
  provider: { name: my-ext-authz }
  rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }]
`;
    const strict = await stack.apply(`${routes()}---\n${custom}`, '?strict=true');
    expect(strict.status).toBe(422);
    expect(strict.body.errors).toEqual([expect.objectContaining({ code: 'unsupported_field', document: 3, path: 'spec.action' })]);
  });

  it('an ALLOW policy with an empty spec admits nothing; rules [{}] admits everything', async () => {
    const allowNothing = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: istio-system }
spec: {}
`;
    expectClean(await stack.apply(`${routes()}---\n${allowNothing}`));
    expect((await get('/status/200')).status).toBe(403);
    expectClean(await stack.apply(`${routes()}---\n${allowNothing.replace('spec: {}', 'spec: { rules: [{}] }')}`));
    expect((await get('/status/200')).status).toBe(200);
  });
});
