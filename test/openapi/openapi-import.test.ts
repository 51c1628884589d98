import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORDERS31, PETSTORE, startOpenApiStack, type OpenApiStack } from './harness.js';

const PET_KEY = 'petstore-test-key-0123456789';

/**
 * The Swagger Petstore 3 document imported into a running Tollgate (`tollgate start`, embedded
 * PGlite) through the CLI and the admin API, routed to a real recording upstream.
 */
describe('OpenAPI import: Petstore 3 through the CLI and the admin API', () => {
  let s: OpenApiStack;
  beforeAll(async () => {
    s = await startOpenApiStack();
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it('refuses the Petstore by default: its oauth2-only operations would be served without authentication (422, nothing created)', async () => {
    // The oauth2 scheme petstore_auth has no x-tollgate-jwt: its operations cannot be protected as the document says.
    const run = await s.cli(['import', 'openapi', s.file('petstore.yaml', PETSTORE), '--name', 'petstore', '--upstream', s.upstream.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/petstore\.yaml:59: \/paths\/~1pet\/post\/security: POST \/pet \(addPet\): its security requirement cannot be enforced: oauth2 scheme "petstore_auth" needs x-tollgate-jwt/);
    expect(run.stderr).toContain('--allow-unprotected');
    expect((await s.admin('GET', '/apis/petstore')).status).toBe(404);
    expect((await s.admin('GET', '/upstreams/petstore')).status).toBe(404);

    const res = await s.admin('POST', `/apis/import?name=petstore&upstream=${encodeURIComponent(s.upstream.url)}`, PETSTORE, 'application/yaml');
    expect(res.status).toBe(422);
    expect(res.type).toContain('application/problem+json');
    expect(res.json).toMatchObject({ status: 422, code: 'INVALID_CONFIG' });
    const errors = res.json.errors as Array<{ path: string; code: string; line: number; message: string }>;
    expect(errors).toHaveLength(7);
    expect(errors.every((e) => e.code === 'security_not_enforced' && e.path.endsWith('/security') && e.line > 0 && e.message.includes('"petstore_auth"') && e.message.includes('x-tollgate-jwt') && e.message.includes('allowUnprotected'))).toBe(true);
    expect(errors.map((e) => e.path)).toContain('/paths/~1pet~1findByStatus/get/security');
    expect(String(res.json.detail)).toContain('(and 6 more)');
    // The getPetById operation also accepts api_key: enforced with key-auth, not refused.
    expect(errors.map((e) => e.path)).not.toContain('/paths/~1pet~1{petId}/get/security');
    expect((await s.gw('/v3/pet/findByStatus?status=sold')).status).toBe(404);
    // The CLI help names the way out and the rule.
    const help = await s.cli(['import', 'openapi', '--help']);
    expect(help.stdout).toContain('--allow-unprotected');
    expect(help.stdout).toContain('Security fails closed');
  });

  it('imports the Petstore through the CLI with --allow-unprotected and routes its operations (path parameters, methods)', async () => {
    const run = await s.cli(['import', 'openapi', s.file('petstore.yaml', PETSTORE), '--name', 'petstore', '--upstream', s.upstream.url, '--allow-unprotected']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Upstream/petstore created\nApi/petstore created\n');
    expect(run.stdout).toContain('routes: 19 created, 0 updated, 0 unchanged, 0 deleted');
    // Opted in: each unprotected operation is said so, with a JSON pointer, never dropped silently.
    expect(run.stderr).toContain('Warning: /components/securitySchemes/petstore_auth:');
    expect(run.stderr).toContain('Warning: /paths/~1pet/post/security: POST /pet (addPet) is served WITHOUT authentication (allowUnprotected)');

    await s.served(async () => (await s.gw('/v3/pet/findByStatus?status=sold')).status === 200);
    const cases: Array<[string, string, string | undefined]> = [
      ['GET', '/v3/pet/findByStatus?status=sold', undefined],
      ['GET', '/v3/user/user1', undefined],
      ['PUT', '/v3/user/user1', '{"username":"user1"}'],
      ['DELETE', '/v3/store/order/5', undefined],
      ['POST', '/v3/pet/7?name=rex', undefined],
      ['GET', '/v3/user/login?username=a&password=b', undefined],
    ];
    for (const [method, path, body] of cases) {
      const before = s.upstream.requests.length;
      const res = await s.gw(path, { method, ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}) });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(200);
      const seen = s.upstream.requests[before];
      expect(seen?.method).toBe(method);
      expect(seen?.url).toBe(path);
      if (body) expect(seen?.body.toString()).toBe(body);
    }
    // A literal path is never taken by the template next to it, and undeclared methods are 405.
    expect((await s.gw('/v3/pet/findByTags?tags=a&tags=b')).json()).toMatchObject({ url: '/v3/pet/findByTags?tags=a&tags=b' });
    const patch = await s.gw('/v3/pet', { method: 'PATCH' });
    expect(patch.status).toBe(405);
    expect((await s.gw('/v3/nowhere')).status).toBe(404);
  });

  it('enforces the apiKey security scheme with key-auth end to end', async () => {
    await s.served(async () => (await s.gw('/v3/store/inventory')).status === 401);
    const missing = await s.gw('/v3/pet/10');
    expect(missing.status).toBe(401);
    expect(missing.type).toContain('application/problem+json');
    const consumer = `apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: pet-client }
spec:
  keys: [{ name: main, key: ${PET_KEY} }]
`;
    expect((await s.admin('POST', '/config', consumer)).status).toBe(200);
    await s.served(async () => (await s.gw('/v3/pet/10', { headers: { api_key: PET_KEY } })).status === 200);
    expect((await s.gw('/v3/pet/10', { headers: { api_key: 'wrong-key-0123456789' } })).status).toBe(401);
    const before = s.upstream.requests.length;
    const ok = await s.gw('/v3/store/inventory', { headers: { api_key: PET_KEY } });
    expect(ok.status).toBe(200);
    const seen = s.upstream.requests[before];
    expect(seen?.url).toBe('/v3/store/inventory');
    // key-auth removes the credential before the request goes upstream.
    expect(seen?.headers.api_key).toBeUndefined();
    expect(seen?.headers['x-consumer-name']).toBe('pet-client');
  });

  it('imports the Petstore with x-tollgate-jwt on petstore_auth: its operations require a token with the scopes, end to end', async () => {
    const secret = 'petstore-jwt-secret-0123456789abcdef';
    const jwt = `      x-tollgate-jwt:\n        issuers:\n          - { issuer: "https://auth.example.com/", algorithms: [HS256], audiences: [petstore], secrets: [${secret}] }\n        anonymous: true\n`;
    const doc = PETSTORE.replace('      type: oauth2\n', `      type: oauth2\n${jwt}`);
    expect(doc).not.toBe(PETSTORE);
    const res = await s.admin('POST', `/apis/import?name=petstore-jwt&basePath=/jwt-v3&upstream=${encodeURIComponent(s.upstream.url)}`, doc, 'application/yaml');
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.warnings).toEqual([]);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const sign = (claims: Record<string, unknown>) => {
      const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
      return `Bearer ${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
    };
    const claims = { iss: 'https://auth.example.com/', aud: 'petstore', sub: 'someone', exp: Math.floor(Date.now() / 1000) + 600 };
    const path = '/jwt-v3/pet/findByStatus?status=sold';
    await s.served(async () => (await s.gw(path)).status === 401);
    expect((await s.gw(path, { headers: { authorization: sign({ ...claims, scope: 'read:pets' }) } })).status).toBe(403);
    const before = s.upstream.requests.length;
    const ok = await s.gw(path, { headers: { authorization: sign({ ...claims, scope: 'write:pets read:pets' }) } });
    expect(ok.status, ok.text).toBe(200);
    expect(s.upstream.requests[before]?.url).toBe('/v3/pet/findByStatus?status=sold');
    // getPetById: api_key OR petstore_auth, either one authenticates.
    expect((await s.gw('/jwt-v3/pet/10')).status).toBe(401);
    expect((await s.gw('/jwt-v3/pet/10', { headers: { authorization: sign({ ...claims, scope: 'write:pets read:pets' }) } })).status).toBe(200);
    expect((await s.gw('/jwt-v3/pet/10', { headers: { api_key: PET_KEY } })).status).toBe(200);
  });

  it('serves the published document through the gateway with servers pointing at the gateway', async () => {
    const res = await s.gw('/v3/openapi.json');
    expect(res.status).toBe(200);
    expect(res.type).toContain('application/json');
    const doc = res.json();
    expect(doc.openapi).toBe('3.0.2');
    expect(doc.servers).toEqual([{ url: `${s.tg.proxyUrl}/v3`, description: 'this gateway' }]);
    expect(Object.keys(doc.paths as object)).toHaveLength(13);
    expect(JSON.stringify(doc)).not.toContain('x-tollgate');
    expect((doc.info as { title: string }).title).toBe('Swagger Petstore - OpenAPI 3.0');
    const head = await fetch(`${s.tg.proxyUrl}/v3/openapi.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('re-imports an edited document: the dry run shows the diff and changes nothing, the import updates in place', async () => {
    const stored = await s.admin('GET', '/apis/petstore');
    const routesBefore = ((stored.json.spec as { routes: Array<{ name: string }> }).routes).map((r) => r.name);
    // Edited: deleteUser removed, getUserByName gets a timeout, a new operation appears.
    const edited = PETSTORE.replace(/    delete:\n      tags:\n        - user\n      summary: Delete user[\s\S]*?description: User not found\n/, '')
      .replace("      operationId: getUserByName\n", "      operationId: getUserByName\n      x-tollgate-timeout-ms: 2500\n")
      .replace('  /user/logout:\n', "  /user/ping:\n    get:\n      operationId: ping\n      responses:\n        default:\n          description: pong\n  /user/logout:\n");
    expect(edited).not.toBe(PETSTORE);
    const path = s.file('petstore-edited.yaml', edited);

    const dry = await s.cli(['import', 'openapi', path, '--name', 'petstore', '--upstream', s.upstream.url, '--dry-run', '--allow-unprotected']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('--- live/Api/petstore');
    expect(dry.stdout).toContain('+++ imported/Api/petstore');
    expect(dry.stdout).toMatch(/\+ {6}timeoutMs: 2500/);
    expect(dry.stdout).toMatch(/- {4}- name: delete-user/);
    expect(dry.stdout).toMatch(/\+ {4}- name: ping/);
    expect(dry.stdout).toContain('Api/petstore configured (dry run)');
    expect(dry.stdout).toContain('Upstream/petstore unchanged (dry run)');
    expect(dry.stdout).toContain('routes (dry run): 1 created, 1 updated, 17 unchanged, 1 deleted');
    expect(dry.stdout).toContain('  deleted  petstore/delete-user');
    // Nothing changed: the route still serves, the stored Api is the same.
    expect((await s.gw('/v3/user/u1', { method: 'DELETE' })).status).toBe(200);
    expect((await s.admin('GET', '/apis/petstore')).json).toEqual(stored.json);

    // The real import, through the admin API this time.
    const res = await s.admin('POST', '/apis/import?name=petstore&allowUnprotected=true&upstream=' + encodeURIComponent(s.upstream.url), edited, 'application/yaml');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ api: 'petstore', dryRun: false, routes: { created: ['ping'], updated: ['get-user-by-name'], deleted: ['delete-user'] } });
    expect((res.json.routes as { unchanged: string[] }).unchanged).toHaveLength(17);
    expect(res.json.changes).toEqual([{ kind: 'Upstream', name: 'petstore', action: 'unchanged' }, { kind: 'Api', name: 'petstore', action: 'update' }]);
    const routesAfter = ((await s.admin('GET', '/apis/petstore')).json.spec as { routes: Array<{ name: string; timeoutMs?: number }> }).routes;
    // Same route ids for the operations that stayed (api/operationId in kebab case).
    expect(routesAfter.map((r) => r.name).filter((n) => n !== 'ping').sort()).toEqual(routesBefore.filter((n) => n !== 'delete-user').sort());
    expect(routesAfter.find((r) => r.name === 'get-user-by-name')?.timeoutMs).toBe(2500);
    // (GET /v3/user/ping was already served by get-user-by-name: wait for the delete to go.)
    await s.served(async () => (await s.gw('/v3/user/u1', { method: 'DELETE' })).status === 405);
    expect((await s.gw('/v3/user/ping')).json()).toMatchObject({ method: 'GET', url: '/v3/user/ping' });
    // Importing the same document again changes nothing.
    const again = await s.admin('POST', '/apis/import?name=petstore&allowUnprotected=true&upstream=' + encodeURIComponent(s.upstream.url), edited, 'application/yaml');
    expect(again.json).toMatchObject({ version: res.json.version, changes: [{ action: 'unchanged' }, { action: 'unchanged' }], routes: { created: [], updated: [], deleted: [] } });
  });

  it('--strict refuses a document with unsupported constructs and creates nothing', async () => {
    const run = await s.cli(['import', 'openapi', s.file('strict.yaml', PETSTORE), '--name', 'strict-pets', '--upstream', s.upstream.url, '--strict']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('/components/securitySchemes/petstore_auth');
    expect(run.stderr).toContain('(strict import)');
    expect((await s.admin('GET', '/apis/strict-pets')).status).toBe(404);
  });

  it('answers a bad document with 422 problem+json naming the location', async () => {
    const bad = 'openapi: 3.0.3\ninfo:\n  title: Broken\npaths:\n  /a:\n    get:\n      responses:\n        "200": { description: ok }\n';
    const res = await s.admin('POST', '/apis/import?upstream=http://127.0.0.1:1', bad, 'application/yaml');
    expect(res.status).toBe(422);
    expect(res.type).toContain('application/problem+json');
    expect(res.json).toMatchObject({ status: 422, code: 'INVALID_CONFIG', errors: [{ path: '/info', code: 'invalid_openapi', line: 3 }] });
    expect(String(res.json.detail)).toContain('"info.version" is required and must be a string');

    const syntax = await s.admin('POST', '/apis/import', '{"openapi": "3.1.0", "info": {', 'application/json');
    expect(syntax.status).toBe(422);
    expect(syntax.json).toMatchObject({ code: 'INVALID_CONFIG' });
    expect((syntax.json.errors as unknown[])[0]).toMatchObject({ code: 'invalid_syntax', line: 1 });

    const swagger2 = await s.admin('POST', '/apis/import', JSON.stringify({ document: { swagger: '2.0', info: { title: 'x', version: '1' }, paths: {} } }), 'application/json');
    expect(swagger2.status).toBe(422);
    expect(swagger2.json).toMatchObject({ errors: [{ path: '/swagger', code: 'unsupported_version' }] });

    const run = await s.cli(['import', 'openapi', s.file('bad.yaml', bad), '--upstream', 'http://127.0.0.1:1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('bad.yaml:3: /info:');
  });

  it('imports an OpenAPI 3.1 document (JSON envelope) with request validation: 400 names the failing field', async () => {
    const res = await s.admin('POST', '/apis/import', JSON.stringify({ document: ORDERS31, options: { upstream: s.upstream.url, basePath: '/shop', validate: true } }), 'application/json');
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toMatchObject({ api: 'orders', openapi: '3.1.0', warnings: [], routes: { created: ['list-orders', 'create-order', 'get-order', 'cancel-order', 'get-order-item'] } });
    await s.served(async () => (await s.gw('/shop/orders?limit=5')).status === 200);

    // The upstream path comes from the server URL (variables at their defaults): /api/v2.
    let before = s.upstream.requests.length;
    expect((await s.gw('/shop/orders?limit=5&status=open&status=shipped')).status).toBe(200);
    expect(s.upstream.requests[before]?.url).toBe('/api/v2/orders?limit=5&status=open&status=shipped');
    before = s.upstream.requests.length;
    expect((await s.gw('/shop/orders/ord_42/items/3')).status).toBe(200);
    expect(s.upstream.requests[before]?.url).toBe('/api/v2/orders/ord_42/items/3');

    const limit = await s.gw('/shop/orders?limit=abc');
    expect(limit.status).toBe(400);
    expect(limit.type).toContain('application/problem+json');
    expect(limit.json()).toMatchObject({ code: 'REQUEST_INVALID', errors: [{ field: 'query.limit' }] });
    expect((await s.gw('/shop/orders?limit=500')).json()).toMatchObject({ errors: [{ field: 'query.limit', message: 'must be <= 100' }] });
    expect((await s.gw('/shop/orders?status=lost')).json()).toMatchObject({ errors: [{ field: 'query.status[0]' }] });
    expect((await s.gw('/shop/orders/42')).json()).toMatchObject({ errors: [{ field: 'path.orderId' }] });
    expect((await s.gw('/shop/orders/ord_1/items/x')).json()).toMatchObject({ errors: [{ field: 'path.item-no' }] });

    const json = { 'content-type': 'application/json' };
    const noName = await s.gw('/shop/orders', { method: 'POST', headers: json, body: '{"quantity": 2}' });
    expect(noName.status).toBe(400);
    expect(noName.json()).toMatchObject({ code: 'REQUEST_INVALID', detail: "/body/name must have required property 'name'", errors: [{ field: '/body/name' }] });
    expect((await s.gw('/shop/orders', { method: 'POST', headers: json, body: '{"name": "", "quantity": 2}' })).json()).toMatchObject({ errors: [{ field: '/body/name' }] });
    expect((await s.gw('/shop/orders', { method: 'POST', headers: json, body: '{"name": "a", "quantity": 2, "extra": 1}' })).json()).toMatchObject({ errors: [{ field: '/body/extra' }] });
    expect((await s.gw('/shop/orders', { method: 'POST', headers: json, body: '{"name": ' })).json()).toMatchObject({ errors: [{ field: '/body' }] });
    expect((await s.gw('/shop/orders', { method: 'POST' })).json()).toMatchObject({ errors: [{ field: '/body', message: 'a request body is required' }] });
    const xml = await s.gw('/shop/orders', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<order/>' });
    expect(xml.status).toBe(415);

    // A valid body (readOnly `id` not required, `note` nullable) reaches the upstream byte for byte.
    const body = '{"name": "tea", "quantity": 3, "note": null}';
    before = s.upstream.requests.length;
    const ok = await s.gw('/shop/orders', { method: 'POST', headers: json, body });
    expect(ok.status, ok.text).toBe(200);
    expect(s.upstream.requests[before]?.url).toBe('/api/v2/orders');
    expect(s.upstream.requests[before]?.body.toString()).toBe(body);
    // Refused requests never reached the upstream.
    expect(s.upstream.requests.slice(before + 1)).toHaveLength(0);

    // The HMAC secret of x-tollgate-jwt reaches neither the audit log nor an admin read.
    const audit = await s.admin('GET', '/audit-log?limit=50');
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.json)).toContain('api.import');
    expect(JSON.stringify(audit.json)).toContain('listOrders'); // the document is recorded, parsed
    expect(JSON.stringify(audit.json)).not.toContain('orders-test-secret');
    expect(JSON.stringify((await s.admin('GET', '/apis/orders')).json)).not.toContain('orders-test-secret');
    // The bearer scheme (x-tollgate-jwt) became jwt-auth on cancelOrder.
    expect((await s.gw('/shop/orders/ord_1', { method: 'DELETE' })).status).toBe(401);

    // Its published document points at the gateway base path, not at the upstream server.
    const spec = await s.gw('/shop/openapi.json');
    expect(spec.json()).toMatchObject({ openapi: '3.1.0', servers: [{ url: `${s.tg.proxyUrl}/shop` }] });
  });
  it('validates a chunked body through the gateway and forwards it whole', async () => {
    const send = (chunks: string[]) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const url = new URL(`${s.tg.proxyUrl}/shop/orders`);
        const req = request({ host: url.hostname, port: url.port, method: 'POST', path: url.pathname, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        for (const c of chunks) req.write(c);
        req.end();
      });
    const before = s.upstream.requests.length;
    const ok = await send(['{"name": "chun', 'ked", "quantity": 1}']);
    expect(ok.status, ok.body).toBe(200);
    expect(s.upstream.requests[before]?.body.toString()).toBe('{"name": "chunked", "quantity": 1}');
    const bad = await send(['{"name": "chunked", ', '"quantity": 0}']);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ errors: [{ field: '/body/quantity' }] });
    expect(s.upstream.requests).toHaveLength(before + 1);
  });

  it('refuses a body past the operation\'s maxBodyBytes with 413 and closes the connection', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(2000), quantity: 1 });
    const before = s.upstream.requests.length;
    const res = await fetch(`${s.tg.proxyUrl}/shop/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect(s.upstream.requests).toHaveLength(before);
  });

  it('keeps the config store round trip: an export of the imported APIs applies back unchanged', async () => {
    const exported = await fetch(`${s.tg.adminUrl}/config`, { headers: { authorization: `Bearer ${s.token}` } }).then((r) => r.text());
    expect(exported).toContain('name: request-validation');
    expect(exported).toContain('openapi: 3.1.0');
    const res = await s.admin('POST', '/config', exported);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const changes = res.json.changes as Array<{ kind: string; name: string; action: string }>;
    expect(changes.filter((c) => c.kind === 'Api' || c.kind === 'Upstream')).toEqual(expect.arrayContaining([{ kind: 'Api', name: 'orders', action: 'unchanged' }, { kind: 'Api', name: 'petstore', action: 'unchanged' }]));
    expect(changes.every((c) => c.action === 'unchanged')).toBe(true);
  });
  it('enforces the bearer scheme mapped by x-tollgate-jwt (jwt-auth) end to end', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const sign = (claims: Record<string, unknown>, secret = 'orders-test-secret-0123456789abcdef') => {
      const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
      return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
    };
    const consumer = 'apiVersion: tollgate.dev/v1\nkind: Consumer\nmetadata: { name: order-bot }\nspec:\n  jwtSubjects: [{ issuer: "https://id.example.com/", subject: bot }]\n';
    expect((await s.admin('POST', '/config', consumer)).status).toBe(200);
    const claims = { iss: 'https://id.example.com/', aud: 'orders', sub: 'bot', exp: Math.floor(Date.now() / 1000) + 600 };
    await s.served(async () => (await s.gw('/shop/orders/ord_9', { method: 'DELETE', headers: { authorization: `Bearer ${sign(claims)}` } })).status === 200);
    expect(s.upstream.requests.at(-1)).toMatchObject({ method: 'DELETE', url: '/api/v2/orders/ord_9' });
    expect(s.upstream.requests.at(-1)?.headers['x-consumer-name']).toBe('order-bot');
    expect((await s.gw('/shop/orders/ord_9', { method: 'DELETE', headers: { authorization: `Bearer ${sign(claims, 'another-secret-0123456789abcdefgh')}` } })).status).toBe(401);
    expect((await s.gw('/shop/orders/ord_9', { method: 'DELETE', headers: { authorization: `Bearer ${sign({ ...claims, aud: 'billing' })}` } })).status).toBe(401);
  });

  it('enforces an API key AND a token required together (one requirement object) with auth mode all, end to end', async () => {
    const secret = 'and-mode-secret-0123456789abcdefgh';
    const doc = JSON.stringify({
      openapi: '3.1.0',
      info: { title: 'Both', version: '1' },
      security: [{ key: [], token: [] }],
      components: {
        securitySchemes: {
          key: { type: 'apiKey', in: 'header', name: 'X-Both-Key' },
          token: { type: 'http', scheme: 'bearer', 'x-tollgate-jwt': { issuer: 'https://both.example.com/', algorithms: ['HS256'], audiences: ['both'], secrets: [secret] } },
        },
      },
      paths: { '/thing': { get: { operationId: 'getThing', responses: { 200: { description: 'ok' } } } } },
    });
    const res = await s.admin('POST', `/apis/import?name=both&basePath=/both&upstream=${encodeURIComponent(s.upstream.url)}`, doc, 'application/json');
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const consumers = ['alpha', 'beta']
      .map((n) => `---\napiVersion: tollgate.dev/v1\nkind: Consumer\nmetadata: { name: both-${n} }\nspec:\n  keys: [{ name: main, key: both-${n}-key-0123456789abcdef }]\n  jwtSubjects: [{ issuer: "https://both.example.com/", subject: ${n} }]\n`)
      .join('');
    expect((await s.admin('POST', '/config', consumers)).status).toBe(200);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const bearer = (sub: string) => {
      const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'https://both.example.com/', aud: 'both', sub, exp: Math.floor(Date.now() / 1000) + 600 })}`;
      return `Bearer ${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
    };
    const both = { 'x-both-key': 'both-alpha-key-0123456789abcdef', authorization: bearer('alpha') };
    await s.served(async () => (await s.gw('/both/thing', { headers: both })).status === 200);
    const before = s.upstream.requests.length;
    expect((await s.gw('/both/thing', { headers: both })).status).toBe(200);
    const seen = s.upstream.requests[before];
    expect(seen?.headers['x-consumer-name']).toBe('both-alpha');
    expect(seen?.headers['x-both-key']).toBeUndefined();
    expect(seen?.headers.authorization).toBeUndefined();
    const onlyKey = await s.gw('/both/thing', { headers: { 'x-both-key': both['x-both-key'] } });
    expect(onlyKey.status).toBe(401);
    expect(onlyKey.json().code).toBe('AUTH_REQUIRED');
    expect((await s.gw('/both/thing', { headers: { authorization: both.authorization } })).status).toBe(401);
    const mixed = await s.gw('/both/thing', { headers: { 'x-both-key': 'both-beta-key-0123456789abcdef', authorization: bearer('alpha') } });
    expect(mixed.status).toBe(401);
    expect(mixed.json().code).toBe('CREDENTIALS_MISMATCH');
  });

  it('keeps the lifecycle state across a re-import, and never replaces a hand-written Api', async () => {
    const dep = await s.admin('POST', '/apis/orders/lifecycle', JSON.stringify({ state: 'deprecated' }), 'application/json');
    expect(dep.status, JSON.stringify(dep.json)).toBe(200);
    await s.served(async () => (await fetch(`${s.tg.proxyUrl}/shop/orders`)).headers.get('deprecation') !== null);
    // An operator raises the Api's priority by hand after the import: a re-import keeps it too.
    const current = (await s.admin('GET', '/apis/orders')).json as { spec: Record<string, unknown> };
    const put = await s.admin('PUT', '/apis/orders', JSON.stringify({ ...current, spec: { ...current.spec, priority: 7 } }), 'application/json');
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    const edited = ORDERS31.replace('operationId: getOrder\n', 'operationId: getOrder\n      x-tollgate-timeout-ms: 900\n');
    const res = await s.admin('POST', '/apis/import', JSON.stringify({ document: edited, options: { upstream: s.upstream.url, basePath: '/shop', validate: true } }), 'application/json');
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.routes).toMatchObject({ updated: ['get-order'], created: [], deleted: [] });
    expect((await s.admin('GET', '/apis/orders')).json.spec).toMatchObject({ priority: 7, lifecycle: { state: 'deprecated' } });
    const after = await fetch(`${s.tg.proxyUrl}/shop/orders`);
    expect(after.headers.get('deprecation')).toMatch(/^@\d+$/);

    const handWritten = `apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: mine }
spec:
  basePath: /mine
  routes: [{ name: all, destination: { upstream: petstore } }]
`;
    expect((await s.admin('POST', '/config', handWritten)).status).toBe(200);
    const clash = await s.admin('POST', '/apis/import?name=mine&allowUnprotected=true&upstream=' + encodeURIComponent(s.upstream.url), PETSTORE.replace('- url: /v3', '- url: /mine'), 'application/yaml');
    expect(clash.status).toBe(409);
    expect(clash.json).toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(String(clash.json.detail)).toContain('Api/mine exists and was not imported from OpenAPI');
  });
  it('publishes each version of a product at its own prefix, servers pointing at that version', async () => {
    const version = (v: string, extra: string) =>
      ORDERS31.replace('x-tollgate-api:\n  name: orders\n', `x-tollgate-api:\n  name: catalog-${v}\n  product: catalog\n  version: ${v}\n  versioning: { scheme: path${extra} }\n`).replace('  version: 2.0.0\n', `  version: ${v}.0.0\n`);
    for (const [v, extra] of [['v1', ', default: true'], ['v2', '']] as const) {
      const res = await s.admin('POST', '/apis/import', JSON.stringify({ document: version(v, extra), options: { upstream: s.upstream.url, basePath: '/catalog' } }), 'application/json');
      expect(res.status, JSON.stringify(res.json)).toBe(200);
    }
    await s.served(async () => (await s.gw('/v2/catalog/openapi.json')).status === 200);
    const v2 = (await s.gw('/v2/catalog/openapi.json')).json();
    expect(v2).toMatchObject({ info: { version: 'v2.0.0' }, servers: [{ url: `${s.tg.proxyUrl}/v2/catalog` }] });
    expect((await s.gw('/v1/catalog/openapi.json')).json()).toMatchObject({ info: { version: 'v1.0.0' }, servers: [{ url: `${s.tg.proxyUrl}/v1/catalog` }] });
    // The default version also answers without the prefix.
    expect((await s.gw('/catalog/openapi.json')).json()).toMatchObject({ info: { version: 'v1.0.0' }, servers: [{ url: `${s.tg.proxyUrl}/catalog` }] });
    const before = s.upstream.requests.length;
    expect((await s.gw('/v2/catalog/orders/ord_7')).status).toBe(200);
    expect(s.upstream.requests[before]?.url).toBe('/api/v2/orders/ord_7');
  });
});
