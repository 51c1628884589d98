import { createPrivateKey } from 'node:crypto';
import pg from 'pg';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

// Tollgate as an OAuth 2.0 issuer (client credentials, RFC 6749 §4.4; RFC 9068 tokens), through
// an admin process and two gateway processes on one Postgres: clients created by the admin API,
// tokens issued by one node and accepted by the other, signing keys rotating every 2 s with no
// failed request, revocation seen by both nodes, and no secret in any output.
const TOKEN = 'oauth-admin-token-0123456789abcdefgh';
const ROTATION_SEC = 2;

const config = (upstream: string) => `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: svc }
spec: { targets: [{ url: "${upstream}" }] }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { groups: [gold], scopes: [orders:read, orders:write] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: oauth }
spec:
  basePath: /oauth2
  routes:
    - name: token
      match: [{ path: { exact: /token } }]
      directResponse: { status: 404 }
      policies: [{ name: oauth2-token, config: { audience: api://orders, tokenTtlSec: 60 } }]
    - name: billing-token
      match: [{ path: { exact: /billing-token } }]
      directResponse: { status: 404 }
      policies: [{ name: oauth2-token, config: { audience: api://billing } }]
    - name: jwks
      match: [{ path: { exact: /jwks.json } }]
      directResponse: { status: 404 }
      policies: [{ name: oauth2-jwks }]
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: orders }
spec:
  basePath: /orders
  policies:
    - name: jwt-auth
      config: { issuers: [{ issuer: tollgate, audiences: [api://orders] }] }
  routes:
    - name: write
      match: [{ path: { prefix: /write } }]
      destination: { upstream: svc }
      policies: [{ name: acl, config: { requiredScopes: [orders:write] } }]
    - name: all
      destination: { upstream: svc }
`;

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

describe('OAuth 2.0 client credentials with Tollgate as issuer', () => {
  let db: TestDatabase;
  let up: RecordingUpstream;
  let admin: TollgateProcess;
  let gateways: TollgateProcess[] = [];
  let client: { clientId: string; clientSecret: string };

  const adminCall = async (path: string, init: RequestInit = {}): Promise<Answer> => {
    const res = await fetch(`${admin.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string>) } });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };
  const tokenRequest = async (g: TollgateProcess, form: Record<string, string>, basic?: [string, string], path = '/oauth2/token'): Promise<Answer> => {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (basic) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic[0])}:${encodeURIComponent(basic[1])}`).toString('base64')}`;
    const res = await fetch(`${g.proxyUrl}${path}`, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };
  const issue = async (g: TollgateProcess, scope?: string): Promise<string> => {
    const res = await tokenRequest(g, { grant_type: 'client_credentials', ...(scope ? { scope } : {}) }, [client.clientId, client.clientSecret]);
    expect(res.status, res.body).toBe(200);
    return (JSON.parse(res.body) as { access_token: string }).access_token;
  };
  const callApi = async (g: TollgateProcess, token: string, path = '/orders/1'): Promise<Answer> => {
    const res = await fetch(`${g.proxyUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    up = await startRecordingUpstream('svc');
    const env = { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, OAUTH_KEY_ROTATION_SEC: String(ROTATION_SEC), OAUTH_ISSUER: 'https://gateway.test', CONFIG_POLL_MS: '60000' };
    // Started together (migrations race, as in production); a long deadline: the machine may be loaded.
    const started = await Promise.all([startTollgateProcess({ role: 'admin', env, readyTimeoutMs: 55_000 }), startTollgateProcess({ role: 'gateway', env, readyTimeoutMs: 55_000 }), startTollgateProcess({ role: 'gateway', env, readyTimeoutMs: 55_000 })]);
    [admin] = started;
    gateways = started.slice(1);
    const applied = await adminCall('/config', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: config(up.url) });
    expect(applied.status, applied.body).toBe(200);
    const created = await adminCall('/consumers/acme/oauth-clients', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ci', scopes: ['orders:read'] }) });
    expect(created.status, created.body).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    client = JSON.parse(created.body) as { clientId: string; clientSecret: string };
    expect(client.clientId).toMatch(/^ocl_/);
    expect(client.clientSecret).toMatch(/^tgcs_/);
    // Both nodes learn of the client from the version bump's NOTIFY (the poll is a minute).
    for (const g of gateways) await waitUntil(async () => (await tokenRequest(g, { grant_type: 'client_credentials' }, [client.clientId, client.clientSecret])).status === 200, 10_000, 50);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([admin?.stop(), ...gateways.map((g) => g.stop())]);
    await up?.close();
    await db?.drop();
  });

  it('issues an RFC 9068 access token on one node that the other node accepts as the consumer', async () => {
    const [a, b] = gateways as [TollgateProcess, TollgateProcess];
    const res = await tokenRequest(a, { grant_type: 'client_credentials', scope: 'orders:read' }, [client.clientId, client.clientSecret]);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = JSON.parse(res.body) as { access_token: string; token_type: string; expires_in: number; scope: string };
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 60, scope: 'orders:read' });
    expect(decodeProtectedHeader(body.access_token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: expect.stringMatching(/^tgk_/) });
    const claims = decodeJwt(body.access_token);
    expect(claims).toMatchObject({ iss: 'https://gateway.test', sub: client.clientId, client_id: client.clientId, aud: 'api://orders', scope: 'orders:read' });
    expect(typeof claims.jti).toBe('string');
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(60);
    const forwarded = await callApi(b, body.access_token);
    expect(forwarded.status, forwarded.body).toBe(200);
    const seen = up.requests.at(-1);
    expect(seen?.headers['x-consumer-name']).toBe('acme');
    expect(seen?.headers.authorization).toBeUndefined();
  });

  it('takes the secret in the body too (client_secret_post), and grants every allowed scope when none is asked', async () => {
    const res = await tokenRequest(gateways[1] as TollgateProcess, { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret });
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ scope: 'orders:read' });
  });

  it('answers RFC 6749 §5.2 errors with stable codes', async () => {
    const g = gateways[0] as TollgateProcess;
    const wrong = await tokenRequest(g, { grant_type: 'client_credentials' }, [client.clientId, 'tgcs_wrong']);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Basic realm="tollgate"');
    expect(JSON.parse(wrong.body)).toMatchObject({ error: 'invalid_client', code: 'OAUTH_INVALID_CLIENT' });
    const unknown = await tokenRequest(g, { grant_type: 'client_credentials', client_id: 'ocl_00', client_secret: 'x' });
    expect(JSON.parse(unknown.body)).toMatchObject({ error: 'invalid_client' });
    const grant = await tokenRequest(g, { grant_type: 'password', username: 'u', password: 'p' }, [client.clientId, client.clientSecret]);
    expect(grant.status).toBe(400);
    expect(JSON.parse(grant.body)).toMatchObject({ error: 'unsupported_grant_type', code: 'OAUTH_UNSUPPORTED_GRANT_TYPE' });
    // orders:write is the consumer's, but was not given to this client.
    const scope = await tokenRequest(g, { grant_type: 'client_credentials', scope: 'orders:read orders:write' }, [client.clientId, client.clientSecret]);
    expect(scope.status).toBe(400);
    expect(JSON.parse(scope.body)).toMatchObject({ error: 'invalid_scope', code: 'OAUTH_INVALID_SCOPE' });
    const both = await tokenRequest(g, { grant_type: 'client_credentials', client_secret: client.clientSecret }, [client.clientId, client.clientSecret]);
    expect(JSON.parse(both.body)).toMatchObject({ error: 'invalid_request', code: 'OAUTH_INVALID_REQUEST' });
    const get = await fetch(`${g.proxyUrl}/oauth2/token`);
    expect(get.status).toBe(400);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('refuses tokens for another audience, expired tokens, tokens of an unknown key, and missing scopes', async () => {
    const g = gateways[1] as TollgateProcess;
    const billing = await tokenRequest(g, { grant_type: 'client_credentials' }, [client.clientId, client.clientSecret], '/oauth2/billing-token');
    const wrongAud = await callApi(g, (JSON.parse(billing.body) as { access_token: string }).access_token);
    expect(wrongAud.status).toBe(401);
    expect(JSON.parse(wrongAud.body)).toMatchObject({ code: 'INVALID_CREDENTIAL' });
    // An expired token signed with the live key itself (read from the database, as only a test may).
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const { rows } = await c.query<{ kid: string; private_pem: string }>('SELECT kid, private_pem FROM oauth_signing_keys WHERE active_from <= now() ORDER BY active_from DESC LIMIT 1');
    await c.end();
    const key = rows[0] as { kid: string; private_pem: string };
    const now = Math.floor(Date.now() / 1000);
    const sign = (exp: number, kid = key.kid) =>
      new SignJWT({ client_id: client.clientId, scope: 'orders:read' }).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).setIssuer('https://gateway.test').setSubject(client.clientId).setAudience('api://orders').setIssuedAt(now - 600).setExpirationTime(exp).sign(createPrivateKey(key.private_pem));
    const expired = await callApi(g, await sign(now - 300));
    expect(expired.status).toBe(401);
    expect(JSON.parse(expired.body)).toMatchObject({ code: 'TOKEN_EXPIRED' });
    const unknownKid = await callApi(g, await sign(now + 60, 'tgk_unknown'));
    expect(JSON.parse(unknownKid.body)).toMatchObject({ code: 'INVALID_CREDENTIAL' });
    const write = await callApi(g, await issue(g), '/orders/write/1');
    expect(write.status).toBe(403);
    expect(JSON.parse(write.body)).toMatchObject({ code: 'INSUFFICIENT_SCOPE' });
  });

  it('rotates signing keys every period without a failed request: tokens of either node verify on the other', async () => {
    const [a, b] = gateways as [TollgateProcess, TollgateProcess];
    const kids = new Set<string>();
    const failures: string[] = [];
    const until = Date.now() + ROTATION_SEC * 1000 * 2.5;
    let i = 0;
    while (Date.now() < until) {
      const [from, to] = i++ % 2 === 0 ? [a, b] : [b, a];
      const res = await tokenRequest(from, { grant_type: 'client_credentials' }, [client.clientId, client.clientSecret]);
      if (res.status !== 200) {
        failures.push(`token ${res.status} ${res.body}`);
        continue;
      }
      const token = (JSON.parse(res.body) as { access_token: string }).access_token;
      kids.add(String(decodeProtectedHeader(token).kid));
      const used = await callApi(to, token);
      if (used.status !== 200) failures.push(`use ${used.status} ${used.body}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(failures).toEqual([]);
    expect(kids.size).toBeGreaterThanOrEqual(2);
    // Both nodes publish the same public keys: the signing one, the next, and the recent ones.
    const sets = await Promise.all(gateways.map(async (g) => (await (await fetch(`${g.proxyUrl}/oauth2/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> }));
    for (const set of sets) {
      expect(set.keys.length).toBeGreaterThanOrEqual(2);
      for (const k of set.keys) {
        expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
        expect(k.d).toBeUndefined();
      }
    }
  }, 30_000);

  it('revoking the client stops new tokens and refuses the ones it holds, on both nodes', async () => {
    const tokens = await Promise.all(gateways.map((g) => issue(g)));
    const list = JSON.parse((await adminCall('/consumers/acme/oauth-clients')).body) as { items: Array<Record<string, unknown>> };
    expect(list.items).toEqual([expect.objectContaining({ clientId: client.clientId, scopes: ['orders:read'] })]);
    expect(JSON.stringify(list)).not.toContain(client.clientSecret);
    expect((await adminCall(`/consumers/acme/oauth-clients/${client.clientId}`, { method: 'DELETE' })).status).toBe(204);
    for (const g of gateways) {
      await waitUntil(async () => (await tokenRequest(g, { grant_type: 'client_credentials' }, [client.clientId, client.clientSecret])).status === 401, 3_000, 20);
      for (const t of tokens) {
        const res = await callApi(g, t);
        expect(res.status).toBe(401);
        expect(JSON.parse(res.body)).toMatchObject({ code: 'INVALID_CREDENTIAL' });
      }
    }
  });

  it('never shows the client secret or a private key: admin reads, export, audit log, JWKS and every process output', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const pems = (await c.query<{ private_pem: string }>('SELECT private_pem FROM oauth_signing_keys')).rows.map((r) => r.private_pem.split('\n')[1] as string);
    await c.end();
    const bodies: string[] = [];
    for (const path of ['/config', '/config?format=json', '/consumers/acme', '/consumers/acme/oauth-clients', '/audit-log']) {
      const res = await adminCall(path);
      expect(res.status, path).toBe(200);
      bodies.push(res.body);
    }
    const audit = bodies.at(-1) ?? '';
    expect(audit).toContain('oauth-client.create');
    expect(audit).toContain('oauth-client.revoke');
    bodies.push(await (await fetch(`${(gateways[0] as TollgateProcess).proxyUrl}/oauth2/jwks.json`)).text());
    const all = [...bodies, admin.output(), ...gateways.map((g) => g.output())].join('\n');
    expect(all).not.toContain(client.clientSecret);
    expect(all).not.toContain(Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64'));
    for (const p of pems) expect(all).not.toContain(p);
  });
});
