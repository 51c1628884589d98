import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecurityProcess, type SecurityProcess } from './admin-process.js';

const upstream = (inner: string) => `{"apiVersion":"tollgate.dev/v1","kind":"Upstream","metadata":{"name":"dup"},"spec":{"targets":[{"url":"http://127.0.0.1:9"${inner}}]}}`;

// Class 16: a JSON object naming a key twice is refused like YAML refuses it, on every JSON
// endpoint, with a stable code and the key's path; never silently last-wins.
describe('admin: duplicate keys in JSON bodies', () => {
  let p: SecurityProcess;
  beforeAll(async () => {
    p = await startSecurityProcess();
  }, 60_000);
  afterAll(async () => {
    await p?.close();
  });

  async function expectDuplicate(method: string, path: string, body: string, at: string) {
    const res = await p.admin(method, path, body, 'application/json');
    expect(res.status, res.body).toBe(400);
    expect(res.type).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem.code).toBe('INVALID_BODY');
    expect(problem.errors?.[0]).toMatchObject({ code: 'duplicate_key', path: at });
    return problem;
  }

  it('is refused at the top level, nested, in arrays and through escapes', async () => {
    await expectDuplicate('POST', '/config', '{"kind":"Upstream","kind":"Api"}', 'kind');
    await expectDuplicate('POST', '/config', `[${upstream(',"weight":1,"weight":2')}]`, '[0].spec.targets[0].weight');
    // "\u0075rl" is "url": the same name after unescaping.
    await expectDuplicate('POST', '/config', upstream(',"\\u0075rl":"http://evil.example"'), 'spec.targets[0].url');
    await expectDuplicate('POST', '/config?dryRun=true', '{"kind":"List","items":[{"a":1},{"b":1,"c":2,"b":3}]}', 'items[1].b');
  });

  it('is refused on the other JSON endpoints', async () => {
    await expectDuplicate('POST', '/upstreams', upstream(',"url":"http://10.0.0.1"'), 'spec.targets[0].url');
    await expectDuplicate('PUT', '/upstreams/dup', upstream(',"url":"http://10.0.0.1"'), 'spec.targets[0].url');
    await expectDuplicate('POST', '/consumers', '{"metadata":{"name":"a","name":"b"}}', 'metadata.name');
    // A token body with two roles must not silently become the last one.
    await expectDuplicate('POST', '/admin-tokens', '{"name":"t","role":"viewer","role":"admin"}', 'role');
    await expectDuplicate('POST', '/apis/import', '{"document":{"openapi":"3.0.3"},"options":{"name":"a","name":"b"}}', 'options.name');
    expect((await p.admin('GET', '/admin-tokens')).body).not.toContain('"name":"t"');
  });

  it('keeps accepting the same key in different objects, and YAML duplicates stay refused', async () => {
    const res = await p.admin('POST', '/config?dryRun=true', `[${upstream('')}, {"apiVersion":"tollgate.dev/v1","kind":"Upstream","metadata":{"name":"other"},"spec":{"targets":[{"url":"http://127.0.0.1:9"}]}}]`, 'application/json');
    expect(res.status, res.body).toBe(200);
    const yaml = await p.admin('POST', '/config', 'kind: Upstream\nkind: Api\n', 'application/yaml');
    expect(yaml.status).toBe(400);
    expect(yaml.json().errors?.[0]).toMatchObject({ code: 'duplicate_key', line: 2 });
  });
});
