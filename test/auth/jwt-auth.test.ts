import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';

const ISS = 'https://issuer.test';
const AUD = 'api://orders';

/** A JWKS endpoint the test controls: its keys, whether it is up, and how often it was fetched. */
interface JwksServer {
  url: string;
  keys: JWK[];
  up: boolean;
  hits: number;
  close(): Promise<void>;
}

async function listen(handler: (s: JwksServer) => Parameters<typeof createServer>[1]): Promise<JwksServer> {
  const s: JwksServer = { url: '', keys: [], up: true, hits: 0, close: async () => undefined };
  const server: Server = createServer(handler(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return s;
}

const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

let jwks: JwksServer;
let attacker: JwksServer;
let up: RecordingUpstream;
let gw: RunningGateway;
let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
let other: { privateKey: CryptoKey; publicKey: CryptoKey };
let rsaPem: string;

async function sign(claims: Record<string, unknown>, opts: { kid?: string; key?: CryptoKey; header?: Record<string, unknown>; typ?: string } = {}): Promise<string> {
  const jwt = new SignJWT({ iss: ISS, aud: AUD, sub: 'user-1', exp: now() + 300, iat: now(), ...claims }).setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? 'k1', ...(opts.typ ? { typ: opts.typ } : {}), ...opts.header });
  return jwt.sign(opts.key ?? rsa.privateKey);
}

/** Signs with the trusted key without jose's own header checks (for headers jose refuses to produce). */
async function signRaw(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const { KeyObject, sign: nodeSign } = await import('node:crypto');
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${nodeSign('sha256', Buffer.from(input), KeyObject.from(rsa.privateKey)).toString('base64url')}`;
}

function issuer(extra: string): string {
  return `{ issuer: "${ISS}", algorithms: [RS256], audiences: ["${AUD}", "api://other"], jwksUri: "${jwks.url}/jwks", jwksCooldownMs: 200${extra} }`;
}

async function call(token: string | undefined, path = '/orders/1', headers: Record<string, string> = {}) {
  return send(gw.port, { path, headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...headers } });
}

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  other = await generateKeyPair('RS256', { extractable: true });
  rsaPem = await exportSPKI(rsa.publicKey);
  jwks = await listen((s) => (_req, res) => {
    s.hits++;
    if (!s.up) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: s.keys }));
  });
  jwks.keys = [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }];
  attacker = await listen((s) => (_req, res) => {
    s.hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: s.keys }));
  });
  attacker.keys = [{ ...(await exportJWK(other.publicKey)), kid: 'evil', alg: 'RS256' }];
  up = await startUpstream('orders');
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('orders', [up.origin]) +
        apiYaml(
          'orders',
          `basePath: /orders
policies:
  - name: jwt-auth
    config:
      issuers: [${issuer('')}]
      forwardClaims: [{ claim: tier, header: x-tier }]
routes:
  - name: admin
    match: [{ path: { prefix: /admin } }]
    destination: { upstream: orders }
    policies: [{ name: acl, config: { requiredScopes: [orders:admin], allowGroups: [staff] } }]
  - name: all
    destination: { upstream: orders }`,
        ) +
        apiYaml(
          'typed',
          `basePath: /typed
policies: [{ name: jwt-auth, config: { anonymous: true, issuers: [${issuer(', typ: at+jwt')}] } }]
routes: [{ name: all, destination: { upstream: orders } }]`,
        ) +
        apiYaml(
          'pem',
          `basePath: /pem
policies: [{ name: jwt-auth, config: { token: { header: x-token, scheme: "", cookie: session, query: access_token }, issuers: [{ issuer: "${ISS}", algorithms: [RS256], audiences: ["${AUD}"], publicKeys: [{ pem: ${JSON.stringify(rsaPem)} }] }] } }]
routes: [{ name: all, destination: { upstream: orders } }]`,
        ) +
        `---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: alice }
spec: { customId: cust-42, groups: [staff, beta], jwtSubjects: [{ issuer: "${ISS}", subject: user-1 }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: bob }
spec: { customId: bob-id }
`,
    ),
  );
  gw = await startTestGateway(source, { logQuery: true });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([jwks?.close(), attacker?.close(), up?.close()]);
});

describe('jwt-auth: valid tokens', () => {
  it('passes, maps sub to the declared subject, sends identity headers, strips the token and spoofed identity', async () => {
    const token = await sign({ tier: 'pro' });
    const before = up.received.length;
    const r = await call(token, '/orders/1', { 'x-consumer-id': 'spoof', 'x-consumer-name': 'root', 'x-tier': 'free' });
    expect(r.status).toBe(200);
    const got = up.received[before]?.headers ?? {};
    expect(got['x-consumer-name']).toBe('alice');
    expect(got['x-consumer-id']).toBe('cust-42');
    expect(got['x-consumer-groups']).toBe('staff,beta');
    expect(got['x-tier']).toBe('pro');
    expect(got.authorization).toBeUndefined();
  });

  it('maps sub to a consumer customId', async () => {
    const before = up.received.length;
    expect((await call(await sign({ sub: 'bob-id' }))).status).toBe(200);
    expect(up.received[before]?.headers['x-consumer-name']).toBe('bob');
  });

  it('an unmapped subject is 401 unless the policy admits anonymous callers', async () => {
    expect((await call(await sign({ sub: 'nobody' }))).status).toBe(401);
    const before = up.received.length;
    expect((await call(await sign({ sub: 'nobody' }, { typ: 'at+jwt' }), '/typed/x', { 'x-consumer-name': 'spoof' })).status).toBe(200);
    expect(up.received[before]?.headers['x-consumer-name']).toBeUndefined();
  });

  it('typ is enforced when configured (RFC 9068)', async () => {
    const r = await call(await sign({}), '/typed/x');
    expect(r.status).toBe(401);
  });

  it('reads the token from another header, a cookie, or the query; removes it from each', async () => {
    const token = await sign({});
    let before = up.received.length;
    const viaHeader = await send(gw.port, { path: '/pem/a', headers: { 'x-token': token } });
    expect(viaHeader.status, viaHeader.body).toBe(200);
    expect(up.received[before]?.headers['x-token']).toBeUndefined();
    before = up.received.length;
    expect((await send(gw.port, { path: '/pem/b', headers: { cookie: `theme=dark; session=${token}` } })).status).toBe(200);
    expect(up.received[before]?.headers.cookie).toBe('theme=dark');
    before = up.received.length;
    expect((await send(gw.port, { path: `/pem/c?x=1&access_token=${token}` })).status).toBe(200);
    expect(up.received[before]?.url).toBe('/pem/c?x=1');
    const log = JSON.stringify(gw.logs);
    expect(log).not.toContain(token.split('.')[2]);
  });

  it('route acl: scope and group requirements answer 403', async () => {
    expect((await call(await sign({ scope: 'orders:read' }), '/orders/admin/x')).status).toBe(403);
    const r = await call(await sign({ scope: 'orders:read orders:admin' }), '/orders/admin/x');
    expect(r.status).toBe(200);
    const bob = await call(await sign({ sub: 'bob-id', scope: 'orders:admin' }), '/orders/admin/x');
    expect(bob.status).toBe(403);
    expect(bob.json()).toMatchObject({ code: 'ACL_DENIED' });
  });
});

describe('jwt-auth: hostile tokens are 401 and never reach the upstream', () => {
  const cases: Array<[string, () => Promise<string>]> = [
    ...['none', 'None', 'NONE', 'nOnE'].map((alg): [string, () => Promise<string>] => [`alg ${alg}`, async () => `${b64({ alg, kid: 'k1' })}.${b64({ iss: ISS, aud: AUD, sub: 'user-1', exp: now() + 300 })}.`]),
    [
      'HS256 signed with the RSA public key',
      async () => {
        const { createHmac } = await import('node:crypto');
        const input = `${b64({ alg: 'HS256', kid: 'k1' })}.${b64({ iss: ISS, aud: AUD, sub: 'user-1', exp: now() + 300 })}`;
        return `${input}.${createHmac('sha256', rsaPem).update(input).digest('base64url')}`;
      },
    ],
    ['a key not in the JWKS', () => sign({}, { key: other.privateKey, kid: 'k1' })],
    ['an unknown kid', () => sign({}, { key: other.privateKey, kid: 'k-unknown' })],
    ['expired', () => sign({ exp: now() - 3600 })],
    ['not yet valid', () => sign({ nbf: now() + 3600 })],
    ['wrong audience', () => sign({ aud: 'api://billing' })],
    ['wrong issuer', () => sign({ iss: 'https://evil.test' })],
    ['issuer with a trailing slash', () => sign({ iss: `${ISS}/` })],
    ['missing exp', () => sign({ exp: undefined })],
    ['unknown crit', async () => signRaw({ alg: 'RS256', kid: 'k1', crit: ['x-unknown'], 'x-unknown': 1 }, { iss: ISS, aud: AUD, sub: 'user-1', exp: now() + 300 })],
    ['jku pointing at another server', () => sign({}, { key: other.privateKey, kid: 'evil', header: { jku: `${attacker.url}/jwks` } })],
    ['x5u pointing at another server', () => sign({}, { key: other.privateKey, kid: 'evil', header: { x5u: `${attacker.url}/cert` } })],
    ['embedded jwk', async () => sign({}, { key: other.privateKey, kid: 'evil', header: { jwk: { ...(await exportJWK(other.publicKey)) } } })],
    ['kid path traversal', () => sign({}, { key: other.privateKey, kid: '../../../../etc/passwd' })],
    ['kid SQL', () => sign({}, { key: other.privateKey, kid: "' OR 1=1 --" })],
    ['kid of 10 KB', () => sign({}, { key: other.privateKey, kid: 'k'.repeat(10_240) })],
    ['bad base64', async () => '%%%.@@@.###'],
    ['two segments', async () => `${b64({ alg: 'RS256' })}.${b64({ iss: ISS })}`],
    ['JSON garbage', async () => `${b64('{not json')}.${b64('[1,2')}.${b64('sig')}`],
    ['a payload that is not an object', async () => `${b64({ alg: 'RS256', kid: 'k1' })}.${b64('"str"')}.AAAA`],
  ];
  for (const [name, make] of cases) {
    it(name, async () => {
      const token = await make();
      const before = up.started;
      const r = await call(token);
      expect(r.status, r.body).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Bearer realm="tollgate", error="invalid_token"/);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(['INVALID_CREDENTIAL', 'TOKEN_EXPIRED']).toContain(r.json().code);
      expect(r.body).not.toContain(token.slice(0, 40));
      expect(up.started).toBe(before);
    });
  }

  it('nothing was ever fetched from the server named in jku/x5u', () => {
    expect(attacker.hits).toBe(0);
  });

  it('a 64 KB token is refused without a 5xx, in a header and in a cookie', async () => {
    const big = `${b64({ alg: 'RS256', kid: 'k1' })}.${'A'.repeat(64 * 1024)}.x`;
    const before = up.started;
    const a = await call(big);
    expect(a.status).toBeGreaterThanOrEqual(400);
    expect(a.status).toBeLessThan(500);
    const b = await send(gw.port, { path: '/pem/x', headers: { cookie: `session=${big}` } });
    expect(b.status).toBeGreaterThanOrEqual(400);
    expect(b.status).toBeLessThan(500);
    const small = `${b64({ alg: 'RS256', kid: 'k1' })}.${'A'.repeat(9000)}.x`;
    expect((await call(small)).json()).toMatchObject({ code: 'INVALID_CREDENTIAL', detail: 'the token is too long' });
    expect(up.started).toBe(before);
  });

  it('no token: 401 AUTH_REQUIRED with a Bearer challenge without error (RFC 6750 §3.1)', async () => {
    const r = await call(undefined);
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="tollgate"');
    expect(r.json()).toMatchObject({ code: 'AUTH_REQUIRED' });
  });
});

describe('jwt-auth: key rotation and JWKS outages', () => {
  it('a new kid in the JWKS is picked up', async () => {
    const next = await generateKeyPair('RS256', { extractable: true });
    jwks.keys = [...jwks.keys, { ...(await exportJWK(next.publicKey)), kid: 'k2', alg: 'RS256' }];
    await new Promise((r) => setTimeout(r, 250)); // past the unknown-kid cooldown of an earlier test
    expect((await call(await sign({}, { key: next.privateKey, kid: 'k2' }))).status).toBe(200);
    expect((await call(await sign({}))).status).toBe(200);
  });

  it('known keys keep working for the stale window while the JWKS is down, then 503 JWKS_UNAVAILABLE', async () => {
    const k = await generateKeyPair('ES256', { extractable: true });
    const ks = await listen((s) => (_req, res) => {
      s.hits++;
      if (!s.up) return void res.writeHead(500).end();
      res.writeHead(200).end(JSON.stringify({ keys: s.keys }));
    });
    ks.keys = [{ ...(await exportJWK(k.publicKey)), kid: 'e1', alg: 'ES256' }];
    const up2 = await startUpstream('short');
    const source = new TestConfigSource(
      yamlResources(
        upstreamYaml('short', [up2.origin]) +
          apiYaml(
            'short',
            `policies: [{ name: jwt-auth, config: { anonymous: true, issuers: [{ issuer: "${ISS}", algorithms: [ES256], audiences: ["${AUD}"], jwksUri: "${ks.url}", jwksMaxAgeMs: 1000, jwksStaleMs: 1500, jwksCooldownMs: 100, jwksTimeoutMs: 500 }] } }]
routes: [{ name: all, destination: { upstream: short } }]`,
          ),
      ),
    );
    const g = await startTestGateway(source);
    try {
      const token = await new SignJWT({ iss: ISS, aud: AUD, sub: 's', exp: now() + 300 }).setProtectedHeader({ alg: 'ES256', kid: 'e1' }).sign(k.privateKey);
      expect((await send(g.port, { path: '/', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      ks.up = false;
      await new Promise((r) => setTimeout(r, 1200)); // past max age: refreshes fail, the cached set serves
      expect((await send(g.port, { path: '/', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1500)); // past max age + stale window
      const r = await send(g.port, { path: '/', headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(503);
      expect(r.json()).toMatchObject({ code: 'JWKS_UNAVAILABLE' });
      expect(r.headers['retry-after']).toBe('5');
      expect(r.body).not.toContain(token.slice(0, 40));
      ks.up = true;
      await new Promise((r) => setTimeout(r, 150));
      expect((await send(g.port, { path: '/', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect(g.logs.some((l) => l.msg === 'JWKS fetch failed')).toBe(true);
    } finally {
      await g.close();
      await Promise.all([ks.close(), up2.close()]);
    }
  });

  it('a fresh cached JWKS is not fetched per request', async () => {
    const hits = jwks.hits;
    for (let i = 0; i < 5; i++) expect((await call(await sign({}))).status).toBe(200);
    expect(jwks.hits).toBe(hits);
  });
});
