import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { apiJson, apiYaml, BACKENDS, startAdminHarness, stream, upstreamJson, upstreamYaml, type AdminHarness } from './harness.js';

describe.each(BACKENDS)('admin API happy paths (%s)', (backend) => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness(backend);
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  it('applies multi-document YAML and reports each change', async () => {
    const res = await h.applyYaml(stream(upstreamYaml('orders-svc'), apiYaml('orders', 'orders-svc')));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.dryRun).toBe(false);
    expect(body.changes).toEqual([
      { kind: 'Upstream', name: 'orders-svc', action: 'create' },
      { kind: 'Api', name: 'orders', action: 'create' },
    ]);
    const again = await h.applyYaml(stream(upstreamYaml('orders-svc', 9002), apiYaml('orders', 'orders-svc')));
    expect(again.json().changes).toEqual([
      { kind: 'Upstream', name: 'orders-svc', action: 'update' },
      { kind: 'Api', name: 'orders', action: 'unchanged' },
    ]);
    expect(again.json().version).toBeGreaterThan(body.version);
    const get = await h.app.inject({ method: 'GET', url: '/upstreams/orders-svc', headers: h.auth() });
    expect(get.json().spec.targets[0].url).toBe('http://127.0.0.1:9002');
  });

  it('accepts JSON: one document, an array, and a List', async () => {
    const one = await h.app.inject({ method: 'POST', url: '/config', headers: h.auth(), payload: upstreamJson('a') });
    expect(one.json().changes).toEqual([{ kind: 'Upstream', name: 'a', action: 'create' }]);
    const arr = await h.app.inject({ method: 'POST', url: '/config', headers: h.auth(), payload: [upstreamJson('a'), apiJson('x', 'a')] });
    expect(arr.json().changes.map((c: { action: string }) => c.action)).toEqual(['unchanged', 'create']);
    const list = await h.app.inject({ method: 'POST', url: '/config', headers: h.auth(), payload: { apiVersion: 'v1', kind: 'List', items: [upstreamJson('b')] } });
    expect(list.json().changes).toEqual([{ kind: 'Upstream', name: 'b', action: 'create' }]);
  });

  it('a dry run reports the changes and commits nothing', async () => {
    await h.applyYaml(upstreamYaml('keep'));
    const before = await h.exportYaml();
    const res = await h.applyYaml(stream(upstreamYaml('new-svc'), apiYaml('new', 'new-svc')), '?dryRun=true&prune=true');
    expect(res.statusCode).toBe(200);
    expect(res.json().dryRun).toBe(true);
    expect(res.json().changes).toEqual([
      { kind: 'Upstream', name: 'keep', action: 'delete' },
      { kind: 'Upstream', name: 'new-svc', action: 'create' },
      { kind: 'Api', name: 'new', action: 'create' },
    ]);
    expect(await h.exportYaml()).toBe(before);
  });

  it('prune deletes what the body does not contain; without prune it stays', async () => {
    await h.applyYaml(stream(upstreamYaml('a'), upstreamYaml('b')));
    const noPrune = await h.applyYaml(upstreamYaml('a'));
    expect(noPrune.json().changes).toEqual([{ kind: 'Upstream', name: 'a', action: 'unchanged' }]);
    const pruned = await h.applyYaml(upstreamYaml('a'), '?prune=true');
    expect(pruned.json().changes).toEqual([
      { kind: 'Upstream', name: 'a', action: 'unchanged' },
      { kind: 'Upstream', name: 'b', action: 'delete' },
    ]);
    const names = parseAllDocuments(await h.exportYaml()).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name);
    expect(names).toEqual(['a']);
  });

  it('export round-trips: applying the export changes nothing', async () => {
    await h.applyYaml(stream(upstreamYaml('u1'), upstreamYaml('u2', 9005), apiYaml('api1', 'u1'), apiYaml('api2', 'u2')));
    const exported = await h.exportYaml();
    expect(exported).toContain('kind: Upstream');
    const res = await h.applyYaml(exported, '?prune=true');
    expect(res.statusCode).toBe(200);
    expect(res.json().changes).toHaveLength(4);
    expect(res.json().changes.every((c: { action: string }) => c.action === 'unchanged')).toBe(true);
    const json = await h.app.inject({ method: 'GET', url: '/config?format=json', headers: h.auth() });
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.json().kind).toBe('List');
    const back = await h.app.inject({ method: 'POST', url: '/config', headers: h.auth(), payload: json.json() });
    expect(back.json().changes.every((c: { action: string }) => c.action === 'unchanged')).toBe(true);
  });

  it('paginates lists with a next cursor and an RFC 8288 Link header', async () => {
    await h.applyYaml(stream(...['u-a', 'u-b', 'u-c', 'u-d', 'u-e'].map((n, i) => upstreamYaml(n, 9100 + i))));
    const first = await h.app.inject({ method: 'GET', url: '/upstreams?limit=2', headers: h.auth() });
    expect(first.statusCode).toBe(200);
    expect(first.json().items.map((r: { metadata: { name: string } }) => r.metadata.name)).toEqual(['u-a', 'u-b']);
    expect(first.json().next).toBe('u-b');
    expect(first.headers.link).toBe('</upstreams?limit=2&after=u-b>; rel="next"');
    const names: string[] = [];
    let url: string | undefined = '/upstreams?limit=2';
    while (url) {
      const page = await h.app.inject({ method: 'GET', url, headers: h.auth() });
      names.push(...page.json().items.map((r: { metadata: { name: string } }) => r.metadata.name));
      const link = page.headers.link as string | undefined;
      url = link ? /^<([^>]+)>/.exec(link)?.[1] : undefined;
    }
    expect(names).toEqual(['u-a', 'u-b', 'u-c', 'u-d', 'u-e']);
    const last = await h.app.inject({ method: 'GET', url: '/upstreams?limit=2&after=u-d', headers: h.auth() });
    expect(last.json()).toEqual({ items: [expect.objectContaining({ kind: 'Upstream' })] });
    expect(last.headers.link).toBeUndefined();
  });

  it('creates with POST (201 + Location), reads, replaces with PUT, deletes', async () => {
    const created = await h.app.inject({ method: 'POST', url: '/upstreams', headers: h.auth(), payload: upstreamJson('svc') });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe('/upstreams/svc');
    expect(created.json().spec.timeouts.connectMs).toBe(5000);
    const got = await h.app.inject({ method: 'GET', url: '/upstreams/svc', headers: h.auth() });
    expect(got.json()).toEqual(created.json());

    const replaced = await h.app.inject({ method: 'PUT', url: '/upstreams/svc', headers: h.auth(), payload: upstreamJson('svc', 9300) });
    expect(replaced.statusCode).toBe(200);
    const putNew = await h.app.inject({ method: 'PUT', url: '/apis/shop', headers: { ...h.auth(), 'content-type': 'application/yaml' }, payload: apiYaml('shop', 'svc') });
    expect(putNew.statusCode).toBe(201);
    expect(putNew.headers.location).toBe('/apis/shop');
    expect(putNew.json().spec.routes[0].destination.upstream).toBe('svc');

    const del = await h.app.inject({ method: 'DELETE', url: '/apis/shop', headers: h.auth() });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    const gone = await h.app.inject({ method: 'GET', url: '/apis/shop', headers: h.auth() });
    expect(gone.statusCode).toBe(404);
  });

  it('GET /config exports YAML that parses back to the stored documents', async () => {
    await h.applyYaml(stream(apiYaml('z-api', 'up'), upstreamYaml('up')));
    const res = await h.app.inject({ method: 'GET', url: '/config', headers: h.auth() });
    expect(res.headers['content-type']).toMatch(/^application\/yaml/);
    const docs = parseAllDocuments(res.body).map((d) => d.toJS() as { kind: string });
    // Dependency order: Upstreams before the Apis that reference them.
    expect(docs.map((d) => d.kind)).toEqual(['Upstream', 'Api']);
    expect(parse(res.body.split('---\n')[1] ?? '')).toMatchObject({ metadata: { name: 'up' } });
    // Keys in schema order, not in the store's jsonb order, so exports diff cleanly.
    expect(res.body).toContain('metadata:\n  name: up\n  labels: {}\n');
    expect(res.body).toContain('  timeouts:\n    connectMs: 5000\n    responseHeadersMs: 60000\n    idleMs: 60000\n');
  });

  it('answers /healthz without a token', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });
});
