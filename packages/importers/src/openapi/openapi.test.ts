import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jsonDocuments, validateDocuments } from '@tollgate/model';
import { diffRoutes, importOpenApi, kebab, routeName, type OpenApiImportResult } from './index.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/openapi/${name}`, import.meta.url)), 'utf8');
const PETSTORE = fixture('petstore3.yaml');
const ORDERS = fixture('orders31.yaml');

type Route = { name: string; match: Array<{ path: Record<string, string>; methods: string[] }>; rewrite?: { path: string }; timeoutMs?: number; policies?: Array<{ name: string; config: Record<string, unknown> }>; destination?: { upstream: string } };
type Ok = Extract<OpenApiImportResult, { ok: true }>;

async function ok(input: string | Record<string, unknown>, options = {}): Promise<Ok> {
  const r = await importOpenApi(input, options);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r;
}
const routesOf = (r: Ok) => (r.api.spec as { routes: Route[] }).routes;
const minimal = (extra: Record<string, unknown> = {}, paths: Record<string, unknown> = { '/a': { get: { responses: { 200: { description: 'ok' } } } } }) => ({ openapi: '3.0.3', info: { title: 'Mini', version: '1' }, servers: [{ url: 'http://up.internal:8080' }], paths, ...extra });

describe('OpenAPI import: mapping', () => {
  it('maps the Petstore: one route per operation, names from operationIds, literal paths before templates', async () => {
    const r = await ok(PETSTORE, { name: 'petstore', upstream: 'http://10.0.0.5:8080', allowUnprotected: true });
    const routes = routesOf(r);
    expect(routes).toHaveLength(19);
    expect(r.operations).toBe(19);
    expect(routes.map((x) => x.name)).toContain('get-pet-by-id');
    const at = (n: string) => routes.findIndex((x) => x.name === n);
    // /pet/findByStatus must be tried before /pet/{petId} (declared order decides within an Api).
    expect(at('find-pets-by-status')).toBeLessThan(at('get-pet-by-id'));
    expect(routes[at('get-pet-by-id')]?.match).toEqual([{ path: { template: '/pet/{petId}' }, methods: ['GET', 'HEAD'] }]);
    expect(routes[at('delete-pet')]?.match).toEqual([{ path: { template: '/pet/{petId}' }, methods: ['DELETE'] }]);
    expect(routes[at('find-pets-by-status')]?.match[0]?.path).toEqual({ exact: '/pet/findByStatus' });
    // Server "/v3" (relative) + --upstream origin: the gateway mirrors /v3, nothing is rewritten.
    expect(r.upstream?.spec).toEqual({ targets: [{ url: 'http://10.0.0.5:8080' }] });
    expect(r.api.spec).toMatchObject({ basePath: '/v3', stripBasePath: false });
    expect(routes.every((x) => x.rewrite === undefined && x.destination?.upstream === 'petstore')).toBe(true);
    // The model accepts what was generated.
    expect(validateDocuments(jsonDocuments([r.upstream, r.api])).ok).toBe(true);
  });

  it('refuses the Petstore by default: its oauth2-only operations would be served without authentication', async () => {
    const r = await importOpenApi(PETSTORE, { name: 'petstore', upstream: 'http://10.0.0.5:8080' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    // One error per operation whose only requirement is petstore_auth (7), at its security, with its line.
    expect(r.errors.map((e) => `${e.pointer} ${e.code}`).sort()).toEqual(
      ['/paths/~1pet/put/security', '/paths/~1pet/post/security', '/paths/~1pet~1findByStatus/get/security', '/paths/~1pet~1findByTags/get/security', '/paths/~1pet~1{petId}/post/security', '/paths/~1pet~1{petId}/delete/security', '/paths/~1pet~1{petId}~1uploadImage/post/security'].map((p) => `${p} security_not_enforced`).sort(),
    );
    const addPet = r.errors.find((e) => e.pointer === '/paths/~1pet/post/security');
    // (Lines are where the value starts, as for every import error: the first requirement.)
    expect(addPet?.line).toBe(PETSTORE.split('\n').findIndex((l, i, all) => l === '      security:' && all.slice(0, i).some((x) => x.includes('operationId: addPet'))) + 2);
    // It names the operation and the scheme, and both ways out.
    expect(addPet?.message).toContain('POST /pet (addPet)');
    expect(addPet?.message).toContain('"petstore_auth"');
    expect(addPet?.message).toContain('x-tollgate-jwt');
    expect(addPet?.message).toContain('--allow-unprotected (options.allowUnprotected, ?allowUnprotected=true)');
    // getPetById also accepts api_key: enforced with key-auth alone (stricter), no error.
    expect(r.errors.some((e) => e.pointer.startsWith('/paths/~1pet~1{petId}/get'))).toBe(false);
  });

  it('with allowUnprotected, imports the Petstore: apiKey as key-auth, the oauth2-only operations unprotected with a warning each', async () => {
    const r = await ok(PETSTORE, { name: 'petstore', upstream: 'http://10.0.0.5:8080', allowUnprotected: true });
    const byName = new Map(routesOf(r).map((x) => [x.name, x]));
    expect(byName.get('get-pet-by-id')?.policies).toEqual([{ name: 'key-auth', config: { headers: ['api_key'], queryParams: [] } }]);
    expect(byName.get('get-inventory')?.policies).toEqual([{ name: 'key-auth', config: { headers: ['api_key'], queryParams: [] } }]);
    expect(byName.get('add-pet')?.policies).toBeUndefined();
    const codes = r.warnings.map((w) => `${w.pointer} ${w.code}`);
    expect(codes).toContain('/components/securitySchemes/petstore_auth unsupported_security');
    expect(codes).toContain('/paths/~1pet/post/security security_not_enforced');
    expect(codes.filter((c) => c.endsWith(' security_not_enforced'))).toHaveLength(7);
    expect(r.warnings.find((w) => w.pointer === '/paths/~1pet/post/security')?.message).toContain('POST /pet (addPet) is served WITHOUT authentication (allowUnprotected)');
    expect(codes).toContain('/paths/~1pet~1{petId}/get/security security_partial');
    // Warned once per scheme, not per use.
    expect(codes.filter((c) => c.startsWith('/components/securitySchemes/petstore_auth'))).toHaveLength(1);
  });

  it('maps oauth2 with x-tollgate-jwt to jwt-auth with the required scopes, next to key-auth', async () => {
    const jwt = "      x-tollgate-jwt:\n        issuer: https://auth.example.com/\n        algorithms: [RS256]\n        audiences: [petstore]\n        jwksUri: https://auth.example.com/jwks.json\n";
    const doc = PETSTORE.replace("      type: oauth2\n", `      type: oauth2\n${jwt}`);
    const r = await ok(doc, { name: 'petstore', upstream: 'http://10.0.0.5:8080' });
    const byName = new Map(routesOf(r).map((x) => [x.name, x]));
    const issuer = { issuer: 'https://auth.example.com/', algorithms: ['RS256'], audiences: ['petstore'], jwksUri: 'https://auth.example.com/jwks.json' };
    expect(byName.get('add-pet')?.policies).toEqual([{ name: 'jwt-auth', config: { issuers: [issuer], requiredScopes: ['write:pets', 'read:pets'] } }]);
    expect(byName.get('get-pet-by-id')?.policies?.map((p) => p.name)).toEqual(['key-auth', 'jwt-auth']);
    expect(r.warnings).toEqual([]);
    expect(validateDocuments(jsonDocuments([r.upstream, r.api])).ok).toBe(true);
  });

  it('decides request validation per operation: x-tollgate-validate (true, false, { maxBodyBytes }) and --validate', async () => {
    const doc = minimal({ 'x-tollgate-validate': true }, { '/a': { get: { responses: { 200: { description: 'ok' } } }, post: { 'x-tollgate-validate': { maxBodyBytes: 2048 }, responses: { 200: { description: 'ok' } } } }, '/b': { 'x-tollgate-validate': false, get: { responses: { 200: { description: 'ok' } } } } });
    const policies = (r: Ok) => routesOf(r).map((x) => [x.name, (x.policies ?? []).map((p) => `${p.name}${p.config.maxBodyBytes ? `:${String(p.config.maxBodyBytes)}` : ''}`)]);
    expect(policies(await ok(doc, { validate: false }))).toEqual([['get-a', ['request-validation']], ['post-a', ['request-validation:2048']], ['get-b', []]]);
    expect(policies(await ok({ ...doc, 'x-tollgate-validate': false }, { validate: true }))).toEqual([['get-a', ['request-validation']], ['post-a', ['request-validation:2048']], ['get-b', []]]);
    expect(policies(await ok({ ...doc, 'x-tollgate-validate': false }))).toEqual([['get-a', []], ['post-a', ['request-validation:2048']], ['get-b', []]]);
    expect(await importOpenApi({ ...doc, 'x-tollgate-validate': 'yes' })).toMatchObject({ ok: false, errors: [{ pointer: '/x-tollgate-validate', code: 'invalid_extension' }] });
  });

  it('routes to an existing Upstream named by x-tollgate-upstream (none generated)', async () => {
    const r = await ok({ ...minimal({ 'x-tollgate-upstream': 'shared-backend' }), servers: [{ url: '/api' }] }, { upstream: 'http://ignored:1/v9' });
    expect(r.upstream).toBeNull();
    // The gateway serves the document's /api; the upstream gets the path given with the option.
    expect(routesOf(r)[0]).toMatchObject({ destination: { upstream: 'shared-backend' }, rewrite: { path: '/v9/a' } });
    expect(r.api.spec).toMatchObject({ basePath: '/api', stripBasePath: true });
    expect(r.warnings.map((w) => w.code)).toEqual(['upstream_option_ignored']);
  });

  it('warns about x-tollgate-* members where no extension is read', async () => {
    const r = await ok(minimal({ components: { schemas: { A: { type: 'object', 'x-tollgate-timeout-ms': 5 } } } }, { '/a': { get: { responses: { 200: { description: 'ok', 'x-tollgate-route': {} } } } }, '/b': { 'x-tollgate-ignore': true, get: { 'x-tollgate-whatever': 1, responses: { 200: { description: 'ok' } } } } }));
    expect(r.warnings.map((w) => `${w.pointer} ${w.code}`).sort()).toEqual(['/components/schemas/A/x-tollgate-timeout-ms unknown_extension', '/paths/~1a/get/responses/200/x-tollgate-route unknown_extension']);
  });

  it('is deterministic: the same document gives the same resources, and an edit keeps the other route names', async () => {
    const a = await ok(PETSTORE, { name: 'p', upstream: 'http://u:1', allowUnprotected: true });
    const b = await ok(PETSTORE, { name: 'p', upstream: 'http://u:1', allowUnprotected: true });
    expect(JSON.stringify(b.api)).toBe(JSON.stringify(a.api));
    const edited = await ok(PETSTORE.replace('operationId: getInventory', 'operationId: getStock'), { name: 'p', upstream: 'http://u:1', allowUnprotected: true });
    const changes = diffRoutes(routesOf(a), routesOf(edited));
    expect(changes).toEqual({ created: ['get-stock'], updated: [], unchanged: expect.any(Array), deleted: ['get-inventory'] });
    expect(changes.unchanged).toHaveLength(18);
  });

  it('resolves server variables, rewrites to the server path under another base path, and uses regex for odd parameter names', async () => {
    const r = await ok(ORDERS, { validate: true, basePath: '/shop' });
    expect(r.api.metadata.name).toBe('orders');
    expect(r.upstream?.spec).toEqual({ targets: [{ url: 'https://prod.orders.example.com' }] });
    expect(r.api.spec).toMatchObject({ basePath: '/shop', stripBasePath: true });
    const byName = new Map(routesOf(r).map((x) => [x.name, x]));
    expect(byName.get('get-order')?.rewrite).toEqual({ path: '/api/v2/orders/{orderId}' });
    expect(byName.get('get-order-item')?.match[0]?.path).toEqual({ regex: '/orders/(?P<orderId>[^/]+)/items/(?P<item_no>[^/]+)' });
    expect(byName.get('get-order-item')?.rewrite).toEqual({ path: '/api/v2/orders/{orderId}/items/{item_no}' });
    expect(byName.get('create-order')?.timeoutMs).toBe(5000);
    // The bearer scheme with x-tollgate-jwt becomes jwt-auth; request validation follows auth.
    expect(byName.get('cancel-order')?.policies?.map((p) => p.name)).toEqual(['jwt-auth', 'request-validation']);
    expect(byName.get('cancel-order')?.policies?.[0]?.config).toMatchObject({ issuers: [{ issuer: 'https://id.example.com/', algorithms: ['HS256'], audiences: ['orders'] }] });
    expect(r.warnings).toEqual([]);
    expect(validateDocuments(jsonDocuments([r.upstream, r.api])).ok).toBe(true);
  });

  it('writes request schemas as standalone JSON Schema 2020-12 (refs into $defs, 3.0 nullable and exclusive bounds, readOnly not required)', async () => {
    const doc = minimal(
      { components: { schemas: { Node: { type: 'object', required: ['id', 'name'], properties: { id: { type: 'integer', readOnly: true }, name: { type: 'string', nullable: true, example: 'x' }, size: { type: 'number', minimum: 0, exclusiveMinimum: true }, next: { $ref: '#/components/schemas/Node' } } } } } },
      { '/nodes': { post: { operationId: 'addNode', requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } } }, responses: { 200: { description: 'ok' } } } } },
    );
    const r = await ok(doc, { validate: true });
    const cfg = routesOf(r)[0]?.policies?.[0]?.config as { body: { required: boolean; content: Record<string, { schema: unknown }> } };
    expect(cfg.body.required).toBe(true);
    expect(cfg.body.content['application/json']?.schema).toEqual({
      $ref: '#/$defs/components.schemas.Node',
      $defs: {
        'components.schemas.Node': {
          type: 'object',
          required: ['name'],
          properties: { id: { type: 'integer', readOnly: true }, name: { type: ['string', 'null'] }, size: { type: 'number', exclusiveMinimum: 0 }, next: { $ref: '#/$defs/components.schemas.Node' } },
        },
      },
    });
  });

  it('applies x-tollgate-* extensions at document, path and operation level', async () => {
    const doc = minimal(
      {
        'x-tollgate-api': { name: 'mini-api', hosts: ['api.example.com'], priority: 5 },
        'x-tollgate-upstream': { loadBalancing: 'least-requests' },
        'x-tollgate-policies': [{ name: 'cors', config: {} }],
        'x-tollgate-route': { retries: { attempts: 2 } },
        'x-tollgate-publish': false,
      },
      {
        '/a': { 'x-tollgate-timeout-ms': 700, get: { operationId: 'getA', 'x-tollgate-route-name': 'read-a', 'x-tollgate-policies': [{ name: 'rate-limit', config: { limits: [] } }], responses: { 200: { description: 'ok' } } } },
        '/b': { get: { 'x-tollgate-upstream': 'other', 'x-tollgate-timeout-ms': 100, responses: { 200: { description: 'ok' } } }, delete: { 'x-tollgate-ignore': true, responses: { 200: { description: 'ok' } } } },
        '/c': { 'x-tollgate-ignore': true, get: { responses: { 200: { description: 'ok' } } } },
      },
    );
    const r = await ok(doc);
    expect(r.api.metadata.name).toBe('mini-api');
    expect(r.api.spec).toMatchObject({ hosts: ['api.example.com'], priority: 5, policies: [{ name: 'cors', config: {} }] });
    expect((r.api.spec as Record<string, unknown>).openapi).toBeUndefined();
    expect(r.upstream?.spec).toEqual({ targets: [{ url: 'http://up.internal:8080' }], loadBalancing: 'least-requests' });
    const routes = routesOf(r);
    expect(routes.map((x) => x.name)).toEqual(['read-a', 'get-b']);
    expect(routes[0]).toMatchObject({ timeoutMs: 700, retries: { attempts: 2 }, policies: [{ name: 'rate-limit' }], destination: { upstream: 'mini-api' } });
    expect(routes[1]).toMatchObject({ timeoutMs: 100, destination: { upstream: 'other' } });
  });

  it('warns about unknown extensions, extra servers, cookie keys and webhooks; strict turns warnings into errors', async () => {
    const doc = {
      ...minimal({ 'x-tollgate-bogus': 1, servers: [{ url: 'http://a:1' }, { url: 'http://b:1' }], security: [{ cookieKey: [] }], components: { securitySchemes: { cookieKey: { type: 'apiKey', in: 'cookie', name: 'sid' } } } }),
      openapi: '3.1.0',
      webhooks: { ping: { post: { responses: { 200: { description: 'ok' } } } } },
    };
    const lenient = await ok(doc, { allowUnprotected: true });
    expect(lenient.warnings.map((w) => `${w.pointer} ${w.code}`).sort()).toEqual(
      ['/x-tollgate-bogus unknown_extension', '/servers/1 extra_servers', '/components/securitySchemes/cookieKey/in unsupported_security', '/paths/~1a/get security_not_enforced', '/webhooks webhooks_not_routed'].sort(),
    );
    const strict = await importOpenApi(doc, { strict: true, allowUnprotected: true });
    expect(strict.ok).toBe(false);
    if (!strict.ok) expect(strict.errors.map((e) => e.pointer)).toContain('/x-tollgate-bogus');
  });

  it('publishes the document without x-tollgate-* members and upstream servers', async () => {
    const r = await ok(minimal({ 'x-tollgate-api': { name: 'pub' } }, { '/a': { servers: [{ url: 'http://inner' }], get: { responses: { 200: { description: 'ok' } } } } }));
    const published = (r.api.spec as { openapi: { path: string; document: Record<string, unknown> } }).openapi;
    expect(published.path).toBe('/openapi.json');
    expect(published.document.servers).toBeUndefined();
    expect(published.document['x-tollgate-api']).toBeUndefined();
    expect(published.document.paths).toEqual({ '/a': { get: { responses: { 200: { description: 'ok' } } } } });
    expect(r.warnings.map((w) => w.code)).toEqual(['path_servers']);
  });
});

describe('OpenAPI import: refusals', () => {
  it('refuses what cannot be imported, with JSON pointers and lines', async () => {
    const invalid = await importOpenApi('openapi: 3.0.3\ninfo:\n  title: x\npaths: {}\n');
    expect(invalid).toMatchObject({ ok: false, errors: [{ pointer: '/info', code: 'invalid_openapi', line: 3 }] });
    expect(invalid).toMatchObject({ errors: [{ message: '"info.version" is required and must be a string' }] });
    // Missing required top-level members get a plain message, not the validator's "[object Object] is not valid".
    expect(await importOpenApi('openapi: 3.0.0\ninfo: {title: x}\n')).toMatchObject({ ok: false, errors: [{ pointer: '/info' }, { pointer: '/paths', message: 'an OpenAPI 3.0 document needs a "paths" object (it may be empty)' }] });
    expect(await importOpenApi('openapi: 3.1.0\ninfo: {title: x, version: "1"}\n')).toMatchObject({ ok: false, errors: [{ pointer: '/paths', code: 'invalid_openapi' }] });
    expect(await importOpenApi('openapi: 3.0.0\npaths: {}\n')).toMatchObject({ ok: false, errors: [{ pointer: '/info', message: 'the document needs an "info" object with "title" and "version"' }] });
    expect(await importOpenApi({ swagger: '2.0' })).toMatchObject({ ok: false, errors: [{ pointer: '/swagger', code: 'unsupported_version' }] });
    expect(await importOpenApi('openapi: [\n')).toMatchObject({ ok: false, errors: [{ code: 'invalid_syntax' }] });
    // External references would make the importer read files or fetch URLs: refused.
    const external = await importOpenApi(minimal({}, { '/a': { $ref: './paths.yaml#/a' } }));
    expect(external).toMatchObject({ ok: false, errors: [{ pointer: '/paths/~1a/$ref', code: 'external_ref' }] });
    const missingRef = await importOpenApi(minimal({}, { '/a': { get: { responses: { 200: { $ref: '#/components/responses/nope' } } } } }));
    expect(missingRef.ok).toBe(false);
    // A relative server needs an upstream.
    const relative = await importOpenApi({ ...minimal(), servers: [{ url: '/v1' }] });
    expect(relative).toMatchObject({ ok: false, errors: [{ pointer: '/servers/0/url', code: 'no_upstream' }] });
    expect(await importOpenApi({ ...minimal(), servers: [{ url: 'http://{host}/' }] })).toMatchObject({ ok: false, errors: [{ pointer: '/servers/0/variables/host', code: 'unknown_server_variable' }] });
    expect(await importOpenApi(minimal(), { upstream: 'ftp://x' })).toMatchObject({ ok: false, errors: [{ code: 'invalid_option' }] });
    // An invalid generated value points back at its operation.
    const badName = await importOpenApi(minimal({}, { '/a': { get: { 'x-tollgate-route-name': 'Not Valid', responses: { 200: { description: 'ok' } } } } }));
    expect(badName).toMatchObject({ ok: false, errors: [{ pointer: '/paths/~1a/get' }] });
  });
});

describe('OpenAPI import: names', () => {
  it('derives resource names', () => {
    expect(kebab('getPetById')).toBe('get-pet-by-id');
    expect(kebab('Swagger Petstore - OpenAPI 3.0')).toBe('swagger-petstore-open-api-3.0');
    expect(kebab('HTTPServer_list')).toBe('http-server-list');
    expect(routeName(undefined, 'get', '/pets/{petId}')).toBe('get-pets-pet-id');
    expect(routeName(undefined, 'get', '/')).toBe('get-root');
    expect(routeName('__', 'post', '/x')).toBe('post-x');
  });
});

describe('OpenAPI import: security fails closed', () => {
  const ISSUER = { issuer: 'https://id.example.com/', algorithms: ['RS256'], audiences: ['a'], jwksUri: 'https://id.example.com/jwks.json' };
  const SCHEMES = {
    key: { type: 'apiKey', in: 'header', name: 'X-Key' },
    queryKey: { type: 'apiKey', in: 'query', name: 'k' },
    bearer: { type: 'http', scheme: 'bearer', 'x-tollgate-jwt': ISSUER },
    oauth: { type: 'oauth2', flows: { clientCredentials: { tokenUrl: 'https://id.example.com/token', scopes: { read: 'r', write: 'w' } } }, 'x-tollgate-jwt': ISSUER },
    plainOauth: { type: 'oauth2', flows: { clientCredentials: { tokenUrl: 'https://id.example.com/token', scopes: { read: 'r' } } } },
    oidc: { type: 'openIdConnect', openIdConnectUrl: 'https://id.example.com/.well-known/openid-configuration' },
    plainBearer: { type: 'http', scheme: 'bearer' },
    basic: { type: 'http', scheme: 'basic' },
    cookie: { type: 'apiKey', in: 'cookie', name: 'sid' },
    mtls: { type: 'mutualTLS' },
  };
  /** A 3.1 document (mutualTLS and role names are 3.1) with one operation requiring `security`. */
  const doc = (security: unknown, op: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    ...minimal({ components: { securitySchemes: SCHEMES }, ...extra }, { '/a': { get: { operationId: 'getA', ...(security !== undefined ? { security } : {}), ...op, responses: { 200: { description: 'ok' } } } } }),
    openapi: '3.1.0',
  });
  const errorsOf = async (input: Record<string, unknown>, options = {}) => {
    const r = await importOpenApi(input, options);
    if (r.ok) throw new Error(`imported: ${JSON.stringify(routesOf(r))}`);
    return r.errors;
  };
  const policyNames = (r: Ok) => (routesOf(r)[0]?.policies ?? []).map((p) => p.name);

  it.each([
    ['plainOauth', 'needs x-tollgate-jwt'],
    ['oidc', 'needs x-tollgate-jwt'],
    ['plainBearer', 'needs x-tollgate-jwt'],
    ['basic', 'of type "http" (basic) is not supported'],
    ['cookie', 'API keys in a cookie'],
    ['mtls', 'type "mutualTLS" is not supported'],
    ['undeclared', 'security scheme "undeclared" is not defined'],
  ])('refuses an operation that requires only %s (422 material), and serves it unprotected only under allowUnprotected', async (scheme, reason) => {
    const errors = await errorsOf(doc([{ [scheme]: [] }]));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ pointer: '/paths/~1a/get/security', code: 'security_not_enforced' });
    expect(errors[0]?.message).toContain('GET /a (getA)');
    expect(errors[0]?.message).toContain(reason);
    expect(errors[0]?.message).toContain('allowUnprotected');
    const r = await ok(doc([{ [scheme]: [] }]), { allowUnprotected: true });
    expect(routesOf(r)[0]?.policies).toBeUndefined();
    expect(r.warnings.find((w) => w.code === 'security_not_enforced')).toMatchObject({ pointer: '/paths/~1a/get/security', message: expect.stringContaining('served WITHOUT authentication (allowUnprotected)') });
  });

  it('points an inherited requirement at the operation, with its line', async () => {
    const yaml = [
      'openapi: 3.0.3',
      'info: { title: Mini, version: "1" }',
      'servers: [{ url: "http://up.internal:8080" }]',
      'security: [{ basic: [] }]',
      'components: { securitySchemes: { basic: { type: http, scheme: basic } } }',
      'paths:',
      '  /a:',
      '    get:',
      '      responses: { "200": { description: ok } }',
      '',
    ].join('\n');
    const r = await importOpenApi(yaml);
    expect(r).toMatchObject({ ok: false, errors: [{ pointer: '/paths/~1a/get', code: 'security_not_enforced', line: 9, message: expect.stringContaining('GET /a: its security requirement (inherited from /security) cannot be enforced') }] });
  });

  it('enforces a scheme the document can map; an unmappable alternative next to it is left out (stricter), not an error', async () => {
    const r = await ok(doc([{ key: [] }, { basic: [] }]));
    expect(routesOf(r)[0]?.policies).toEqual([{ name: 'key-auth', config: { headers: ['x-key'], queryParams: [] } }]);
    expect(r.warnings.find((w) => w.code === 'security_partial')?.message).toContain('callers must use key');
  });

  it('enforces an API key and a token required together (AND) with auth mode all', async () => {
    const r = await ok(doc([{ key: [], oauth: ['read'] }]));
    const route = routesOf(r)[0] as Record<string, unknown>;
    expect(route.auth).toEqual({ mode: 'all' });
    expect(route.policies).toEqual([
      { name: 'key-auth', config: { headers: ['x-key'], queryParams: [] } },
      { name: 'jwt-auth', config: { issuers: [ISSUER], requiredScopes: ['read'] } },
    ]);
    expect(r.warnings.map((w) => w.code)).not.toContain('security_weakened');
    // Inherited from the document's security too; a single-scheme requirement stays mode any.
    const inherited = await ok(doc(undefined, {}, { security: [{ bearer: [], key: [] }] }));
    expect((routesOf(inherited)[0] as Record<string, unknown>).auth).toEqual({ mode: 'all' });
    expect((routesOf(await ok(doc([{ key: [] }])))[0] as Record<string, unknown>).auth).toBeUndefined();
  });

  it('still refuses what one route cannot require together: two API keys, two tokens, an unmappable scheme', async () => {
    const twoKeys = await errorsOf(doc([{ key: [], queryKey: [] }]));
    expect(twoKeys).toMatchObject([{ pointer: '/paths/~1a/get/security', code: 'security_not_enforced' }]);
    expect(twoKeys[0]?.message).toContain('"key" and "queryKey" are required together');
    expect(twoKeys[0]?.message).toContain('two API keys cannot both be required');
    expect((await errorsOf(doc([{ bearer: [], oauth: [] }])))[0]?.message).toContain('two tokens cannot both be required');
    // Opted in: each scheme is accepted alone (weaker), said loudly.
    const weak = await ok(doc([{ key: [], queryKey: [] }]), { allowUnprotected: true });
    expect(policyNames(weak)).toEqual(['key-auth']);
    expect((routesOf(weak)[0] as Record<string, unknown>).auth).toBeUndefined();
    expect(weak.warnings.find((w) => w.code === 'security_weakened')?.message).toContain('WEAKER authentication');
    // An AND with an unmappable scheme: refused too; opted in, what can be checked is.
    expect(await errorsOf(doc([{ key: [], basic: [] }]))).toMatchObject([{ code: 'security_not_enforced' }]);
    expect(policyNames(await ok(doc([{ key: [], basic: [] }]), { allowUnprotected: true }))).toEqual(['key-auth']);
  });

  it('alternatives needing different modes: a single scheme wins (stricter); two different pairs are refused', async () => {
    // key OR (key AND bearer): mode any with key-auth enforces it exactly (the pair implies the key).
    const withKey = await ok(doc([{ key: [], bearer: [] }, { key: [] }]));
    expect(policyNames(withKey)).toEqual(['key-auth']);
    expect((routesOf(withKey)[0] as Record<string, unknown>).auth).toBeUndefined();
    expect(withKey.warnings.find((w) => w.code === 'security_partial')?.message).toContain('one route cannot accept a single credential for some alternatives and require two for another');
    // (key AND bearer) OR (queryKey AND oauth): mode all would accept key with oauth: refused.
    const pairs = await errorsOf(doc([{ key: [], bearer: [] }, { queryKey: [], oauth: [] }]));
    expect(pairs).toMatchObject([{ code: 'security_not_enforced' }]);
    expect(pairs[0]?.message).toContain('several pairs of schemes required together cannot be enforced on one route');
  });

  it('refuses role names it does not check (apiKey, bearer), and keeps oauth2 scopes as requiredScopes', async () => {
    const errors = await errorsOf(doc([{ key: ['admin'] }]));
    expect(errors[0]?.message).toContain('the role names of "key" (admin) are not checked by key-auth');
    const weak = await ok(doc([{ key: ['admin'] }]), { allowUnprotected: true });
    expect(policyNames(weak)).toEqual(['key-auth']);
    expect(weak.warnings.map((w) => w.code)).toContain('security_weakened');
    expect(await errorsOf(doc([{ bearer: ['admin'] }]))).toMatchObject([{ code: 'security_not_enforced' }]);
    const scoped = await ok(doc([{ oauth: ['read'] }]));
    expect(routesOf(scoped)[0]?.policies).toEqual([{ name: 'jwt-auth', config: { issuers: [ISSUER], requiredScopes: ['read'] } }]);
    expect(scoped.warnings).toEqual([]);
  });

  it('requires every scope when token alternatives ask for different ones (stricter, never the intersection)', async () => {
    const r = await ok(doc([{ oauth: ['read'] }, { oauth: ['write'] }]));
    expect(routesOf(r)[0]?.policies?.[0]?.config.requiredScopes).toEqual(['read', 'write']);
    expect(r.warnings.map((w) => `${w.pointer} ${w.code}`)).toEqual(['/paths/~1a/get/security security_scopes']);
  });

  it('keeps an optional requirement ({}) unauthenticated, as the document says, with a warning', async () => {
    const r = await ok(doc([{ basic: [] }, {}]));
    expect(routesOf(r)[0]?.policies).toBeUndefined();
    expect(r.warnings.map((w) => w.code)).toContain('optional_security');
    expect(r.warnings.map((w) => w.code)).not.toContain('security_not_enforced');
  });

  it('accepts authentication the operator attached with x-tollgate-policies instead of the unmapped scheme', async () => {
    const keyAuth = { name: 'key-auth', config: { headers: ['x-key'] } };
    const atOp = await ok(doc([{ basic: [] }], { 'x-tollgate-policies': [keyAuth] }));
    expect(policyNames(atOp)).toEqual(['key-auth']);
    expect(atOp.warnings.find((w) => w.code === 'security_by_policies')).toMatchObject({ pointer: '/paths/~1a/get/security', message: expect.stringContaining('authenticates with key-auth') });
    const atApi = await ok(doc([{ basic: [] }], {}, { 'x-tollgate-policies': [keyAuth] }));
    expect(atApi.api.spec).toMatchObject({ policies: [keyAuth] });
    expect(atApi.warnings.map((w) => w.code)).toContain('security_by_policies');
    // Policies that admit requests without a credential, or are switched off, do not count.
    expect(await errorsOf(doc([{ basic: [] }], { 'x-tollgate-policies': [{ name: 'jwt-auth', config: { issuers: [ISSUER], optional: true } }] }))).toMatchObject([{ code: 'security_not_enforced' }]);
    expect(await errorsOf(doc([{ basic: [] }], { 'x-tollgate-policies': [{ ...keyAuth, enabled: false }] }, { 'x-tollgate-policies': [keyAuth] }))).toMatchObject([{ code: 'security_not_enforced' }]);
    expect(await errorsOf(doc([{ basic: [] }], { 'x-tollgate-policies': [{ name: 'rate-limit', config: { limits: [] } }] }))).toMatchObject([{ code: 'security_not_enforced' }]);
  });

  it('strict still refuses what allowUnprotected lets through', async () => {
    const r = await importOpenApi(doc([{ basic: [] }]), { allowUnprotected: true, strict: true });
    expect(r).toMatchObject({ ok: false });
    if (!r.ok) expect(r.errors.map((e) => e.code)).toContain('security_not_enforced');
  });
});
