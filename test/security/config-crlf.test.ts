import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminHarness, type AdminHarness } from '../admin/harness.js';

// Issue #14, class 14: a config literal that ends up in a header or a request line and holds CR,
// LF, NUL or another character that is no field value (RFC 9110 §5.5) / URL path character
// (RFC 3986) would fail every request (or split the header). It is refused at apply: 422
// problem+json naming the field, and nothing is stored.

let h: AdminHarness;

beforeAll(async () => {
  h = await startAdminHarness('pglite');
});
afterAll(async () => {
  await h.close();
});

const UPSTREAM = '---\napiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: svc }\nspec: { targets: [{ url: "http://127.0.0.1:9001" }] }\n';
/** An Api with one route; `route` is the route's extra fields (YAML flow), `spec` extra spec lines. */
const api = (route: string, spec = '') => `${UPSTREAM}---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: svc }\nspec:\n${spec}  routes: [{ name: r, ${route} }]\n`;
const consumer = (spec: string) => `---\napiVersion: tollgate.dev/v1\nkind: Consumer\nmetadata: { name: acme }\nspec: ${spec}\n`;
const policy = (name: string, config: string) => `destination: { upstream: svc }, policies: [{ name: ${name}, config: ${config} }]`;

async function refused(yaml: string): Promise<Array<{ path: string; message: string }>> {
  const before = await h.exportYaml();
  const res = await h.applyYaml(yaml);
  // A NUL (YAML's "\0") is refused where the body is read, before validation: 400 INVALID_BODY
  // naming the same field (no text field may hold one, docs/security.md); other bad values are
  // refused by validation, 422 INVALID_CONFIG.
  expect(res.statusCode).toBe(yaml.includes('\\0') ? 400 : 422);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(await h.exportYaml()).toBe(before);
  return (res.json() as { errors: Array<{ path: string; message: string }> }).errors;
}

// YAML double-quoted escapes: \r, \n, \0, \x01, \x7f reach the model as those characters.
const BAD_VALUES = ['a\\r\\nX-Injected: yes', 'a\\nb', 'a\\rb', 'a\\0b', 'a\\x01b', 'a\\x7fb', '\\u20ac'];

describe('header values in config must be RFC 9110 field values', () => {
  it.each(BAD_VALUES)('request-transformer header set / add literal %s', async (bad) => {
    expect(await refused(api(policy('request-transformer', `{ headers: { set: { x-a: "${bad}" } } }`)))).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].policies[0].config.headers.set.x-a', message: expect.stringMatching(bad.includes('\\0') ? /U\+0000/ : /field value/) }));
    expect(await refused(api(policy('request-transformer', `{ headers: { add: { x-a: "pre {consumer.name} ${bad}" } } }`)))).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].policies[0].config.headers.add.x-a' }));
  });

  it.each(BAD_VALUES)('response-transformer header literal %s', async (bad) => {
    expect(await refused(api(policy('response-transformer', `{ headers: { set: { x-a: "${bad}" } } }`)))).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].policies[0].config.headers.set.x-a' }));
  });

  it('transformer header names must be RFC 9110 tokens', async () => {
    expect(await refused(api(policy('response-transformer', '{ headers: { set: { "x a": "v" } } }')))).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].policies[0].config.headers.set.x a' }));
    expect(await refused(api(policy('request-transformer', '{ headers: { rename: [{ from: "a", to: "b\\r\\nc" }] } }')))).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].policies[0].config.headers.rename[0].to' }));
  });

  it.each(BAD_VALUES)('route header changes %s', async (bad) => {
    expect(await refused(api(`destination: { upstream: svc }, headers: { response: { add: { x-a: "${bad}" } } }`))).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].headers.response.add.x-a' }));
  });

  it.each(['a\\x01b', 'a\\x7fb', 'a\\tb\\x0bc'])('aggregate backend header literal %s', async (bad) => {
    expect(await refused(api(`aggregate: { backends: [{ name: one, upstream: svc, path: /one, headers: { x-a: "${bad}" } }] }`))).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].aggregate.backends[0].headers.x-a' }));
  });

  it.each(BAD_VALUES)('consumer customId and groups (sent in X-Consumer-*) %s', async (bad) => {
    expect(await refused(consumer(`{ customId: "${bad}" }`))).toContainEqual(expect.objectContaining({ path: 'spec.customId' }));
    expect(await refused(consumer(`{ groups: [ok, "${bad}"] }`))).toContainEqual(expect.objectContaining({ path: 'spec.groups[1]' }));
  });

  it('key-auth realm (in WWW-Authenticate) and lifecycle link (in Link)', async () => {
    expect(await refused(api(policy('key-auth', '{ realm: "a\\r\\nX: y" }')))).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].policies[0].config.realm' }));
    expect(await refused(api('destination: { upstream: svc }', '  lifecycle: { state: deprecated, deprecatedAt: "2026-01-01T00:00:00Z", link: "https://docs.test/a\\r\\nX-Injected: yes" }\n'))).toContainEqual(expect.objectContaining({ path: 'spec.lifecycle.link' }));
    expect(await refused(api('destination: { upstream: svc }', '  lifecycle: { state: deprecated, deprecatedAt: "2026-01-01T00:00:00Z", link: \'https://docs.test/a>; rel="successor-version"\' }\n'))).toContainEqual(expect.objectContaining({ path: 'spec.lifecycle.link' }));
  });
});

describe('paths sent in a request line or Location must be URL path characters', () => {
  it.each(['/a\\r\\nb', '/a\\nb', '/a b', '/a\\x01', '/caf\\u00e9'])('redirect.path, rewrite.prefix, rewrite.regex.substitution and basePath %s', async (bad) => {
    expect(await refused(api(`redirect: { path: "${bad}" }`))).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].redirect.path' }));
    expect(await refused(api(`destination: { upstream: svc }, rewrite: { prefix: "${bad}" }`))).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].rewrite.prefix' }));
    expect(await refused(api(`match: [{ path: { regex: "^/v1/(.*)$" } }], destination: { upstream: svc }, rewrite: { regex: { pattern: "^/v1/(.*)$", substitution: "${bad}\\\\1" } }`))).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].rewrite.regex.substitution' }));
    expect(await refused(api('destination: { upstream: svc }', `  basePath: "${bad}"\n`))).toContainEqual(expect.objectContaining({ path: 'spec.basePath' }));
  });

  it.each(['a\\r\\nb.test', 'a b'])('redirect.host %s', async (bad) => {
    expect(await refused(api(`redirect: { host: "${bad}" }`))).toContainEqual(expect.objectContaining({ path: 'spec.routes[0].redirect.host' }));
  });

  it.each(['/h\\0', '/h\\x01', '/h\\x7f'])('upstream active health-check path %s', async (bad) => {
    const yaml = `---\napiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: svc }\nspec: { targets: [{ url: "http://127.0.0.1:9001" }], healthChecks: { active: { path: "${bad}" } } }\n`;
    expect(await refused(yaml)).toContainEqual(expect.objectContaining({ path: 'spec.healthChecks.active.path' }));
  });

  it('valid literals are accepted', async () => {
    const res = await h.applyYaml(
      api(`match: [{ path: { regex: "^/v1/(.*)$" } }], destination: { upstream: svc }, rewrite: { regex: { pattern: "^/v1/(.*)$", substitution: "/v2/\\\\1" } }, headers: { request: { set: { x-a: "caf\\u00e9 \\t v" } } }, policies: [{ name: request-transformer, config: { headers: { set: { x-b: "id={query.id}; x" } } } }]`, '  basePath: /api\n') +
        consumer('{ customId: "cust 42", groups: [staff] }'),
    );
    expect(res.statusCode).toBe(200);
  });
});
