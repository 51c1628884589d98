import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiJson, apiYaml, BACKENDS, startAdminHarness, stream, upstreamJson, upstreamYaml, type AdminHarness } from './harness.js';
import { expectProblem } from './problem-assertions.js';

describe.each(BACKENDS)('admin API errors (%s)', (backend) => {
  let h: AdminHarness;
  let baseline: string;
  beforeAll(async () => {
    h = await startAdminHarness(backend);
    const res = await h.applyYaml(stream(upstreamYaml('base-svc'), apiYaml('base', 'base-svc')));
    expect(res.statusCode).toBe(200);
    baseline = await h.exportYaml();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Every rejected apply must leave the stored configuration exactly as it was. */
  async function expectUnchanged() {
    expect(await h.exportYaml()).toBe(baseline);
  }

  it('invalid YAML is 400 INVALID_BODY with the line', async () => {
    const yaml = `${upstreamYaml('ok')}---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata:\n  name: [unclosed\n`;
    const body = expectProblem(await h.applyYaml(yaml), 400, 'INVALID_BODY', '/config');
    expect(body.errors?.[0]).toMatchObject({ document: 1, code: 'invalid_yaml' });
    expect(body.errors?.[0]?.line).toBeGreaterThanOrEqual(12);
    await expectUnchanged();
  });

  it('an unknown kind is 422 naming the document and the field', async () => {
    const yaml = stream(upstreamYaml('ok'), 'apiVersion: tollgate.dev/v1\nkind: Gizmo\nmetadata:\n  name: g\nspec: {}\n');
    const body = expectProblem(await h.applyYaml(yaml), 422, 'INVALID_CONFIG');
    expect(body.errors).toEqual([expect.objectContaining({ document: 1, path: 'kind', code: 'unknown_kind', line: 11 })]);
    await expectUnchanged();
  });

  it('an unknown field is 422 with its path and line', async () => {
    const yaml = stream(upstreamYaml('ok'), apiYaml('x', 'ok').replace('    - name: all\n', '    - name: all\n      bogusField: 3\n'));
    const body = expectProblem(await h.applyYaml(yaml), 422, 'INVALID_CONFIG');
    expect(body.errors).toEqual([expect.objectContaining({ document: 1, resource: 'Api/x', path: 'spec.routes[0].bogusField', code: 'unknown_field', line: 18 })]);
    await expectUnchanged();
  });

  it('a wrong type is 422 with its path', async () => {
    const yaml = upstreamYaml('ok').replace('    - url: http://127.0.0.1:9001\n', '    - url: http://127.0.0.1:9001\n      weight: heavy\n');
    const body = expectProblem(await h.applyYaml(yaml), 422, 'INVALID_CONFIG');
    expect(body.errors).toEqual([expect.objectContaining({ document: 0, path: 'spec.targets[0].weight', code: 'invalid_type', line: 8 })]);
    await expectUnchanged();
  });

  it('a dangling upstream reference is 422 naming the document, field and line', async () => {
    const yaml = stream(upstreamYaml('fine'), apiYaml('broken', 'no-such-upstream'));
    const body = expectProblem(await h.applyYaml(yaml), 422, 'INVALID_CONFIG');
    const issue = body.errors?.find((e) => e.path === 'spec.routes[0].destination.upstream');
    expect(issue).toMatchObject({ document: 1, resource: 'Api/broken', line: 19 });
    await expectUnchanged();
  });

  it('a dry run of an invalid set is refused the same way', async () => {
    expectProblem(await h.applyYaml(apiYaml('broken', 'missing'), '?dryRun=true'), 422, 'INVALID_CONFIG');
    await expectUnchanged();
  });

  it('pruning an upstream that a stored Api still uses is refused', async () => {
    // The body keeps Api/base but not the Upstream it uses: pruning would leave it dangling.
    const body = expectProblem(await h.applyYaml(apiYaml('base', 'base-svc'), '?prune=true'), 422, 'INVALID_CONFIG');
    expect(body.errors).toEqual([expect.objectContaining({ document: 0, resource: 'Api/base', code: 'dangling_reference', line: 10 })]);
    await expectUnchanged();
  });

  it('POST of an existing resource is 409 ALREADY_EXISTS', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/upstreams', headers: h.auth(), payload: upstreamJson('base-svc', 9999) });
    expectProblem(res, 409, 'ALREADY_EXISTS', '/upstreams');
    await expectUnchanged();
  });

  it('DELETE of a referenced upstream is 409 REFERENCED and changes nothing', async () => {
    const res = await h.app.inject({ method: 'DELETE', url: '/upstreams/base-svc', headers: h.auth() });
    const body = expectProblem(res, 409, 'REFERENCED', '/upstreams/base-svc');
    expect(body.errors?.some((e) => e.resource === 'Api/base')).toBe(true);
    await expectUnchanged();
  });

  it('a POSTed Api with a dangling reference is 422 and nothing is stored', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/apis', headers: h.auth(), payload: apiJson('lost', 'nowhere') });
    const body = expectProblem(res, 422, 'INVALID_CONFIG');
    expect(body.errors?.[0]).toMatchObject({ document: 0, resource: 'Api/lost', path: 'spec.routes[0].destination.upstream' });
    await expectUnchanged();
  });

  it('GET or DELETE of a missing resource is 404', async () => {
    expectProblem(await h.app.inject({ method: 'GET', url: '/apis/nope', headers: h.auth() }), 404, 'NOT_FOUND', '/apis/nope');
    expectProblem(await h.app.inject({ method: 'DELETE', url: '/upstreams/nope', headers: h.auth() }), 404, 'NOT_FOUND');
  });

  it('PUT with a name differing from the path is 422', async () => {
    const res = await h.app.inject({ method: 'PUT', url: '/upstreams/one', headers: h.auth(), payload: upstreamJson('two') });
    const body = expectProblem(res, 422, 'INVALID_CONFIG');
    expect(body.errors?.[0]).toMatchObject({ path: 'metadata.name', code: 'name_mismatch' });
    await expectUnchanged();
  });

  it('a document of another kind on a kind endpoint is 422', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/apis', headers: h.auth(), payload: upstreamJson('misfiled') });
    expect(expectProblem(res, 422, 'INVALID_CONFIG').errors?.[0]).toMatchObject({ path: 'kind', code: 'wrong_kind' });
    await expectUnchanged();
  });

  it('bad JSON is 400 INVALID_BODY', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/config', headers: { ...h.auth(), 'content-type': 'application/json' }, payload: '{"kind": ' });
    expectProblem(res, 400, 'INVALID_BODY', '/config');
  });

  it('an unsupported media type is 415', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/config', headers: { ...h.auth(), 'content-type': 'text/plain' }, payload: upstreamYaml('x') });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectUnchanged();
  });

  it('a body over the 5 MiB limit is 413', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/config', headers: { ...h.auth(), 'content-type': 'application/yaml' }, payload: `# ${'x'.repeat(5 * 1024 * 1024)}\n` });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('an unknown admin route is a 404 problem', async () => {
    expectProblem(await h.app.inject({ method: 'GET', url: '/nothing/here?x=1', headers: h.auth() }), 404, 'NOT_FOUND', '/nothing/here?x=1');
  });

  it('invalid query parameters are 400 INVALID_REQUEST', async () => {
    const body = expectProblem(await h.app.inject({ method: 'GET', url: '/apis?limit=501', headers: h.auth() }), 400, 'INVALID_REQUEST');
    expect(body.errors?.[0]?.path).toBe('querystring.limit');
    expectProblem(await h.app.inject({ method: 'POST', url: '/config?dryRun=maybe', headers: h.auth(), payload: [] }), 400, 'INVALID_REQUEST');
    await expectUnchanged();
  });
});

describe('admin API internal errors', () => {
  it('an unexpected failure is a 500 problem without the message or stack', async () => {
    const h = await startAdminHarness('pglite', {
      validate: () => {
        throw new Error('secret internals at /srv/db');
      },
    });
    try {
      const res = await h.applyYaml(upstreamYaml('x'));
      const body = expectProblem(res, 500, 'INTERNAL', '/config');
      expect(res.body).not.toContain('secret');
      expect(body.errors).toBeUndefined();
    } finally {
      await h.close();
    }
  });
});
