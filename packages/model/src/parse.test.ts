import { describe, expect, it } from 'vitest';
import { jsonDocumentsWithin, MAX_DOCUMENTS, parseResourcesYaml, parseYamlDocuments, parseYamlDocumentSteps, validateDocuments, jsonDocuments } from './parse.js';
import { toYaml } from './serialize.js';

const upstream = `apiVersion: tollgate.dev/v1
kind: Upstream
metadata:
  name: httpbin
spec:
  targets:
    - url: http://127.0.0.1:9000
`;
const api = `apiVersion: tollgate.dev/v1
kind: Api
metadata:
  name: orders
spec:
  hosts: [API.Example.com, "*.example.org"]
  basePath: /orders
  routes:
    - name: all
      destination:
        upstream: httpbin
`;

describe('parseResourcesYaml', () => {
  it('parses documents and fills defaults', () => {
    const r = parseResourcesYaml(`${upstream}---\n${api}`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [u, a] = r.resources;
    expect(u?.kind).toBe('Upstream');
    if (u?.kind !== 'Upstream' || a?.kind !== 'Api') throw new Error('kinds');
    expect(u.spec.targets[0]?.weight).toBe(100);
    expect(u.spec.timeouts.connectMs).toBe(5000);
    expect(a.spec.hosts).toEqual(['api.example.com', '*.example.org']);
    expect(a.spec.version).toBe('v1');
    expect(a.spec.routes[0]?.match).toEqual([{ path: { prefix: '/' }, methods: [], headers: {}, queryParams: {} }]);
    expect(a.metadata.labels).toEqual({});
  });

  it('names the document, field and line of an unknown field', () => {
    const r = parseResourcesYaml(`${upstream}---\n${api.replace('basePath: /orders', 'basePath: /orders\n  colour: red')}`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([expect.objectContaining({ code: 'unknown_field', document: 1, resource: 'Api/orders', path: 'spec.colour', line: 16 })]);
  });

  it('reports a wrong type with its path', () => {
    const r = parseResourcesYaml(upstream.replace('- url: http://127.0.0.1:9000', '- url: http://127.0.0.1:9000\n      weight: heavy'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]).toMatchObject({ code: 'invalid_type', document: 0, path: 'spec.targets[0].weight', line: 8 });
  });

  it('rejects an unknown kind and a wrong apiVersion', () => {
    const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1\nkind: Gizmo\nmetadata: {name: x}\nspec: {}\n---\n${upstream.replace('tollgate.dev/v1', 'tollgate.dev/v9')}`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => [i.code, i.document, i.path])).toEqual([
      ['unknown_kind', 0, 'kind'],
      ['invalid_value', 1, 'apiVersion'],
    ]);
  });

  it('reports invalid YAML with a line and validates nothing', () => {
    const r = parseResourcesYaml(`${upstream}---\nkind: Api\nmetadata: {name: x\n`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]).toMatchObject({ code: 'invalid_yaml', document: 1 });
    expect(r.issues[0]?.line).toBeGreaterThan(8);
  });

  it('refuses duplicate keys, duplicate resources and targets', () => {
    expect(parseResourcesYaml('kind: Api\nkind: Upstream\n').ok).toBe(false);
    const dup = parseResourcesYaml(`${upstream}---\n${upstream}`);
    expect(!dup.ok && dup.issues[0]).toMatchObject({ code: 'duplicate_resource', document: 1 });
    const t = parseResourcesYaml(`${upstream}    - url: http://127.0.0.1:9000/\n`);
    expect(!t.ok && t.issues[0]).toMatchObject({ path: 'spec.targets[1].url' });
  });

  it('rejects unsafe paths and hosts', () => {
    for (const bad of ['basePath: orders', 'basePath: /a/../b', 'basePath: /a%2fb', 'basePath: /a//b', 'basePath: /a?x=1']) {
      const r = parseResourcesYaml(api.replace('basePath: /orders', bad));
      expect(r.ok, bad).toBe(false);
    }
    const h = parseResourcesYaml(api.replace('"*.example.org"', '"http://x.org"'));
    expect(!h.ok && h.issues[0]).toMatchObject({ path: 'spec.hosts[1]' });
  });

  it('refuses header values and a directResponse content type that Node could not send', () => {
    const route = (extra: string) => api.replace('      destination:\n        upstream: httpbin\n', `      destination:\n        upstream: httpbin\n${extra}`);
    for (const [bad, path] of [
      ['      headers:\n        response:\n          set: { x-a: "a\\u0001b" }\n', 'spec.routes[0].headers.response.set.x-a'],
      ['      headers:\n        request:\n          add: { x-a: "5 €" }\n', 'spec.routes[0].headers.request.add.x-a'],
    ] as const) {
      const r = parseResourcesYaml(route(bad));
      expect(!r.ok && r.issues[0], bad).toMatchObject({ path, message: expect.stringContaining('HTTP field value') });
    }
    const ok = parseResourcesYaml(route('      headers:\n        response:\n          set: { x-a: "caf\u00e9\\tb" }\n'));
    expect(ok.ok).toBe(true);
    const direct = parseResourcesYaml(api.replace('      destination:\n        upstream: httpbin\n', '      directResponse:\n        status: 200\n        contentType: "text/plain\\r\\nx-evil: 1"\n'));
    expect(!direct.ok && direct.issues[0]).toMatchObject({ path: 'spec.routes[0].directResponse.contentType' });
  });

  it('refuses a rewrite.path whose literal text is not URL path characters', () => {
    const route = (path: string) => parseResourcesYaml(api.replace('      destination:\n        upstream: httpbin\n', `      destination:\n        upstream: httpbin\n      rewrite:\n        path: "${path}"\n`));
    for (const bad of ['/a b/{id}', '/a\\tb', '/caf\u00e9']) {
      const r = route(bad);
      expect(!r.ok && r.issues[0], bad).toMatchObject({ path: 'spec.routes[0].rewrite.path', message: expect.stringContaining('URL path characters') });
    }
    expect(route('/v2/orders/{id}/a%20b').ok).toBe(true);
  });

  it('refuses a usagePath that a normalized request path can never equal', () => {
    for (const bad of ['/a/../usage', '//usage', '/./usage']) {
      const r = parseResourcesYaml(api.replace('basePath: /orders', `basePath: /orders\n  usagePath: "${bad}"`));
      expect(!r.ok && r.issues[0], bad).toMatchObject({ path: 'spec.usagePath', message: expect.stringContaining('segments') });
    }
    expect(parseResourcesYaml(api.replace('basePath: /orders', 'basePath: /orders\n  usagePath: /_usage')).ok).toBe(true);
  });

  it('refuses a soap.path with characters an HTTP request path cannot carry', () => {
    const soap = (path: string) => parseResourcesYaml(api.replace('      destination:\n        upstream: httpbin\n', `      soap: { upstream: httpbin, path: "${path}", envelope: "<E/>" }\n`));
    for (const bad of ['/svc\\u0001', '/caf\\u20ac', '/svc?wsdl', 'svc']) {
      const r = soap(bad);
      expect(!r.ok && r.issues[0], bad).toMatchObject({ path: 'spec.routes[0].soap.path' });
    }
    expect(soap('/StockService/v1%2Bx').ok).toBe(true);
  });

  it('skips empty documents but keeps document numbering', () => {
    const { documents } = parseYamlDocuments(`---\n---\n${upstream}---\n`);
    expect(documents.map((d) => d.index)).toEqual([1]);
  });

  it('defuses alias expansion bombs (an issue, not an exception a server would answer 500 to)', () => {
    const bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
    expect(parseYamlDocuments(bomb).issues).toEqual([expect.objectContaining({ code: 'too_many_aliases', document: 0, line: 1 })]);
  });

  it('parses as steps of one document each, to the same documents and issues (#16: a server runs them in slices)', () => {
    const text = Array.from({ length: 50 }, (_, i) => `apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: {name: u${i}}\nspec: {targets: [{url: "http://a:1"}]}\n`).join('---\n');
    const steps = parseYamlDocumentSteps(text);
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    // One step while reading each document's tokens, one while composing it.
    expect(yields).toBe(100);
    const whole = parseYamlDocuments(text);
    expect(r.value.issues).toEqual([]);
    expect(r.value.documents.map((d) => [d.index, d.value])).toEqual(whole.documents.map((d) => [d.index, d.value]));
    expect(r.value.documents[49]?.lineOf?.(['metadata', 'name'])).toBe(whole.documents[49]?.lineOf?.(['metadata', 'name']));
    const bad = parseYamlDocumentSteps(`${text}---\na: 1\na: 2\n`);
    let b = bad.next();
    while (!b.done) b = bad.next();
    expect(b.value.issues).toEqual([expect.objectContaining({ code: 'duplicate_key', document: 50 })]);
  });
});

describe('jsonDocuments', () => {
  it('accepts one document, an array and a List', () => {
    const doc = { apiVersion: 'tollgate.dev/v1', kind: 'Upstream', metadata: { name: 'u' }, spec: { targets: [{ url: 'http://a:1' }] } };
    expect(validateDocuments(jsonDocuments(doc)).ok).toBe(true);
    expect(validateDocuments(jsonDocuments([doc])).ok).toBe(true);
    expect(validateDocuments(jsonDocuments({ kind: 'List', items: [doc] })).ok).toBe(true);
    expect(validateDocuments(jsonDocuments('nope')).ok).toBe(false);
  });
});

describe('toYaml', () => {
  it('round-trips in dependency order', () => {
    const r = parseResourcesYaml(`${api}---\n${upstream}`);
    if (!r.ok) throw new Error('parse');
    const out = toYaml(r.resources);
    expect(out.indexOf('kind: Upstream')).toBeLessThan(out.indexOf('kind: Api'));
    const again = parseResourcesYaml(out);
    expect(again.ok && again.resources).toEqual([r.resources[1], r.resources[0]]);
  });
});

describe('document cap (enforced while iterating)', () => {
  const doc = (i: number) => `apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: {name: u${i}}\nspec: {targets: [{url: "http://x:1"}]}\n`;
  const yamlStream = (n: number) => Array.from({ length: n }, (_, i) => `---\n${doc(i)}`).join('');
  const bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
  const list = (n: number) => `apiVersion: v1\nkind: List\nitems:\n${Array.from({ length: n }, (_, i) => `  - {apiVersion: tollgate.dev/v1, kind: Upstream, metadata: {name: l${i}}, spec: {targets: [{url: "http://x:1"}]}}\n`).join('')}`;

  it('accepts exactly the cap, empty sections not counted', () => {
    const r = parseYamlDocuments(`${yamlStream(3)}---\n# only a comment\n---\n`, { maxDocuments: 3 });
    expect(r.issues).toEqual([]);
    expect(r.documents).toHaveLength(3);
    expect(parseYamlDocuments(list(3), { maxDocuments: 3 }).documents).toHaveLength(3);
  });

  it('refuses multi-document YAML one past the cap, before later documents are looked at', () => {
    // Document 3 is past the cap of 3; document 4 is nested too deep and would be its own issue
    // if the stream were walked to its end.
    const r = parseYamlDocuments(`${yamlStream(4)}---\na: ${'['.repeat(5_000)}\n`, { maxDocuments: 3 });
    expect(r).toEqual({ documents: [], issues: [expect.objectContaining({ code: 'too_many_documents', document: 3 })] });
  });

  it('refuses a kind: List whose items go past the cap, before converting it or composing later documents', () => {
    const r = parseYamlDocuments(`${list(4)}---\n${bomb}`, { maxDocuments: 3 });
    expect(r).toEqual({ documents: [], issues: [expect.objectContaining({ code: 'too_many_documents', document: 0 })] });
    // Documents before a List count too.
    const mixed = parseYamlDocuments(`${yamlStream(2)}---\n${list(2)}`, { maxDocuments: 3 });
    expect(mixed.issues).toEqual([expect.objectContaining({ code: 'too_many_documents', document: 2 })]);
  });

  it('defaults to MAX_DOCUMENTS', () => {
    expect(parseYamlDocuments(yamlStream(MAX_DOCUMENTS + 1)).issues).toEqual([expect.objectContaining({ code: 'too_many_documents', document: MAX_DOCUMENTS })]);
  });

  it('caps JSON arrays and JSON Lists the same way, accepting exactly the cap', () => {
    const item = { apiVersion: 'tollgate.dev/v1', kind: 'Upstream', metadata: { name: 'x' }, spec: {} };
    expect(jsonDocumentsWithin([item, item, item], { maxDocuments: 3 }).issues).toEqual([]);
    expect(jsonDocumentsWithin([item, item, item, item], { maxDocuments: 3 })).toEqual({ documents: [], issues: [expect.objectContaining({ code: 'too_many_documents', document: 3 })] });
    expect(jsonDocumentsWithin({ kind: 'List', items: [item, item, item, item] }, { maxDocuments: 3 }).issues).toEqual([expect.objectContaining({ code: 'too_many_documents' })]);
    expect(jsonDocumentsWithin(item, { maxDocuments: 1 }).documents).toHaveLength(1);
  });
});
