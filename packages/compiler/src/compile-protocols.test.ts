import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import { compileConfig } from './compile.js';
import { loadProto, parsePathTemplate, type CompiledGrpc, type CompiledSoap } from './compile-protocols.js';

const PROTO = `syntax = "proto3";
package shop.v1;
import "google/api/annotations.proto";
import "google/protobuf/duration.proto";
import "shop/v1/types.proto";
service Shop {
  rpc GetItem(GetItemRequest) returns (Item) { option (google.api.http) = { get: "/v1/{name=items/*}" additional_bindings { get: "/v1/skus/{sku.code}" } }; }
  rpc Watch(GetItemRequest) returns (stream Item);
  rpc Plain(Item) returns (Item);
}
message GetItemRequest { string name = 1; Sku sku = 2; google.protobuf.Duration max_age = 3; }
`;
const TYPES = `syntax = "proto3";
package shop.v1;
message Sku { string code = 1; }
message Item { string name = 1; int64 stock = 2; }
`;

function resources(yaml: string): Resource[] {
  const r = parseResourcesYaml(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

const indent = (s: string, n: number) => s.replace(/^/gm, ' '.repeat(n));
const descriptor = (proto = PROTO) => `apiVersion: tollgate.dev/v1
kind: ProtoDescriptor
metadata: { name: shop }
spec:
  files:
    shop/v1/shop.proto: |
${indent(proto, 6)}
    shop/v1/types.proto: |
${indent(TYPES, 6)}
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: grpc }
spec: { targets: [{ url: "http://127.0.0.1:9090" }] }
`;
const api = (route: string) => `---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: shop }
spec:
  routes:
    - name: r
${indent(route, 6)}
`;

describe('parsePathTemplate (google/api/http.proto path template syntax)', () => {
  it('parses literals, variables with sub-templates, ** and a verb', () => {
    const t = parsePathTemplate('/v1/{name=shelves/*/books/*}:publish');
    expect(t).toEqual({ ok: true, template: { segments: [{ kind: 'literal', value: 'v1' }, { kind: 'literal', value: 'shelves' }, { kind: 'one' }, { kind: 'literal', value: 'books' }, { kind: 'one' }], variables: [{ field: ['name'], start: 1, end: 5 }], verb: 'publish' } });
    const rest = parsePathTemplate('/files/{path=**}');
    expect(rest.ok && rest.template.variables).toEqual([{ field: ['path'], start: 1, end: null }]);
    const nested = parsePathTemplate('/v1/skus/{sku.code}');
    expect(nested.ok && nested.template.variables).toEqual([{ field: ['sku', 'code'], start: 2, end: 3 }]);
  });

  it('refuses malformed templates', () => {
    for (const bad of ['v1/x', '/v1/{a={b}}', '/v1/{a', '/v1/**/x', '/v1/{1bad}', '/v1/a b']) expect(parsePathTemplate(bad).ok, bad).toBe(false);
  });
});

describe('loadProto', () => {
  it('resolves imports among the files, the bundled google/api files and well-known types, and reads http rules', () => {
    const r = loadProto({ files: { 'shop/v1/shop.proto': PROTO, 'shop/v1/types.proto': TYPES } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.proto.root.lookupService('shop.v1.Shop').methods.GetItem).toBeDefined();
    expect(r.proto.httpRules.get('shop.v1.Shop/GetItem')).toEqual([
      { verb: 'GET', pattern: '/v1/{name=items/*}', body: null, responseBody: null },
      { verb: 'GET', pattern: '/v1/skus/{sku.code}', body: null, responseBody: null },
    ]);
  });

  it('names the file of a syntax error and an unresolved import', () => {
    const bad = loadProto({ files: { 'a.proto': 'syntax = "proto3"; message A { int32 x = ; }' } });
    expect(bad).toMatchObject({ ok: false, path: 'spec.files["a.proto"]' });
    const missing = loadProto({ files: { 'a.proto': 'syntax = "proto3"; import "b/c.proto"; message A {}' } });
    expect(missing).toMatchObject({ ok: false, path: 'spec.files["a.proto"]', message: expect.stringMatching(/b\/c\.proto/) });
    const unresolved = loadProto({ files: { 'a.proto': 'syntax = "proto3"; message A { Nope n = 1; }' } });
    expect(unresolved).toMatchObject({ ok: false, message: expect.stringMatching(/Nope/) });
  });

  it('reads a FileDescriptorSet, google.api.http options included', () => {
    // Built the way protoc would: FileDescriptorProto with MethodOptions carrying extension 72295728.
    const r = new protobuf.Root();
    r.addJSON((createRequire(import.meta.url)('protobufjs/google/protobuf/descriptor.json') as protobuf.INamespace).nested ?? {});
    protobuf.parse('syntax = "proto3"; package google.api; message HttpRule { oneof pattern { string get = 2; string post = 4; } string body = 7; } extend google.protobuf.MethodOptions { HttpRule http = 72295728; }', r, { keepCase: true });
    r.resolveAll();
    const FDS = r.lookupType('google.protobuf.FileDescriptorSet');
    const set = FDS.fromObject({
      file: [{ name: 'p.proto', package: 'p', syntax: 'proto3', messageType: [{ name: 'Req', field: [{ name: 'id', number: 1, type: 9, label: 1, jsonName: 'id' }] }], service: [{ name: 'S', method: [{ name: 'M', inputType: '.p.Req', outputType: '.p.Req', options: { '.google.api.http': { get: '/v1/{id}' } } }] }] }],
    });
    const b64 = Buffer.from(FDS.encode(set).finish()).toString('base64');
    const loaded = loadProto({ descriptorSet: b64 });
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.proto.root.lookupType('p.Req').fields.id).toBeDefined();
    expect(loaded.proto.httpRules.get('p.S/M')).toEqual([{ verb: 'GET', pattern: '/v1/{id}', body: null, responseBody: null }]);
    expect(loadProto({ descriptorSet: Buffer.from('not a descriptor set at all').toString('base64') })).toMatchObject({ ok: false, path: 'spec.descriptorSet' });
  });
});

describe('compileConfig with protocol routes', () => {
  it('compiles annotation bindings (unary methods only) into the route actions', () => {
    const c = compileConfig(resources(descriptor() + api('grpc: { upstream: grpc, descriptor: shop, useHttpAnnotations: true }')), 1);
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    const route = c.config.routes.entries[0]?.value;
    const p = route?.actions.protocol as CompiledGrpc;
    expect(p.kind).toBe('grpc');
    expect(p.bindings?.map((b) => [b.httpMethod, b.pattern, b.method.path])).toEqual([
      ['GET', '/v1/{name=items/*}', '/shop.v1.Shop/GetItem'],
      ['GET', '/v1/skus/{sku.code}', '/shop.v1.Shop/GetItem'],
    ]);
    expect(Object.isFrozen(p)).toBe(true);
  });

  it('refuses unknown methods, streaming methods, missing fields and services without bindings', () => {
    const issues = (route: string, proto?: string) => {
      const c = compileConfig(resources(descriptor(proto) + api(route)), 1);
      return c.ok ? [] : c.issues;
    };
    expect(issues('grpc: { upstream: grpc, descriptor: shop, service: shop.v1.Shop, method: Nope }')).toContainEqual(expect.objectContaining({ code: 'unknown_method', path: 'spec.routes[0].grpc.method' }));
    expect(issues('grpc: { upstream: grpc, descriptor: shop, service: shop.v1.Shop, method: Watch }')).toContainEqual(expect.objectContaining({ code: 'unsupported_method' }));
    expect(issues('grpc: { upstream: grpc, descriptor: shop, service: shop.v1.Shop, method: Plain, responseBody: nothing }')).toContainEqual(expect.objectContaining({ code: 'unknown_field', path: 'spec.routes[0].grpc.responseBody' }));
    expect(issues('match: [{ path: { template: "/items/{colour}" } }]\ngrpc: { upstream: grpc, descriptor: shop, service: shop.v1.Shop, method: GetItem }')).toContainEqual(expect.objectContaining({ code: 'unknown_field', path: 'spec.routes[0].match[0].path' }));
    expect(issues('grpc: { upstream: grpc, descriptor: shop, useHttpAnnotations: true }', PROTO.replace('{sku.code}', '{sku.colour}'))).toContainEqual(expect.objectContaining({ code: 'invalid_http_rule', message: expect.stringMatching(/shop\.v1\.Sku has no field "colour"/) }));
    expect(issues('grpc: { upstream: grpc, descriptor: shop, useHttpAnnotations: true }', PROTO.replace(/option \(google\.api\.http\)[^;]*;/, ''))).toContainEqual(expect.objectContaining({ code: 'no_http_rules' }));
    expect(issues('grpc: { upstream: nowhere, descriptor: shop, useHttpAnnotations: true }')).toContainEqual(expect.objectContaining({ code: 'dangling_reference', path: 'spec.routes[0].grpc.upstream' }));
    expect(issues('grpc: { upstream: grpc, descriptor: shop, useHttpAnnotations: true }\nretries: { attempts: 2 }')).toContainEqual(expect.objectContaining({ code: 'unsupported_with_protocol', path: 'spec.routes[0].retries' }));
  });

  it('compiles SOAP envelopes into text and value parts, checking placeholders and well-formedness', () => {
    const soap = (envelope: string, match = '') => `${match}soap: { upstream: grpc, path: /svc, envelope: '${envelope}' }`;
    const c = compileConfig(resources(descriptor() + api(soap('<E><a>{body.x.y}</a><b>{path.id}</b><c>{header.X-Key}</c></E>', 'match: [{ path: { template: "/{id}" } }]\n'))), 1);
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    const p = c.config.routes.entries[0]?.value.actions.protocol as CompiledSoap;
    expect(p.envelope).toEqual([{ text: '<E><a>' }, { source: 'body', path: ['x', 'y'] }, { text: '</a><b>' }, { source: 'path', path: ['id'] }, { text: '</b><c>' }, { source: 'header', path: ['x-key'] }, { text: '</c></E>' }]);
    const issues = (route: string) => {
      const r = compileConfig(resources(descriptor() + api(route)), 1);
      return r.ok ? [] : r.issues;
    };
    expect(issues(soap('<E>{path.id}</E>'))).toContainEqual(expect.objectContaining({ code: 'unknown_capture' }));
    expect(issues(soap('<E>{resp.name}</E>'))).toContainEqual(expect.objectContaining({ code: 'invalid_template' }));
    expect(issues(soap('<E>{consumer.email}</E>'))).toContainEqual(expect.objectContaining({ code: 'invalid_template', message: expect.stringMatching(/name, customId, groups/) }));
    expect(issues(soap('<E>{consumer.name}</E>'))).toEqual([]);
    expect(issues(soap('<E><a></E>'))).toContainEqual(expect.objectContaining({ code: 'invalid_xml' }));
  });
});
