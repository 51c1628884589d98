import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { XMLValidator } from 'fast-xml-parser';
import protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor/index.js';
import { resourceKey, type ApiResource, type ConfigIssue, type GrpcAction, type ProtoDescriptorResource, type Route, type SoapAction } from '@tollgate/model';
import { blockCaptures } from './compile-route.js';
import { checkUpstreamRef } from './compile-upstreams.js';
import { CONSUMER_FIELDS } from './compile-aggregate.js';
import type { CompiledUpstream } from './types.js';

const require = createRequire(import.meta.url);
/** descriptor.proto as protobufjs ships it pre-parsed (needed by `extend google.protobuf.MethodOptions`). */
const DESCRIPTOR_JSON = require('protobufjs/google/protobuf/descriptor.json') as { nested: protobuf.INamespace['nested'] };

/**
 * google/api/http.proto and annotations.proto (googleapis, Apache-2.0), reduced to the
 * declarations transcoding reads: the HttpRule message and the `google.api.http` method option.
 */
const GOOGLE_API_HTTP = `syntax = "proto3";
package google.api;
message Http { repeated HttpRule rules = 1; bool fully_decode_reserved_expansion = 2; }
message HttpRule {
  string selector = 1;
  oneof pattern { string get = 2; string put = 3; string post = 4; string delete = 5; string patch = 6; CustomHttpPattern custom = 8; }
  string body = 7;
  string response_body = 12;
  repeated HttpRule additional_bindings = 11;
}
message CustomHttpPattern { string kind = 1; string path = 2; }
`;
// Without its `extend google.protobuf.MethodOptions { HttpRule http = 72295728; }`: protobufjs
// reads `option (google.api.http) = {...}` without the extension declared, and leaving it out
// spares loading all of descriptor.proto for every annotated file.
const GOOGLE_API_ANNOTATIONS = `syntax = "proto3";
package google.api;
import "google/api/http.proto";
`;
const BUNDLED_SOURCES: Readonly<Record<string, string>> = { 'google/api/http.proto': GOOGLE_API_HTTP, 'google/api/annotations.proto': GOOGLE_API_ANNOTATIONS };

/** A ProtoDescriptor parsed and resolved; `root` is mutable protobufjs state, never put in a snapshot. */
export interface LoadedProto {
  readonly root: protobuf.Root;
  /** `google.api.http` rules by `package.Service/Method`, from text options or descriptor-set options. */
  readonly httpRules: ReadonlyMap<string, readonly HttpRuleSource[]>;
}

/** One `google.api.http` binding as declared (additional bindings flattened). */
export interface HttpRuleSource {
  readonly verb: string;
  readonly pattern: string;
  readonly body: string | null;
  readonly responseBody: string | null;
}

/** The source of a descriptor, as the snapshot carries it (plain data; the gateway re-loads it once per hash). */
export interface CompiledProtoSource {
  readonly name: string;
  /** SHA-256 of the canonical source: equal hashes load equal roots. */
  readonly hash: string;
  readonly files: Readonly<Record<string, string>> | null;
  readonly descriptorSet: string | null;
}

export type LoadResult = { ok: true; proto: LoadedProto } | { ok: false; path: string; message: string };

function rulesFromOption(opt: unknown): HttpRuleSource[] {
  if (opt === null || typeof opt !== 'object') return [];
  const o = opt as Record<string, unknown>;
  const out: HttpRuleSource[] = [];
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  for (const verb of ['get', 'put', 'post', 'delete', 'patch'] as const) {
    const p = str(o[verb]);
    if (p !== null) out.push({ verb: verb.toUpperCase(), pattern: p, body: str(o.body), responseBody: str(o.response_body ?? o.responseBody) });
  }
  const custom = o.custom as Record<string, unknown> | undefined;
  if (custom && str(custom.kind) !== null && str(custom.path) !== null) out.push({ verb: String(custom.kind).toUpperCase(), pattern: String(custom.path), body: str(o.body), responseBody: str(o.response_body ?? o.responseBody) });
  const more = o.additional_bindings ?? o.additionalBindings;
  for (const b of Array.isArray(more) ? more : more !== undefined ? [more] : []) out.push(...rulesFromOption(b));
  return out;
}

function collectTextRules(root: protobuf.Root): Map<string, HttpRuleSource[]> {
  const rules = new Map<string, HttpRuleSource[]>();
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const obj of ns.nestedArray) {
      if (obj instanceof protobuf.Service) {
        for (const m of obj.methodsArray) {
          const parsed = (m.parsedOptions ?? []) as Array<Record<string, unknown>>;
          const list = parsed.flatMap((p) => ('(google.api.http)' in p ? rulesFromOption(p['(google.api.http)']) : []));
          if (list.length > 0) rules.set(`${obj.fullName.slice(1)}/${m.name}`, list);
        }
      }
      if (obj instanceof protobuf.Namespace || obj instanceof protobuf.Type || obj instanceof protobuf.Service) visit(obj as protobuf.NamespaceBase);
    }
  };
  visit(root);
  return rules;
}

let descriptorReader: protobuf.Type | null = null;
/** FileDescriptorSet type that also decodes the `google.api.http` extension of MethodOptions (its own root: protobufjs' shared descriptor types stay untouched). */
function fileDescriptorSetReader(): protobuf.Type {
  if (descriptorReader !== null) return descriptorReader;
  const r = new protobuf.Root();
  r.addJSON(DESCRIPTOR_JSON.nested ?? {});
  protobuf.parse(GOOGLE_API_HTTP, r, { keepCase: true });
  protobuf.parse('syntax = "proto3"; package google.api; extend google.protobuf.MethodOptions { HttpRule http = 72295728; }', r, { keepCase: true });
  r.resolveAll();
  descriptorReader = r.lookupType('google.protobuf.FileDescriptorSet');
  return descriptorReader;
}

/**
 * Parses a ProtoDescriptor: `.proto` sources with imports resolved among the files, the bundled
 * google/api files and protobufjs' well-known types; or a base64 FileDescriptorSet. Field names
 * keep their proto spelling (JSON names are derived when transcoding).
 */
export function loadProto(spec: { files?: Readonly<Record<string, string>> | undefined | null; descriptorSet?: string | undefined | null }): LoadResult {
  if (spec.descriptorSet !== undefined && spec.descriptorSet !== null) {
    const buf = Buffer.from(spec.descriptorSet, 'base64');
    let root: protobuf.Root;
    const httpRules = new Map<string, HttpRuleSource[]>();
    try {
      const set = fileDescriptorSetReader().toObject(fileDescriptorSetReader().decode(buf)) as { file?: Array<{ package?: string; service?: Array<{ name: string; method?: Array<{ name: string; options?: Record<string, unknown> }> }> }> };
      for (const f of set.file ?? []) {
        for (const s of f.service ?? []) {
          for (const m of s.method ?? []) {
            const list = rulesFromOption(m.options?.['.google.api.http']);
            if (list.length > 0) httpRules.set(`${f.package ? `${f.package}.` : ''}${s.name}/${m.name}`, list);
          }
        }
      }
      root = (protobuf.Root as unknown as { fromDescriptor(b: Uint8Array): protobuf.Root }).fromDescriptor(buf);
      root.resolveAll();
    } catch (err) {
      return { ok: false, path: 'spec.descriptorSet', message: `not a valid FileDescriptorSet: ${(err as Error).message}` };
    }
    return { ok: true, proto: { root, httpRules } };
  }
  const files = spec.files ?? {};
  const root = new protobuf.Root();
  const loaded = new Set<string>();
  const load = (name: string, from: string | null, depth: number): { path: string; message: string } | null => {
    if (loaded.has(name)) return null;
    loaded.add(name);
    if (depth > 64) return { path: `spec.files["${from}"]`, message: 'imports nest deeper than 64 files' };
    const common = protobuf.common.get(name) as { nested?: protobuf.INamespace['nested'] } | null;
    if (common !== null) {
      root.addJSON(common.nested ?? {});
      return null;
    }
    if (name === 'google/protobuf/descriptor.proto') {
      root.addJSON(DESCRIPTOR_JSON.nested ?? {});
      return null;
    }
    const source = Object.hasOwn(files, name) ? files[name] : BUNDLED_SOURCES[name];
    if (source === undefined) return { path: `spec.files["${from}"]`, message: `imports "${name}", which is neither one of the files nor bundled` };
    let parsed: protobuf.IParserResult;
    try {
      parsed = protobuf.parse(source, root, { keepCase: true, alternateCommentMode: false });
    } catch (err) {
      return { path: `spec.files["${Object.hasOwn(files, name) ? name : from}"]`, message: (err as Error).message.replace(/\(line (\d+)\)/, `(${name}, line $1)`) };
    }
    for (const imp of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      const e = load(imp, Object.hasOwn(files, name) ? name : (from ?? name), depth + 1);
      if (e) return e;
    }
    return null;
  };
  for (const name of Object.keys(files).sort()) {
    const e = load(name, name, 0);
    if (e) return { ok: false, ...e };
  }
  try {
    root.resolveAll();
  } catch (err) {
    return { ok: false, path: 'spec.files', message: (err as Error).message };
  }
  return { ok: true, proto: { root, httpRules: collectTextRules(root) } };
}

const cache = new Map<string, LoadResult>();
const MAX_CACHED = 64;

/**
 * {@link loadProto} memoized by source hash (the last 64 sources): an apply, the gateways'
 * recompiles and their snapshot installs parse an unchanged descriptor once per process.
 */
export function loadProtoCached(src: { hash: string; files: Readonly<Record<string, string>> | null; descriptorSet: string | null }): LoadResult {
  const hit = cache.get(src.hash);
  if (hit !== undefined) return hit;
  const r = loadProto({ files: src.files, descriptorSet: src.descriptorSet });
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(src.hash, r);
  return r;
}

/** Canonical source of a descriptor and its hash. */
function protoSource(r: ProtoDescriptorResource): CompiledProtoSource {
  const files = r.spec.files ? Object.fromEntries(Object.entries(r.spec.files).sort(([a], [b]) => (a < b ? -1 : 1))) : null;
  const descriptorSet = r.spec.descriptorSet ?? null;
  const hash = createHash('sha256').update(JSON.stringify({ files, descriptorSet })).digest('hex');
  return { name: r.metadata.name, hash, files, descriptorSet };
}

/** Every ProtoDescriptor loaded; a broken one is an issue on its own document and absent from the map. */
export function compileProtoDescriptors(resources: readonly { kind: string }[], issues: ConfigIssue[]): Map<string, { source: CompiledProtoSource; proto: LoadedProto }> {
  const out = new Map<string, { source: CompiledProtoSource; proto: LoadedProto }>();
  for (const r of resources) {
    if (r.kind !== 'ProtoDescriptor') continue;
    const d = r as ProtoDescriptorResource;
    const source = protoSource(d);
    const res = loadProtoCached(source);
    if (!res.ok) {
      issues.push({ code: 'invalid_proto', message: res.message, resource: resourceKey(d), path: res.path });
      continue;
    }
    out.set(d.metadata.name, { source, proto: res.proto });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// google.api.http path templates (google/api/http.proto "Path template syntax")

/** One segment of a compiled template: a literal, `*` (one segment) or `**` (the rest). */
export type TemplateSegment = { readonly kind: 'literal'; readonly value: string } | { readonly kind: 'one' } | { readonly kind: 'rest' };

/** A variable: the field path it fills and the segments it spans (`end` null = through `**` to the end). */
export interface TemplateVariable {
  readonly field: readonly string[];
  readonly start: number;
  readonly end: number | null;
}

export interface CompiledPathTemplate {
  readonly segments: readonly TemplateSegment[];
  readonly variables: readonly TemplateVariable[];
  /** Custom verb (`:cancel`), or null. */
  readonly verb: string | null;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL = /^[A-Za-z0-9._~!$&'()+,;=@%-]+$/;

/**
 * Parses `Template = "/" Segments [ Verb ]` where a segment is `*`, `**`, a literal or
 * `{field.path=Segments}`. `**` must be last, variables do not nest.
 */
export function parsePathTemplate(pattern: string): { ok: true; template: CompiledPathTemplate } | { ok: false; message: string } {
  if (!pattern.startsWith('/')) return { ok: false, message: `"${pattern}" must start with "/"` };
  // Split on "/" outside braces.
  const raw: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of pattern.slice(1)) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (depth < 0 || depth > 1) return { ok: false, message: `"${pattern}" has unbalanced or nested braces` };
    if (ch === '/' && depth === 0) {
      raw.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (depth !== 0) return { ok: false, message: `"${pattern}" has an unclosed "{"` };
  let verb: string | null = null;
  const lastColon = cur.lastIndexOf(':');
  if (lastColon !== -1 && cur.lastIndexOf('}') < lastColon) {
    verb = cur.slice(lastColon + 1);
    cur = cur.slice(0, lastColon);
    if (!LITERAL.test(verb)) return { ok: false, message: `"${pattern}" has an invalid verb` };
  }
  raw.push(cur);
  const segments: TemplateSegment[] = [];
  const variables: TemplateVariable[] = [];
  const pushSeg = (s: string): string | null => {
    if (s === '*') segments.push({ kind: 'one' });
    else if (s === '**') segments.push({ kind: 'rest' });
    else if (LITERAL.test(s)) segments.push({ kind: 'literal', value: s });
    else return `"${s}" is not a valid segment`;
    return null;
  };
  for (const s of raw) {
    if (s.startsWith('{')) {
      if (!s.endsWith('}')) return { ok: false, message: `"${pattern}": a variable must be a whole segment` };
      const inner = s.slice(1, -1);
      const eq = inner.indexOf('=');
      const field = (eq === -1 ? inner : inner.slice(0, eq)).split('.');
      if (!field.every((f) => IDENT.test(f))) return { ok: false, message: `"${pattern}": "${inner}" does not name a field path` };
      const start = segments.length;
      const sub = eq === -1 ? ['*'] : inner.slice(eq + 1).split('/');
      for (const x of sub) {
        const e = pushSeg(x);
        if (e) return { ok: false, message: `"${pattern}": ${e}` };
      }
      variables.push({ field, start, end: segments.at(-1)?.kind === 'rest' ? null : segments.length });
    } else {
      const e = pushSeg(s);
      if (e) return { ok: false, message: `"${pattern}": ${e}` };
    }
  }
  const restAt = segments.findIndex((s) => s.kind === 'rest');
  if (restAt !== -1 && restAt !== segments.length - 1) return { ok: false, message: `"${pattern}": "**" must be the last segment` };
  return { ok: true, template: { segments, variables, verb } };
}

// ---------------------------------------------------------------------------------------------
// Route actions

/** A gRPC method as the gateway calls it. */
export interface CompiledGrpcMethod {
  readonly service: string;
  readonly method: string;
  /** `/package.Service/Method`, the HTTP/2 path of the call. */
  readonly path: string;
  readonly requestType: string;
  readonly responseType: string;
}

/** One HTTP binding of a method: verb + template, and where the body and response body go. */
export interface CompiledHttpBinding {
  readonly httpMethod: string;
  readonly pattern: string;
  readonly template: CompiledPathTemplate;
  /** `*`, a top-level field path, or null (no body). */
  readonly body: string | null;
  readonly responseBody: string | null;
  readonly method: CompiledGrpcMethod;
}

export interface CompiledGrpc {
  readonly kind: 'grpc';
  readonly upstream: string;
  readonly subset: string | null;
  readonly descriptor: CompiledProtoSource;
  /** Annotation bindings in declaration order (first match wins), or null for explicit mapping. */
  readonly bindings: readonly CompiledHttpBinding[] | null;
  /** Explicit mapping: the method, body and response body; route path captures fill fields of the same name. */
  readonly explicit: { readonly method: CompiledGrpcMethod; readonly body: string; readonly responseBody: string | null } | null;
  readonly metadataHeaders: readonly string[];
  readonly ignoreUnknownQueryParameters: boolean;
  readonly emitDefaults: boolean;
}

export interface CompiledGrpcWeb {
  readonly kind: 'grpcWeb';
  readonly upstream: string;
  readonly subset: string | null;
  readonly forwardHeaders: boolean;
}

/** A part of a SOAP envelope template: text, or a value taken from the request. */
export type SoapTemplatePart = { readonly text: string } | { readonly source: 'body' | 'path' | 'query' | 'header' | 'consumer'; readonly path: readonly string[] };

export interface CompiledSoap {
  readonly kind: 'soap';
  readonly upstream: string;
  readonly subset: string | null;
  readonly path: string;
  readonly soapAction: string | null;
  readonly version: '1.1' | '1.2';
  readonly envelope: readonly SoapTemplatePart[];
  readonly responsePath: readonly string[];
  readonly parseValues: boolean;
  readonly maxResponseBytes: number;
  readonly faultStatus: Readonly<Record<string, number>>;
}

/** A route's protocol conversion, or null when it forwards as HTTP. */
export type CompiledProtocol = CompiledGrpc | CompiledGrpcWeb | CompiledSoap | import('./compile-messaging.js').CompiledMessaging;

/** Resolves a field path in a message type; the message-typed fields along the way must exist. */
function resolveField(type: protobuf.Type, path: readonly string[]): protobuf.Field | string {
  let t = type;
  for (let i = 0; i < path.length; i++) {
    const name = path[i] as string;
    const f = t.fields[name] ?? t.fieldsArray.find((x) => jsonName(x) === name);
    if (f === undefined) return `${t.fullName.slice(1)} has no field "${name}"`;
    f.resolve();
    if (i === path.length - 1) return f;
    if (!(f.resolvedType instanceof protobuf.Type) || f.repeated || f.map) return `${t.fullName.slice(1)}.${name} is not a singular message field`;
    t = f.resolvedType;
  }
  return `empty field path`;
}

/** proto3 JSON name of a field: `json_name`, else lowerCamelCase of the proto name. */
export function jsonName(f: protobuf.Field): string {
  const j = (f.options as Record<string, unknown> | undefined)?.json_name;
  if (typeof j === 'string') return j;
  return f.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function methodOf(service: protobuf.Service, m: protobuf.Method): CompiledGrpcMethod {
  m.resolve();
  return {
    service: service.fullName.slice(1),
    method: m.name,
    path: `/${service.fullName.slice(1)}/${m.name}`,
    requestType: (m.resolvedRequestType as protobuf.Type).fullName.slice(1),
    responseType: (m.resolvedResponseType as protobuf.Type).fullName.slice(1),
  };
}

function allServices(root: protobuf.NamespaceBase): protobuf.Service[] {
  const out: protobuf.Service[] = [];
  for (const obj of root.nestedArray) {
    if (obj instanceof protobuf.Service) out.push(obj);
    if (obj instanceof protobuf.Namespace || obj instanceof protobuf.Type) out.push(...allServices(obj as protobuf.NamespaceBase));
  }
  return out;
}

/** Route path captures of every match block (null for a block whose regex/template is broken: reported elsewhere). */
function captureSets(route: Route): Array<readonly string[] | null> {
  return route.match.map((m) => {
    const c = blockCaptures(m);
    return c.ok ? c.names : null;
  });
}

function compileGrpc(route: Route, g: GrpcAction, at: string, protos: ReadonlyMap<string, { source: CompiledProtoSource; proto: LoadedProto }>, resource: string, issues: ConfigIssue[]): CompiledGrpc | null {
  const d = protos.get(g.descriptor);
  if (d === undefined) {
    issues.push({ code: 'dangling_reference', message: `ProtoDescriptor/${g.descriptor} does not exist or does not load`, resource, path: `${at}.descriptor` });
    return null;
  }
  const root = d.proto.root;
  const unary = (m: protobuf.Method, path: string): boolean => {
    if (m.requestStream || m.responseStream) {
      issues.push({ code: 'unsupported_method', message: `${m.parent?.fullName.slice(1)}/${m.name} is a streaming method; REST transcoding calls unary methods only`, resource, path });
      return false;
    }
    return true;
  };
  let service: protobuf.Service | null = null;
  if (g.service !== undefined) {
    const s = root.lookup(g.service);
    if (!(s instanceof protobuf.Service)) {
      const known = allServices(root).map((x) => x.fullName.slice(1));
      issues.push({ code: 'unknown_service', message: `ProtoDescriptor/${g.descriptor} has no service "${g.service}"${known.length > 0 ? `; it has: ${known.join(', ')}` : ''}`, resource, path: `${at}.service` });
      return null;
    }
    service = s;
  }
  const base = { kind: 'grpc' as const, upstream: g.upstream, subset: g.subset ?? null, descriptor: d.source, metadataHeaders: [...g.metadataHeaders], ignoreUnknownQueryParameters: g.ignoreUnknownQueryParameters, emitDefaults: g.emitDefaults };
  if (!g.useHttpAnnotations) {
    const svc = service as protobuf.Service;
    const m = svc.methods[g.method as string];
    if (m === undefined) {
      issues.push({ code: 'unknown_method', message: `${svc.fullName.slice(1)} has no method "${g.method}"; it has: ${Object.keys(svc.methods).join(', ')}`, resource, path: `${at}.method` });
      return null;
    }
    if (!unary(m, `${at}.method`)) return null;
    const method = methodOf(svc, m);
    const req = root.lookupType(method.requestType);
    let ok = true;
    if (g.body !== undefined && g.body !== '*') {
      const f = resolveField(req, g.body.split('.'));
      if (typeof f === 'string') (ok = false), issues.push({ code: 'unknown_field', message: f, resource, path: `${at}.body` });
    }
    if (g.responseBody !== undefined) {
      const f = resolveField(root.lookupType(method.responseType), g.responseBody.split('.'));
      if (typeof f === 'string') (ok = false), issues.push({ code: 'unknown_field', message: f, resource, path: `${at}.responseBody` });
    }
    captureSets(route).forEach((names, mi) => {
      for (const n of names ?? []) {
        const f = resolveField(req, [n]);
        if (typeof f === 'string') (ok = false), issues.push({ code: 'unknown_field', message: `path capture {${n}} fills no field: ${f}`, resource, path: `${at.slice(0, at.lastIndexOf('.'))}.match[${mi}].path` });
      }
    });
    return ok ? { ...base, bindings: null, explicit: { method, body: g.body ?? '*', responseBody: g.responseBody ?? null } } : null;
  }
  const services = service !== null ? [service] : allServices(root);
  const bindings: CompiledHttpBinding[] = [];
  let ok = true;
  for (const svc of services) {
    for (const m of svc.methodsArray) {
      const rules = d.proto.httpRules.get(`${svc.fullName.slice(1)}/${m.name}`) ?? [];
      if (rules.length === 0) continue;
      const where = `ProtoDescriptor/${g.descriptor} ${svc.fullName.slice(1)}/${m.name}`;
      if (!unary(m, `${at}.useHttpAnnotations`)) {
        ok = false;
        continue;
      }
      const method = methodOf(svc, m);
      const req = root.lookupType(method.requestType);
      for (const rule of rules) {
        const t = parsePathTemplate(rule.pattern);
        const bad = (message: string) => ((ok = false), issues.push({ code: 'invalid_http_rule', message: `${where}: ${message}`, resource, path: `${at}.descriptor` }));
        if (!t.ok) {
          bad(t.message);
          continue;
        }
        for (const v of t.template.variables) {
          const f = resolveField(req, v.field);
          if (typeof f === 'string') bad(`path variable {${v.field.join('.')}} in "${rule.pattern}": ${f}`);
          else if (f.repeated || f.map || f.resolvedType instanceof protobuf.Type) bad(`path variable {${v.field.join('.')}} in "${rule.pattern}" must name a singular scalar field`);
        }
        if (rule.body !== null && rule.body !== '*') {
          const f = resolveField(req, rule.body.split('.'));
          if (typeof f === 'string') bad(`body "${rule.body}": ${f}`);
        }
        if (rule.responseBody !== null) {
          const f = resolveField(root.lookupType(method.responseType), rule.responseBody.split('.'));
          if (typeof f === 'string') bad(`response_body "${rule.responseBody}": ${f}`);
        }
        bindings.push({ httpMethod: rule.verb, pattern: rule.pattern, template: t.template, body: rule.body, responseBody: rule.responseBody, method });
      }
    }
  }
  if (ok && bindings.length === 0) {
    issues.push({ code: 'no_http_rules', message: `ProtoDescriptor/${g.descriptor}${service ? ` service ${service.fullName.slice(1)}` : ''} declares no unary method with a google.api.http option`, resource, path: `${at}.useHttpAnnotations` });
    return null;
  }
  return ok ? { ...base, bindings, explicit: null } : null;
}

const PLACEHOLDER = /\{(body|path|query|header|consumer)\.([A-Za-z0-9_.-]+)\}|\{([A-Za-z_][A-Za-z0-9_]*)\.([^{}\s]*)\}/g;

function compileSoap(route: Route, s: SoapAction, at: string, resource: string, issues: ConfigIssue[]): CompiledSoap | null {
  const parts: SoapTemplatePart[] = [];
  let last = 0;
  let ok = true;
  const captures = captureSets(route);
  for (const m of s.envelope.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push({ text: s.envelope.slice(last, m.index) });
    last = m.index + m[0].length;
    if (m[1] === undefined) {
      ok = false;
      issues.push({ code: 'invalid_template', message: `${m[0]} refers to "${m[3]}"; placeholders take values from body, path, query, header or consumer`, resource, path: `${at}.envelope` });
      continue;
    }
    const source = m[1] as 'body' | 'path' | 'query' | 'header' | 'consumer';
    const path = source === 'body' ? (m[2] as string).split('.') : [source === 'header' ? (m[2] as string).toLowerCase() : (m[2] as string)];
    if (path.some((p) => p === '')) {
      ok = false;
      issues.push({ code: 'invalid_template', message: `${m[0]} has an empty field name`, resource, path: `${at}.envelope` });
      continue;
    }
    if (source === 'consumer' && !(CONSUMER_FIELDS as readonly string[]).includes(path[0] as string)) {
      ok = false;
      issues.push({ code: 'invalid_template', message: `${m[0]}: the consumer has ${CONSUMER_FIELDS.join(', ')}`, resource, path: `${at}.envelope` });
      continue;
    }
    if (source === 'path') {
      captures.forEach((names, mi) => {
        if (names !== null && !names.includes(path[0] as string)) {
          ok = false;
          issues.push({ code: 'unknown_capture', message: `${m[0]} but match[${mi}] captures ${names.length > 0 ? names.join(', ') : 'nothing'}`, resource, path: `${at}.envelope` });
        }
      });
    }
    parts.push({ source, path });
  }
  if (last < s.envelope.length) parts.push({ text: s.envelope.slice(last) });
  // The envelope must be well-formed XML whatever the values (they are escaped).
  const sample = parts.map((p) => ('text' in p ? p.text : 'x')).join('');
  const v = XMLValidator.validate(sample);
  if (v !== true) {
    ok = false;
    issues.push({ code: 'invalid_xml', message: `the envelope is not well-formed XML: ${v.err.msg} (line ${v.err.line})`, resource, path: `${at}.envelope` });
  } else if (/<!DOCTYPE/i.test(sample)) {
    ok = false;
    issues.push({ code: 'invalid_xml', message: 'a SOAP message must not contain a document type declaration (SOAP 1.2 Part 1 §5)', resource, path: `${at}.envelope` });
  }
  return ok
    ? {
        kind: 'soap',
        upstream: s.upstream,
        subset: s.subset ?? null,
        path: s.path,
        soapAction: s.soapAction ?? null,
        version: s.version,
        envelope: parts,
        responsePath: s.responsePath.split('.'),
        parseValues: s.parseValues,
        maxResponseBytes: s.maxResponseBytes,
        faultStatus: { ...s.faultStatus },
      }
    : null;
}

/**
 * Compiles a route's protocol action (`grpc`, `grpcWeb` or `soap`), checking its upstream, its
 * descriptor, service, method, http rules and templates. Returns null when the route has none or
 * when issues were pushed.
 */
export function compileProtocol(api: ApiResource, ri: number, protos: ReadonlyMap<string, { source: CompiledProtoSource; proto: LoadedProto }>, upstreams: Readonly<Record<string, CompiledUpstream>>, resource: string, issues: ConfigIssue[]): CompiledProtocol | null {
  const route = api.spec.routes[ri] as Route;
  const key = route.grpc ? 'grpc' : route.grpcWeb ? 'grpcWeb' : route.soap ? 'soap' : null;
  if (key === null) return null;
  const at = `spec.routes[${ri}].${key}`;
  const action = (route.grpc ?? route.grpcWeb ?? route.soap) as { upstream: string; subset?: string | undefined };
  const before = issues.length;
  checkUpstreamRef(upstreams, action.upstream, action.subset, resource, at, issues);
  for (const k of ['rewrite', 'mirror', 'retries'] as const) {
    if (route[k] !== undefined) issues.push({ code: 'unsupported_with_protocol', message: `${k} does not apply to a ${key} route`, resource, path: `spec.routes[${ri}].${k}` });
  }
  let out: CompiledProtocol | null = null;
  if (route.grpc) out = compileGrpc(route, route.grpc, at, protos, resource, issues);
  else if (route.grpcWeb) out = { kind: 'grpcWeb', upstream: route.grpcWeb.upstream, subset: route.grpcWeb.subset ?? null, forwardHeaders: route.grpcWeb.forwardHeaders };
  else if (route.soap) out = compileSoap(route, route.soap, at, resource, issues);
  return issues.length > before ? null : out;
}
