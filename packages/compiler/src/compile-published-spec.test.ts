import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import { compileConfig } from './compile.js';
import { compilePublishedSpec } from './compile-published-spec.js';

function resources(yaml: string): Resource[] {
  const r = parseResourcesYaml(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

const YAML = `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: backend }
spec: { targets: [{ url: "http://127.0.0.1:9001" }] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: pets }
spec:
  basePath: /v3
  policies: [{ name: ip-restriction, config: { deny: ["10.0.0.0/8"] } }]
  routes:
    - name: all
      match: [{ path: { prefix: / } }]
      destination: { upstream: backend }
  openapi:
    path: /openapi.json
    document: { openapi: 3.0.3, info: { title: Pets, version: "1" }, paths: {} }
`;

describe('published OpenAPI documents', () => {
  it('serializes once around the servers, which go after info', () => {
    const spec = compilePublishedSpec({ openapi: '3.1.0', info: { title: 't' }, paths: {} });
    const servers = JSON.stringify([{ url: 'http://gw/x' }]);
    expect(JSON.parse(spec.head + servers + spec.tail)).toEqual({ openapi: '3.1.0', info: { title: 't' }, servers: [{ url: 'http://gw/x' }], paths: {} });
    expect(Object.keys(JSON.parse(spec.head + servers + spec.tail) as object)).toEqual(['openapi', 'info', 'servers', 'paths']);
  });

  it('adds a GET/HEAD route at basePath + path before the API routes, with the API-level policies only', () => {
    const r = compileConfig(resources(YAML), 1);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const hit = r.config.routes.lookup('any.example.com', '/v3/openapi.json', 'GET');
    expect(hit.kind).toBe('match');
    if (hit.kind !== 'match') return;
    expect(hit.value).toMatchObject({ id: 'pets/_openapi', upstream: null, basePath: '/v3' });
    expect(hit.value.publishedSpec?.head).toContain('"title":"Pets"');
    expect(hit.value.policies.access?.map((p) => p.name)).toEqual(['ip-restriction']);
    expect(r.config.routes.lookup('any.example.com', '/v3/openapi.json', 'POST')).toMatchObject({ kind: 'match', value: { id: 'pets/all' } });
    expect(r.config.routes.lookup('any.example.com', '/v3/other', 'GET')).toMatchObject({ kind: 'match', value: { id: 'pets/all' } });
  });

  it('refuses a document that is not OpenAPI 3.0 or 3.1', () => {
    const bad = parseResourcesYaml(YAML.replace('openapi: 3.0.3', 'openapi: 2.0'));
    expect(bad).toMatchObject({ ok: false, issues: [{ path: 'spec.openapi.document' }] });
  });
});
