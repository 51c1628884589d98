import { createHash, createHmac, generateKeyPairSync, randomBytes, sign as edSign } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { httpbis } from 'http-message-signatures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

// Two gateway processes on one Postgres and one Redis (the second one admin + gateway): keys
// registered on a consumer through the admin API verify on both, and a signature accepted by one
// node is a replay on the other. Requests are signed by an independent RFC 9421 implementation.
const TOKEN = 'http-signature-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const SECRET = `hmac-${randomBytes(24).toString('base64url')}`;
const OIDC_CLIENT_SECRET = `oidc-client-${randomBytes(16).toString('hex')}`;
const OIDC_SESSION_SECRET = `oidc-session-${randomBytes(24).toString('hex')}`;
const ed = generateKeyPairSync('ed25519');
const edPublicPem = ed.publicKey.export({ format: 'pem', type: 'spki' }).toString();

let db: TestDatabase;
let up: RecordingUpstream;
let nodes: TollgateProcess[] = [];

function config(upstream: string, secret = SECRET): string {
  return `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: svc }
spec: { targets: [{ url: "${upstream}" }] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: signed }
spec:
  basePath: /signed
  policies: [{ name: http-signature }]
  routes: [{ name: all, destination: { upstream: svc } }]
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: portal }
spec:
  basePath: /portal
  policies:
    - name: oidc-login
      config: { issuer: "https://login.example.com", clientId: portal, clientSecret: "${OIDC_CLIENT_SECRET}", redirectUri: "https://portal.example.com/portal/callback", sessionSecret: "${OIDC_SESSION_SECRET}" }
  routes: [{ name: all, destination: { upstream: svc } }]
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec:
  customId: acme-1
  signatureKeys:
    - { keyId: acme-hmac, algorithm: hmac-sha256, secret: "${secret}" }
    - keyId: acme-ed
      algorithm: ed25519
      publicKey: |
${edPublicPem.trim().split('\n').map((l) => `        ${l}`).join('\n')}
`;
}

interface SignOpts {
  alg?: 'hmac-sha256' | 'ed25519';
  keyId?: string;
  created?: Date;
  fields?: string[];
  method?: string;
  body?: string;
  secret?: string;
}

/** Signed request headers for `node` (the authority is the node's host:port). */
async function signed(node: TollgateProcess, path: string, o: SignOpts = {}): Promise<Record<string, string>> {
  const alg = o.alg ?? 'hmac-sha256';
  const url = `${node.proxyUrl}${path}`;
  const headers: Record<string, string> = { host: new URL(url).host };
  if (o.body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-digest'] = `sha-256=:${createHash('sha256').update(o.body).digest('base64')}:`;
  }
  const fields = o.fields ?? (o.body !== undefined ? ['@method', '@authority', '@path', 'content-digest'] : ['@method', '@authority', '@path']);
  const signer = alg === 'ed25519' ? (d: Buffer) => edSign(null, d, ed.privateKey) : (d: Buffer) => createHmac('sha256', o.secret ?? SECRET).update(d).digest();
  const req = await httpbis.signMessage(
    { key: { id: o.keyId ?? (alg === 'ed25519' ? 'acme-ed' : 'acme-hmac'), alg, sign: async (d: Buffer) => signer(d) }, name: 'sig1', fields, params: ['keyid', 'alg', 'created', 'nonce'], paramValues: { created: o.created ?? new Date(), nonce: randomBytes(12).toString('base64url') } },
    { method: o.method ?? 'GET', url, headers },
  );
  return req.headers as Record<string, string>;
}

/** A request with exactly these headers (node:http, so `Host` is sent as given: fetch would replace it). */
function call(node: TollgateProcess, path: string, headers: Record<string, string>, init: { method?: string; body?: string } = {}): Promise<{ status: number; code?: string; text: string; headers: IncomingHttpHeaders }> {
  const port = Number(new URL(node.proxyUrl).port);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: init.method ?? 'GET', path, headers: { ...headers, ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}) }, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { code?: string }).code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, code, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  up = await startRecordingUpstream('svc');
  const env = { DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'debug' };
  nodes = await Promise.all([startTollgateProcess({ role: 'all', env }), startTollgateProcess({ role: 'gateway', env, waitFor: 'none' })]);
  const res = await fetch(`${nodes[0]!.adminUrl}/config`, { method: 'POST', headers: { ...auth, 'content-type': 'application/yaml' }, body: config(up.url) });
  expect(res.status, await res.text()).toBeLessThan(300);
  // Both nodes serve the route once it answers 401 (unsigned) rather than 404 / 503.
  // The second node was started without waiting: until it listens, a refused connection is "not yet".
  for (const n of nodes) await waitUntil(async () => (await call(n, '/signed/x', {})).status === 401, 15_000, 50);
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await up?.close();
  await db?.drop();
});

describe('http-signature through gateway processes (Postgres + Redis)', () => {
  it('hmac-sha256 and ed25519 signatures authenticate on both nodes; the upstream gets the identity, not the signature', async () => {
    for (const n of nodes)
      for (const alg of ['hmac-sha256', 'ed25519'] as const) {
        const before = up.requests.length;
        const r = await call(n, '/signed/orders?x=1', await signed(n, '/signed/orders?x=1', { alg }));
        expect(r.status, r.text).toBe(200);
        const h = up.requests[before]?.headers ?? {};
        expect(h['x-consumer-name']).toBe('acme');
        expect(h['x-consumer-id']).toBe('acme-1');
        expect(h.signature).toBeUndefined();
        expect(h['signature-input']).toBeUndefined();
      }
  });

  it('a signature accepted by one node is SIGNATURE_REPLAYED on the other (shared Redis) and on itself', async () => {
    const [a, b] = nodes as [TollgateProcess, TollgateProcess];
    const h = await signed(a, '/signed/pay');
    expect((await call(a, '/signed/pay', h)).status).toBe(200);
    const again = await call(a, '/signed/pay', h);
    expect(again.status).toBe(401);
    expect(again.code).toBe('SIGNATURE_REPLAYED');
    const hb = await signed(b, '/signed/pay');
    expect((await call(b, '/signed/pay', hb)).status).toBe(200);
    // The same request (Host and all) sent to node a: it verifies there too, and is refused as a replay.
    const onA = await call(a, '/signed/pay', hb);
    expect(onA.status).toBe(401);
    expect(onA.code).toBe('SIGNATURE_REPLAYED');
  });

  it('every failure mode answers its stable code and never reaches the upstream', async () => {
    const n = nodes[0]!;
    const before = up.requests.length;
    const now = Date.now();
    const cases: Array<[string, Promise<Record<string, string>>, string]> = [
      ['wrong secret', signed(n, '/signed/f', { secret: 'not-the-registered-secret-0123456789' }), 'SIGNATURE_INVALID'],
      ['unknown key', signed(n, '/signed/f', { keyId: 'nobody' }), 'SIGNATURE_KEY_UNKNOWN'],
      ['clock ahead', signed(n, '/signed/f', { created: new Date(now + 10 * 60_000) }), 'SIGNATURE_CLOCK_SKEW'],
      ['too old', signed(n, '/signed/f', { created: new Date(now - 10 * 60_000) }), 'SIGNATURE_EXPIRED'],
      ['path not covered', signed(n, '/signed/f', { fields: ['@method', '@authority'] }), 'SIGNATURE_COMPONENT_MISSING'],
    ];
    for (const [what, headers, code] of cases) {
      const r = await call(n, '/signed/f', await headers);
      expect(r.status, what).toBe(401);
      expect(r.code, what).toBe(code);
      expect(r.headers['www-authenticate'], what).toBe('Signature realm="tollgate", error="invalid_signature"');
    }
    const tampered = await call(n, '/signed/other', await signed(n, '/signed/f'));
    expect(tampered.code).toBe('SIGNATURE_INVALID');
    const none = await call(n, '/signed/f', {});
    expect(none.code).toBe('AUTH_REQUIRED');
    expect(none.headers['www-authenticate']).toBe('Signature realm="tollgate"');
    expect(up.requests.length).toBe(before);
  });

  it('a body is checked against the signed Content-Digest (RFC 9530)', async () => {
    const n = nodes[1]!;
    const body = JSON.stringify({ amount: 100 });
    const ok = await call(n, '/signed/pay', await signed(n, '/signed/pay', { method: 'POST', body }), { method: 'POST', body });
    expect(ok.status, ok.text).toBe(200);
    expect(up.requests.at(-1)?.body.toString()).toBe(body);
    const swapped = await call(n, '/signed/pay', await signed(n, '/signed/pay', { method: 'POST', body }), { method: 'POST', body: JSON.stringify({ amount: 999 }) });
    expect(swapped.code).toBe('CONTENT_DIGEST_MISMATCH');
    const uncovered = await call(n, '/signed/pay', await signed(n, '/signed/pay', { method: 'POST', body, fields: ['@method', '@authority', '@path'] }), { method: 'POST', body });
    expect(uncovered.code).toBe('SIGNATURE_COMPONENT_MISSING');
  });

  it('the HMAC secret and the oidc-login secrets are never in a response, an export, the audit log or a log line; an export applies back unchanged', async () => {
    const admin = nodes[0]!.adminUrl;
    const consumer = await (await fetch(`${admin}/consumers/acme`, { headers: auth })).text();
    expect(consumer).toContain('<redacted>');
    expect(consumer).toContain('acme-ed');
    const exported = await (await fetch(`${admin}/config`, { headers: { ...auth, accept: 'application/yaml' } })).text();
    expect(exported).toContain('<redacted>');
    const audit = await (await fetch(`${admin}/audit-log`, { headers: auth })).text();
    expect(audit).toContain('acme-hmac');
    // Re-applying the export (with its markers) keeps the stored secret: signatures still verify.
    const re = await fetch(`${admin}/config`, { method: 'POST', headers: { ...auth, 'content-type': 'application/yaml' }, body: exported });
    const applied = (await re.json()) as { changes: Array<{ kind: string; name: string; action: string }> };
    expect(re.status).toBe(200);
    expect(applied.changes.filter((c) => c.kind === 'Consumer' && c.action !== 'unchanged')).toEqual([]);
    const n = nodes[1]!;
    expect((await call(n, '/signed/after', await signed(n, '/signed/after'))).status).toBe(200);
    const api = await (await fetch(`${admin}/apis/portal`, { headers: auth })).text();
    expect(api).toContain('<redacted>');
    expect(applied.changes.filter((c) => c.kind === 'Api' && c.action !== 'unchanged')).toEqual([]);
    for (const text of [consumer, exported, audit, api, ...nodes.map((x) => x.output())]) for (const secret of [SECRET, OIDC_CLIENT_SECRET, OIDC_SESSION_SECRET]) expect(text).not.toContain(secret);
  });

  it('keys registered with PUT /consumers/{name} verify on the other node; a bad key is a 422 naming the field, a secret is never echoed', async () => {
    const admin = nodes[0]!.adminUrl;
    const put = (doc: unknown) => fetch(`${admin}/consumers/stark`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(doc) });
    const bad = await put({ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: 'stark' }, spec: { signatureKeys: [{ keyId: 'stark-ed', algorithm: 'ed25519', publicKey: 'not-a-key' }] } });
    expect(bad.status).toBe(422);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    const problem = JSON.stringify(await bad.json());
    expect(problem, problem).toContain('"path":"spec.signatureKeys[0].publicKey"');
    const starkSecret = `stark-${randomBytes(24).toString('base64url')}`;
    const ok = await put({ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: 'stark' }, spec: { signatureKeys: [{ keyId: 'stark-hmac', algorithm: 'hmac-sha256', secret: starkSecret }] } });
    const echoed = await ok.text();
    expect(ok.status, echoed).toBe(201);
    expect(echoed).not.toContain(starkSecret);
    expect(echoed).toContain('<redacted>');
    const n = nodes[1]!;
    const deadline = Date.now() + 5000;
    let status = 0;
    while (Date.now() < deadline) {
      const r = await call(n, '/signed/stark', await signed(n, '/signed/stark', { keyId: 'stark-hmac', secret: starkSecret }));
      status = r.status;
      if (status === 200) break;
      expect(r.code).toBe('SIGNATURE_KEY_UNKNOWN');
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(status).toBe(200);
    expect(up.requests.at(-1)?.headers['x-consumer-name']).toBe('stark');
    for (const x of nodes) expect(x.output()).not.toContain(starkSecret);
  });
});
