import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecurityProcess, type SecurityProcess } from './admin-process.js';

/** A YAML "billion laughs": 9^7 strings from a 400-byte document, if the aliases were expanded. */
const BILLION_LAUGHS = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefg'.split('').map((k, i) => {
    const prev = 'abcdefg'[i] as string;
    return `${k}: &${k} [${Array(9).fill(`*${prev}`).join(',')}]`;
  }),
].join('\n');

/** The same expansion through a mapping merge key and nested anchors inside a resource. */
const LAUGHS_IN_RESOURCE = `apiVersion: tollgate.dev/v1
kind: Upstream
metadata:
  name: bomb
  labels: &l0 {a: x, b: x, c: x, d: x}
spec:
  targets: &t1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]
  x2: &t2 [*t1, *t1, *t1, *t1, *t1, *t1, *t1, *t1, *t1, *t1]
  x3: &t3 [*t2, *t2, *t2, *t2, *t2, *t2, *t2, *t2, *t2, *t2]
  x4: [*t3, *t3, *t3, *t3, *t3, *t3, *t3, *t3, *t3, *t3]
`;

// Class 15 (admin half): bad input at the admin is answered 4xx problem+json, never 500, and the
// process survives it (a deep enough document used to abort it inside V8's regexp compiler).
describe('admin: hostile and malformed documents are 4xx problems', () => {
  let p: SecurityProcess;
  beforeAll(async () => {
    p = await startSecurityProcess();
  }, 60_000);
  afterAll(async () => {
    await p?.close();
  });

  async function expect4xx(method: string, path: string, body: string | undefined, contentType: string | undefined, status: number, code: string) {
    const res = await p.admin(method, path, body, contentType);
    expect(res.status, res.body).toBe(status);
    expect(res.type).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem.code).toBe(code);
    expect(res.body).not.toMatch(/\n\s+at /);
    return problem;
  }

  it('a billion-laughs YAML (plain and inside a resource) is 400, not 500', async () => {
    for (const path of ['/config', '/config?dryRun=true', '/upstreams']) {
      const problem = await expect4xx('POST', path, BILLION_LAUGHS, 'application/yaml', 400, 'INVALID_BODY');
      expect(problem.errors?.[0]?.code, path).toBe('too_many_aliases');
    }
    // The OpenAPI importer reports unreadable documents as 422 invalid_syntax (its own convention).
    const imported = await expect4xx('POST', '/apis/import', BILLION_LAUGHS, 'application/yaml', 422, 'INVALID_CONFIG');
    expect(imported.detail).toContain('alias');
    const problem = await expect4xx('POST', '/config', LAUGHS_IN_RESOURCE, 'application/yaml', 400, 'INVALID_BODY');
    expect(problem.errors?.[0]).toMatchObject({ code: 'too_many_aliases', document: 0 });
  });

  it('deeply nested YAML (flow, block, mixed) is 400 too_deep and the process keeps serving', async () => {
    const shapes = ['['.repeat(100_000), `${'- '.repeat(20_000)}x`, `a: ${'{b: '.repeat(5_000)}1${'}'.repeat(5_000)}`, `${'['.repeat(200)}1${']'.repeat(200)}`];
    for (const body of shapes) {
      const problem = await expect4xx('POST', '/config', body, 'application/yaml', 400, 'INVALID_BODY');
      expect(problem.errors?.[0]?.code).toBe('too_deep');
    }
    // The OpenAPI importer reads YAML through the same parser.
    const imported = await expect4xx('POST', '/apis/import', '['.repeat(50_000), 'application/yaml', 422, 'INVALID_CONFIG');
    expect(imported.detail).toContain('nested deeper than');
    expect(p.tg.child.exitCode).toBeNull();
    expect((await p.admin('GET', '/config')).status).toBe(200);
  });

  it('deeply nested JSON is 400 too_deep on every JSON endpoint', async () => {
    const deepArray = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    for (const [method, path] of [['POST', '/config'], ['POST', '/upstreams'], ['PUT', '/upstreams/x'], ['POST', '/consumers'], ['POST', '/admin-tokens'], ['POST', '/apis/import']] as const) {
      for (const body of [deepArray, deepObject]) {
        const problem = await expect4xx(method, path, body, 'application/json', 400, 'INVALID_BODY');
        expect(problem.errors?.[0]?.code, `${method} ${path}`).toBe('too_deep');
      }
    }
    expect(p.tg.child.exitCode).toBeNull();
  });

  it('malformed bodies and requests on several endpoints are 4xx problems', async () => {
    const cases: Array<[string, string, string | undefined, string | undefined, number, string]> = [
      ['POST', '/config', '{bad', 'application/json', 400, 'INVALID_BODY'],
      ['POST', '/config', '', 'application/json', 400, 'INVALID_BODY'],
      ['POST', '/config', '{"__proto__":{"x":1}}', 'application/json', 400, 'INVALID_BODY'],
      ['POST', '/config', 'a: [unclosed', 'application/yaml', 400, 'INVALID_BODY'],
      ['POST', '/config', 'a: !!js/function "x"', 'application/yaml', 422, 'INVALID_CONFIG'],
      ['POST', '/config', '"just a string"', 'application/json', 422, 'INVALID_CONFIG'],
      ['POST', '/config', '[null, 1, "x"]', 'application/json', 422, 'INVALID_CONFIG'],
      ['POST', '/config', 'hello', 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['POST', '/upstreams', '[]', 'application/json', 400, 'INVALID_BODY'],
      ['POST', '/admin-tokens', '[1]', 'application/json', 400, 'INVALID_REQUEST'],
      ['POST', '/admin-tokens', 'name: x', 'application/yaml', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['GET', '/upstreams/%E0%A4%A', undefined, undefined, 400, 'INVALID_REQUEST'],
      ['DELETE', '/consumers/%ZZ', undefined, undefined, 400, 'INVALID_REQUEST'],
      ['GET', '/upstreams?limit=abc', undefined, undefined, 400, 'INVALID_REQUEST'],
      ['GET', '/reports/billing?month=2020-13', undefined, undefined, 400, 'INVALID_REQUEST'],
    ];
    for (const [method, path, body, type, status, code] of cases) await expect4xx(method, path, body, type, status, code);
  });
});
