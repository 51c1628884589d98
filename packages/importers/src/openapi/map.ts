import { API_VERSION, jsonDocuments, validateDocuments } from '@tollgate/model';
import { escapeRegex } from '../context.js';
import { captureName, kebab, routeName } from './names.js';
import type { ParsedOpenApi } from './parse.js';
import { deref, RequestSchemas } from './schemas.js';
import { escapePointer, pointer, type OpenApiError, type OpenApiImportOptions, type OpenApiImportResult, type OpenApiWarning } from './types.js';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Operation keys of a Path Item (OAS 3.0.3 §4.7.9, 3.1.0 §4.8.9). */
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The `x-tollgate-*` extensions, and where each may appear. */
export const EXTENSIONS = {
  document: ['x-tollgate-api', 'x-tollgate-upstream', 'x-tollgate-policies', 'x-tollgate-timeout-ms', 'x-tollgate-validate', 'x-tollgate-route', 'x-tollgate-publish'],
  path: ['x-tollgate-upstream', 'x-tollgate-policies', 'x-tollgate-timeout-ms', 'x-tollgate-validate', 'x-tollgate-route', 'x-tollgate-ignore'],
  operation: ['x-tollgate-upstream', 'x-tollgate-policies', 'x-tollgate-timeout-ms', 'x-tollgate-validate', 'x-tollgate-route', 'x-tollgate-ignore', 'x-tollgate-route-name'],
  securityScheme: ['x-tollgate-jwt'],
} as const;

/** Header parameters OAS says to ignore (they are described elsewhere in the document). */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

interface Operation {
  path: string;
  method: (typeof METHODS)[number];
  op: Json;
  item: Json;
  at: string;
  itemAt: string;
  pathExt: Json;
  opExt: Json;
  /** Declaration order, for a stable sort. */
  order: number;
}

interface MappedScheme {
  kind: 'key' | 'jwt';
  header?: string;
  query?: string;
  jwt?: Json;
  /** Scopes are meaningful (oauth2, openIdConnect). */
  scoped: boolean;
}

/** Whether an operation gets request validation, and its body limit. */
interface ValidateSetting {
  on: boolean;
  maxBodyBytes?: number;
}

/** How an OpenAPI path becomes a route match, and the upstream path built from its captures. */
interface PathMapping {
  match: Json;
  /** The path with `{capture}` placeholders, for `rewrite.path`. */
  rewrite: string;
}

/** Sort key of a path: literal segments before partial templates before whole parameters. */
function specificity(path: string): number[] {
  return path.split('/').map((seg) => (!seg.includes('{') ? 0 : /^\{[^{}]+\}$/.test(seg) ? 2 : 1));
}

function compareSpecificity(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

/** Reads one parsed OpenAPI document into an Api (and Upstream). */
export class OpenApiMapper {
  readonly warnings: OpenApiWarning[] = [];
  readonly errors: OpenApiError[] = [];
  readonly #doc: Json;
  readonly #parsed: ParsedOpenApi;
  readonly #options: OpenApiImportOptions;
  readonly #schemes = new Map<string, MappedScheme | null>();
  readonly #schemas: RequestSchemas;
  /** Pointers of the `x-tollgate-*` members read (or warned about) where extensions may appear. */
  readonly #seen = new Set<string>();
  /** Path items and operations skipped by `x-tollgate-ignore` (their extensions are not looked at). */
  readonly #ignored = new Set<string>();

  constructor(parsed: ParsedOpenApi, options: OpenApiImportOptions) {
    this.#parsed = parsed;
    this.#doc = parsed.document;
    this.#options = options;
    this.#schemas = new RequestSchemas(parsed.document, parsed.dialect, this.warnings);
  }

  /** Document-level extensions are read once per operation: each problem is reported once. */
  readonly #reported = new Set<string>();

  warn(at: string, code: string, message: string): void {
    const key = `w${at}\n${code}\n${message}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    this.warnings.push({ pointer: at, code, message });
  }

  error(at: string, code: string, message: string): void {
    const key = `e${at}\n${code}\n${message}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    const line = this.#parsed.lineOf(at);
    this.errors.push({ pointer: at, code, message, ...(line !== undefined ? { line } : {}) });
  }

  /** The known `x-tollgate-*` extensions of an object; unknown or misplaced ones are warned about. */
  #extensions(node: Json, at: string, allowed: readonly string[]): Json {
    const out: Json = {};
    for (const [k, v] of Object.entries(node)) {
      if (!k.startsWith('x-tollgate-')) continue;
      this.#seen.add(`${at}/${escapePointer(k)}`);
      if (allowed.includes(k)) out[k] = v;
      else this.warn(`${at}/${escapePointer(k)}`, 'unknown_extension', `"${k}" is not a Tollgate extension here (allowed: ${allowed.join(', ')}); ignored`);
    }
    return out;
  }

  run(): OpenApiImportResult {
    const doc = this.#doc;
    const docExt = this.#extensions(doc, '', EXTENSIONS.document);
    const apiExt = isObject(docExt['x-tollgate-api']) ? { ...docExt['x-tollgate-api'] } : {};
    if (docExt['x-tollgate-api'] !== undefined && !isObject(docExt['x-tollgate-api'])) this.error('/x-tollgate-api', 'invalid_extension', 'x-tollgate-api must be an object of Api spec fields (and `name`)');
    const info = isObject(doc.info) ? doc.info : {};
    const extName = typeof apiExt.name === 'string' ? apiExt.name : undefined;
    delete apiExt.name;
    for (const k of ['routes', 'openapi']) {
      if (k in apiExt) {
        this.warn(`/x-tollgate-api/${k}`, 'ignored_field', `x-tollgate-api.${k} is generated by the import; ignored`);
        delete apiExt[k];
      }
    }
    const name = this.#options.name ?? extName ?? (kebab(typeof info.title === 'string' ? info.title : '') || 'api');

    // Upstream: an existing one by name, or one generated from --upstream or the first server.
    const server = this.#server();
    const docUpstream = docExt['x-tollgate-upstream'];
    let upstreamOrigin: string | null = server.origin;
    let upstreamPath = server.path;
    if (this.#options.upstream !== undefined) {
      const u = this.#parseUpstreamOption(this.#options.upstream);
      if (u) {
        upstreamOrigin = u.origin;
        if (u.path !== '') upstreamPath = u.path;
      }
    }
    let upstreamName = name;
    let upstream: Json | null = null;
    if (typeof docUpstream === 'string') {
      upstreamName = docUpstream;
      if (this.#options.upstream !== undefined) this.warn('/x-tollgate-upstream', 'upstream_option_ignored', `the document routes to the existing Upstream "${docUpstream}": the upstream option is used for its path only`);
    } else {
      if (docUpstream !== undefined && !isObject(docUpstream)) this.error('/x-tollgate-upstream', 'invalid_extension', 'x-tollgate-upstream must be the name of an Upstream or an object of Upstream spec fields');
      const extSpec = isObject(docUpstream) ? docUpstream : {};
      if (upstreamOrigin === null && extSpec.targets === undefined) {
        this.error(server.at, 'no_upstream', `${server.url === null ? 'the document has no servers' : `servers[0] ("${server.url}") has no scheme and host`}: give an upstream URL (--upstream, or options.upstream), or x-tollgate-upstream`);
      }
      upstream = {
        apiVersion: API_VERSION,
        kind: 'Upstream',
        metadata: { name, labels: { 'tollgate.dev/imported-from': 'openapi' } },
        spec: { ...(upstreamOrigin !== null ? { targets: [{ url: upstreamOrigin }] } : {}), ...extSpec },
      };
    }

    // Gateway base path: option, x-tollgate-api.basePath, else the path of the first server (where
    // the document says the API lives, even when --upstream names another path on the upstream).
    const basePath = normalizeBase(this.#options.basePath ?? (typeof apiExt.basePath === 'string' ? apiExt.basePath : undefined) ?? (server.path === '' ? '/' : server.path));
    delete apiExt.basePath;
    const baseNoSlash = basePath === '/' ? '' : basePath;
    // Forward the path the upstream expects: unchanged when the gateway mirrors its base path,
    // else strip the gateway's and put the upstream's in front (rewrite.path from captures).
    const sameBase = baseNoSlash === upstreamPath;
    const stripBasePath = !sameBase;

    const operations = this.#operations();
    // --validate turns validation on; without it the document decides (an explicit false never overrides the document).
    const docValidate = this.#validation_(docExt['x-tollgate-validate'], '/x-tollgate-validate');
    const validateDefault: ValidateSetting = this.#options.validate === true ? { ...docValidate, on: true } : (docValidate ?? { on: false });
    const routes: Json[] = [];
    const origins: string[] = [];
    const used = new Set<string>();
    for (const o of operations) {
      const route = this.#route(o, { upstreamName, upstreamPath, rewrite: stripBasePath && upstreamPath !== '', docExt, validateDefault });
      if (route === null) continue;
      let n = route.name as string;
      for (let i = 2; used.has(n); i++) n = `${(route.name as string).slice(0, 58)}-${i}`;
      if (n !== route.name) this.warn(o.at, 'duplicate_route_name', `route name "${route.name as string}" is taken by another operation; this one is named "${n}"`);
      route.name = n;
      used.add(n);
      routes.push(route);
      origins.push(o.at);
    }
    if (routes.length === 0) this.error('/paths', 'no_operations', 'the document has no operations to route');
    if (isObject(doc.webhooks) && Object.keys(doc.webhooks).length > 0) this.warn('/webhooks', 'webhooks_not_routed', 'webhooks describe requests the API sends; the gateway routes none of them');

    // Extensions of security schemes no operation uses are still in their place.
    const schemes = isObject(doc.components) && isObject(doc.components.securitySchemes) ? doc.components.securitySchemes : {};
    for (const [n, sc] of Object.entries(schemes)) if (isObject(sc)) for (const k of EXTENSIONS.securityScheme) if (k in sc) this.#seen.add(pointer(['components', 'securitySchemes', n, k]));
    this.#strayExtensions(doc, []);
    const published = this.#published(operations);
    const policies = [...(Array.isArray(apiExt.policies) ? apiExt.policies : []), ...this.#policyList(docExt['x-tollgate-policies'], '/x-tollgate-policies')];
    delete apiExt.policies;
    const api: Json = {
      apiVersion: API_VERSION,
      kind: 'Api',
      metadata: {
        name,
        labels: { 'tollgate.dev/imported-from': 'openapi' },
        annotations: { 'tollgate.dev/openapi-title': typeof info.title === 'string' ? info.title : '', 'tollgate.dev/openapi-version': typeof info.version === 'string' ? info.version : String(info.version ?? '') },
      },
      spec: {
        description: (typeof info.title === 'string' ? info.title : '').slice(0, 4096),
        ...apiExt,
        basePath,
        stripBasePath,
        ...(policies.length > 0 ? { policies } : {}),
        routes,
        ...(published ? { openapi: published } : {}),
      },
    };

    // The model checks what was generated; its issues point back at the operation that caused them.
    if (this.errors.length === 0) {
      const docs = upstream ? [upstream, api] : [api];
      const v = validateDocuments(jsonDocuments(docs));
      if (!v.ok) {
        for (const i of v.issues) {
          const m = /^spec\.routes\[(\d+)\]/.exec(i.path);
          const at = m ? (origins[Number(m[1])] ?? '') : i.path.startsWith('spec.openapi') ? '/' : '';
          this.error(at, i.code, `${i.resource ?? ''} ${i.path}: ${i.message}`.trim());
        }
      }
    }
    if (this.#options.strict && this.warnings.length > 0) {
      for (const w of this.warnings) this.error(w.pointer, w.code, `${w.message} (strict import)`);
    }
    if (this.errors.length > 0) return { ok: false, errors: this.errors, warnings: this.warnings };
    return { ok: true, api: api as never, upstream: upstream as never, warnings: this.warnings, openapiVersion: String(doc.openapi), operations: routes.length };
  }

  /** Warns about `x-tollgate-*` members where no extension is read (inside schemas, responses…). */
  #strayExtensions(node: unknown, at: (string | number)[]): void {
    if (Array.isArray(node)) {
      node.forEach((v, i) => this.#strayExtensions(v, [...at, i]));
      return;
    }
    if (!isObject(node) || this.#ignored.has(pointer(at))) return;
    for (const [k, v] of Object.entries(node)) {
      const here = pointer([...at, k]);
      if (k.startsWith('x-tollgate-')) {
        if (!this.#seen.has(here)) this.warn(here, 'unknown_extension', `"${k}" has no meaning here; ignored`);
        continue;
      }
      this.#strayExtensions(v, [...at, k]);
    }
  }

  /** The first server with its variables at their defaults, split into origin and path. */
  #server(): { url: string | null; origin: string | null; path: string; at: string } {
    const servers = Array.isArray(this.#doc.servers) ? this.#doc.servers : [];
    if (servers.length > 1) this.warn('/servers/1', 'extra_servers', `only the first server is used as the upstream; ${servers.length - 1} more ignored`);
    const first = servers[0];
    if (!isObject(first) || typeof first.url !== 'string') return { url: null, origin: null, path: '', at: '/servers' };
    const vars = isObject(first.variables) ? first.variables : {};
    const url = first.url.replace(/\{([^{}]+)\}/g, (whole, v: string) => {
      const d = isObject(vars[v]) ? (vars[v] as Json).default : undefined;
      if (typeof d === 'string') return d;
      this.error(`/servers/0/variables/${escapePointer(v)}`, 'unknown_server_variable', `server variable {${v}} has no default`);
      return whole;
    });
    if (/^https?:\/\//i.test(url)) {
      try {
        const u = new URL(url);
        return { url, origin: u.origin, path: trimPath(u.pathname), at: '/servers/0/url' };
      } catch {
        this.error('/servers/0/url', 'invalid_server', `"${url}" is not a valid URL`);
        return { url, origin: null, path: '', at: '/servers/0/url' };
      }
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(url)) {
      this.error('/servers/0/url', 'invalid_server', `"${url}": only http and https servers can be proxied`);
      return { url, origin: null, path: '', at: '/servers/0/url' };
    }
    // A relative URL is relative to where the document is served (OAS §4.7.5): only its path is usable.
    const path = url.startsWith('//') ? '' : trimPath(`/${url.replace(/^\.?\/+/, '')}`.split(/[?#]/)[0] as string);
    return { url, origin: null, path, at: '/servers/0/url' };
  }

  #parseUpstreamOption(value: string): { origin: string; path: string } | null {
    try {
      const u = new URL(value);
      if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search || u.hash || u.username || u.password) throw new Error('bad');
      return { origin: u.origin, path: trimPath(u.pathname) };
    } catch {
      this.error('', 'invalid_option', `upstream "${value}" must be an http:// or https:// URL (origin and optional path, no query or credentials)`);
      return null;
    }
  }

  /** Every operation, most specific paths first (OAS: concrete paths before templated ones). */
  #operations(): Operation[] {
    const paths = isObject(this.#doc.paths) ? this.#doc.paths : {};
    const out: Operation[] = [];
    let order = 0;
    for (const [path, raw] of Object.entries(paths)) {
      if (path.startsWith('x-')) {
        this.#seen.add(`/paths/${escapePointer(path)}`);
        if (path.startsWith('x-tollgate-')) this.warn(`/paths/${escapePointer(path)}`, 'unknown_extension', `"${path}" is not a Tollgate extension here; ignored`);
        continue;
      }
      const itemAt = pointer(['paths', path]);
      const { value } = deref(this.#doc, raw, itemAt);
      if (!isObject(value)) continue;
      const pathExt = this.#extensions(value, itemAt, EXTENSIONS.path);
      if (pathExt['x-tollgate-ignore'] === true) {
        this.#ignored.add(itemAt);
        continue;
      }
      if (value.servers !== undefined) this.warn(`${itemAt}/servers`, 'path_servers', 'path-level servers are not used: the API\'s upstream serves this path (use x-tollgate-upstream)');
      for (const method of METHODS) {
        const op = value[method];
        if (!isObject(op)) continue;
        const at = `${itemAt}/${method}`;
        const opExt = this.#extensions(op, at, EXTENSIONS.operation);
        if (opExt['x-tollgate-ignore'] === true) {
          this.#ignored.add(at);
          continue;
        }
        if (op.servers !== undefined) this.warn(`${at}/servers`, 'operation_servers', 'operation-level servers are not used: the API\'s upstream serves this operation (use x-tollgate-upstream)');
        if (isObject(op.callbacks) && Object.keys(op.callbacks).length > 0) this.warn(`${at}/callbacks`, 'callbacks_not_routed', 'callbacks are requests the API sends; the gateway routes none of them');
        out.push({ path, method, op, item: value, at, itemAt, pathExt, opExt, order: order++ });
      }
    }
    return out.sort((a, b) => compareSpecificity(specificity(a.path), specificity(b.path)) || a.order - b.order);
  }

  #pathMapping(path: string): PathMapping {
    const segments = path.split('/').slice(1);
    let needsRegex = false;
    const taken = new Set<string>();
    const capture = (n: string): string => {
      let c = captureName(n);
      for (let i = 2; taken.has(c); i++) c = `${captureName(n).slice(0, 29)}_${i}`;
      taken.add(c);
      if (c !== n) needsRegex = true;
      return c;
    };
    const parts = segments.map((seg) => {
      const whole = /^\{([^{}]+)\}$/.exec(seg);
      if (whole) return { kind: 'param' as const, seg, cap: capture(whole[1] as string) };
      if (seg.includes('{')) {
        needsRegex = true;
        const pieces: Array<{ lit: string } | { cap: string }> = [];
        let last = 0;
        for (const m of seg.matchAll(/\{([^{}]+)\}/g)) {
          if ((m.index ?? 0) > last) pieces.push({ lit: seg.slice(last, m.index) });
          pieces.push({ cap: capture(m[1] as string) });
          last = (m.index ?? 0) + m[0].length;
        }
        if (last < seg.length) pieces.push({ lit: seg.slice(last) });
        return { kind: 'partial' as const, seg, pieces };
      }
      return { kind: 'literal' as const, seg };
    });
    if (!parts.some((p) => p.kind !== 'literal')) return { match: { exact: path }, rewrite: path };
    const rewrite = `/${parts.map((p) => (p.kind === 'literal' ? p.seg : p.kind === 'param' ? `{${p.cap}}` : p.pieces.map((x) => ('lit' in x ? x.lit : `{${x.cap}}`)).join(''))).join('/')}`;
    if (!needsRegex) return { match: { template: path }, rewrite };
    const regex = `/${parts
      .map((p) => (p.kind === 'literal' ? escapeRegex(p.seg) : p.kind === 'param' ? `(?P<${p.cap}>[^/]+)` : p.pieces.map((x) => ('lit' in x ? escapeRegex(x.lit) : `(?P<${x.cap}>[^/]+?)`)).join('')))
      .join('/')}`;
    return { match: { regex }, rewrite };
  }

  #route(o: Operation, ctx: { upstreamName: string; upstreamPath: string; rewrite: boolean; docExt: Json; validateDefault: ValidateSetting }): Json | null {
    const mapping = this.#pathMapping(o.path);
    const explicitName = o.opExt['x-tollgate-route-name'];
    const name = typeof explicitName === 'string' ? explicitName : routeName(o.op.operationId, o.method, o.path);
    const method = o.method.toUpperCase();
    // HEAD is GET without a body (RFC 9110 §9.3.2): served by the GET route unless the path declares its own.
    const methods = o.method === 'get' && !isObject(o.item.head) ? ['GET', 'HEAD'] : [method];
    const pick = <T>(key: string, test: (v: unknown) => v is T): T | undefined => {
      for (const [ext, at] of [[o.opExt, o.at], [o.pathExt, o.itemAt], [ctx.docExt, '']] as const) {
        const v = ext[key];
        if (v === undefined) continue;
        if (test(v)) return v;
        this.error(`${at}/${key}`, 'invalid_extension', `${key} has the wrong type`);
        return undefined;
      }
      return undefined;
    };
    const isNumber = (v: unknown): v is number => typeof v === 'number';
    const upstreamOverride = o.opExt['x-tollgate-upstream'] ?? o.pathExt['x-tollgate-upstream'];
    if (upstreamOverride !== undefined && typeof upstreamOverride !== 'string') this.error(`${o.at}/x-tollgate-upstream`, 'invalid_extension', 'below the document level, x-tollgate-upstream names an existing Upstream');
    const timeoutMs = pick('x-tollgate-timeout-ms', isNumber);
    const validate = this.#validation_(o.opExt['x-tollgate-validate'], `${o.at}/x-tollgate-validate`) ?? this.#validation_(o.pathExt['x-tollgate-validate'], `${o.itemAt}/x-tollgate-validate`) ?? ctx.validateDefault;

    const generated: Json[] = [...this.#security(o)];
    if (validate.on) generated.push({ name: 'request-validation', config: { ...this.#validation(o), ...(validate.maxBodyBytes !== undefined ? { maxBodyBytes: validate.maxBodyBytes } : {}) } });
    const byName = new Map<string, Json>(generated.map((p) => [p.name as string, p]));
    for (const p of [...this.#policyList(o.pathExt['x-tollgate-policies'], `${o.itemAt}/x-tollgate-policies`), ...this.#policyList(o.opExt['x-tollgate-policies'], `${o.at}/x-tollgate-policies`)]) {
      byName.delete(p.name as string); // a later (more specific) entry replaces an earlier one of the same name
      byName.set(p.name as string, p);
    }
    const route: Json = {
      name,
      match: [{ path: mapping.match, methods }],
      destination: { upstream: typeof upstreamOverride === 'string' ? upstreamOverride : ctx.upstreamName },
      ...(ctx.rewrite ? { rewrite: { path: `${ctx.upstreamPath}${mapping.rewrite === '/' ? '' : mapping.rewrite}` || '/' } } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(byName.size > 0 ? { policies: [...byName.values()] } : {}),
    };
    // x-tollgate-route: any other route field (retries, headers, fault, mirror…), document < path < operation.
    for (const [ext, at] of [[ctx.docExt, ''], [o.pathExt, o.itemAt], [o.opExt, o.at]] as const) {
      const extra = ext['x-tollgate-route'];
      if (extra === undefined) continue;
      if (!isObject(extra)) {
        this.error(`${at}/x-tollgate-route`, 'invalid_extension', 'x-tollgate-route must be an object of route fields');
        continue;
      }
      for (const [k, v] of Object.entries(extra)) {
        if (k === 'name' || k === 'match') {
          this.warn(`${at}/x-tollgate-route/${k}`, 'ignored_field', `x-tollgate-route.${k} is generated from the operation; ignored (use x-tollgate-route-name for the name)`);
          continue;
        }
        if (k === 'destinations' || k === 'redirect' || k === 'directResponse' || k === 'aggregate') delete route.destination;
        route[k] = v;
      }
    }
    return route;
  }

  /** An `x-tollgate-validate` value: `true`, `false` or `{ maxBodyBytes }` (on, with that body limit). */
  #validation_(v: unknown, at: string): ValidateSetting | undefined {
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return { on: v };
    if (isObject(v) && Object.keys(v).every((k) => k === 'maxBodyBytes') && (v.maxBodyBytes === undefined || typeof v.maxBodyBytes === 'number')) return { on: true, ...(typeof v.maxBodyBytes === 'number' ? { maxBodyBytes: v.maxBodyBytes } : {}) };
    this.error(at, 'invalid_extension', 'x-tollgate-validate must be true, false or { maxBodyBytes }');
    return undefined;
  }

  #policyList(value: unknown, at: string): Json[] {
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((p) => isObject(p) && typeof p.name === 'string')) {
      this.error(at, 'invalid_extension', 'x-tollgate-policies must be a list of policies ({ name, config })');
      return [];
    }
    return value as Json[];
  }

  /** A security scheme in Tollgate's terms, or null (warned about once, at the scheme). */
  #scheme(name: string): MappedScheme | null {
    if (this.#schemes.has(name)) return this.#schemes.get(name) ?? null;
    const at = pointer(['components', 'securitySchemes', name]);
    const schemes = isObject(this.#doc.components) && isObject(this.#doc.components.securitySchemes) ? this.#doc.components.securitySchemes : {};
    const { value } = deref(this.#doc, schemes[name], at);
    let mapped: MappedScheme | null = null;
    if (!isObject(value)) {
      this.warn(at, 'unknown_security_scheme', `security scheme "${name}" is not defined`);
    } else {
      const ext = this.#extensions(value, at, EXTENSIONS.securityScheme);
      const jwt = ext['x-tollgate-jwt'];
      const type = value.type;
      if (type === 'apiKey') {
        if (value.in === 'header' && typeof value.name === 'string') mapped = { kind: 'key', header: value.name.toLowerCase(), scoped: false };
        else if (value.in === 'query' && typeof value.name === 'string') mapped = { kind: 'key', query: value.name, scoped: false };
        else this.warn(`${at}/in`, 'unsupported_security', `API keys in a ${String(value.in)} are not supported by key-auth (header or query only)`);
      } else if (jwt !== undefined) {
        if (!isObject(jwt)) this.error(`${at}/x-tollgate-jwt`, 'invalid_extension', 'x-tollgate-jwt must be a jwt-auth config or one issuer ({ issuer, algorithms, audiences, jwksUri | jwks | publicKeys })');
        else if (type === 'http' && String(value.scheme).toLowerCase() !== 'bearer') this.warn(`${at}/scheme`, 'unsupported_security', `HTTP "${String(value.scheme)}" authentication is not supported`);
        else if (type === 'http' || type === 'oauth2' || type === 'openIdConnect') {
          const config = typeof jwt.issuer === 'string' ? { issuers: [jwt] } : jwt;
          mapped = { kind: 'jwt', jwt: config, scoped: type !== 'http' };
        } else this.warn(at, 'unsupported_security', `x-tollgate-jwt does not apply to a "${String(type)}" scheme`);
      } else if (type === 'http' && String(value.scheme).toLowerCase() === 'bearer') {
        this.warn(at, 'unsupported_security', `bearer scheme "${name}" needs x-tollgate-jwt (issuer, algorithms, audiences, keys) to be enforced as jwt-auth${typeof value.bearerFormat === 'string' && value.bearerFormat.toUpperCase() !== 'JWT' ? `; bearerFormat "${value.bearerFormat}" tokens are verified only if they are JWTs` : ''}`);
      } else if (type === 'oauth2' || type === 'openIdConnect') {
        this.warn(at, 'unsupported_security', `${type} scheme "${name}" needs x-tollgate-jwt (issuer, algorithms, audiences, keys) to be enforced as jwt-auth`);
      } else {
        this.warn(at, 'unsupported_security', `security scheme type "${String(type)}"${type === 'http' ? ` (${String(value.scheme)})` : ''} is not supported`);
      }
    }
    this.#schemes.set(name, mapped);
    return mapped;
  }

  /**
   * The effective security requirements of an operation as auth policies. Alternatives (the
   * list) map to several auth policies on the route, any of which may authenticate (the auth
   * gate refuses a request none did): the same OR as OpenAPI's.
   */
  #security(o: Operation): Json[] {
    const own = o.op.security !== undefined;
    const reqs = own ? o.op.security : this.#doc.security;
    const at = own ? `${o.at}/security` : '/security';
    if (!Array.isArray(reqs) || reqs.length === 0) return [];
    const headers: string[] = [];
    const queries: string[] = [];
    const issuers = new Map<string, unknown>();
    let jwtConfig: Json | null = null;
    const scopeSets: string[][] = [];
    const unmapped: string[] = [];
    const mappedNames: string[] = [];
    let optional = false;
    reqs.forEach((req, i) => {
      if (!isObject(req)) return;
      const names = Object.keys(req);
      if (names.length === 0) optional = true;
      if (names.length > 1) this.warn(`${at}/${i}`, 'security_and', `requires ${names.join(' and ')} together; Tollgate accepts any one of them (weaker than asked)`);
      for (const n of names) {
        const s = this.#scheme(n);
        if (s === null) {
          unmapped.push(n);
          continue;
        }
        mappedNames.push(n);
        if (s.kind === 'key') {
          if (s.header !== undefined && !headers.includes(s.header)) headers.push(s.header);
          if (s.query !== undefined && !queries.includes(s.query)) queries.push(s.query);
        } else {
          const cfg = s.jwt as Json;
          const { issuers: list, ...rest } = cfg;
          jwtConfig = { ...(jwtConfig ?? {}), ...rest };
          if (Array.isArray(list)) for (const iss of list) if (isObject(iss)) issuers.set(String(iss.issuer), iss);
          const scopes = req[n];
          if (s.scoped) scopeSets.push(Array.isArray(scopes) ? scopes.filter((x): x is string => typeof x === 'string') : []);
          else if (Array.isArray(scopes) && scopes.length > 0) this.warn(`${at}/${i}/${escapePointer(n)}`, 'roles_not_enforced', `role names (${scopes.join(', ')}) of a bearer scheme are not checked; give x-tollgate-policies an acl or jwt-auth claimValues`);
        }
      }
    });
    if (optional) {
      this.warn(at, 'optional_security', 'an empty security requirement ({}) makes authentication optional, which Tollgate cannot express: the operation is served WITHOUT authentication');
      return [];
    }
    if (mappedNames.length === 0) {
      this.warn(at, 'security_not_enforced', `no security scheme of this operation (${unmapped.join(', ')}) can be enforced: the operation is served WITHOUT authentication (give the scheme x-tollgate-jwt, or attach policies with x-tollgate-policies)`);
      return [];
    }
    if (unmapped.length > 0) this.warn(at, 'security_partial', `${[...new Set(unmapped)].join(', ')} cannot be enforced: callers must use ${[...new Set(mappedNames)].join(' or ')}`);
    const out: Json[] = [];
    if (headers.length > 0 || queries.length > 0) out.push({ name: 'key-auth', config: { headers, queryParams: queries } });
    if (jwtConfig !== null) {
      let scopes = scopeSets[0] ?? [];
      if (scopeSets.length > 1) {
        const all = scopeSets.slice(1);
        const common = scopes.filter((s) => all.every((set) => set.includes(s)));
        if (common.length !== scopes.length || all.some((set) => set.length !== common.length)) this.warn(at, 'security_scopes', `the token alternatives require different scopes; only the scopes they share (${common.join(' ') || 'none'}) are required`);
        scopes = common;
      }
      out.push({ name: 'jwt-auth', config: { ...(jwtConfig as Json), issuers: [...issuers.values()], ...(scopes.length > 0 ? { requiredScopes: scopes } : {}) } });
    }
    return out;
  }

  /** The request-validation policy config of an operation: parameter and body schemas. */
  #validation(o: Operation): Json {
    const params = new Map<string, { p: Json; at: string }>();
    for (const [list, base] of [[o.item.parameters, `${o.itemAt}/parameters`], [o.op.parameters, `${o.at}/parameters`]] as const) {
      if (!Array.isArray(list)) continue;
      list.forEach((raw, i) => {
        const { value } = deref(this.#doc, raw, `${base}/${i}`);
        if (isObject(value) && typeof value.name === 'string' && typeof value.in === 'string') params.set(`${value.in}:${value.name}`, { p: value, at: `${base}/${i}` });
      });
    }
    const parameters: Json[] = [];
    for (const { p, at } of params.values()) {
      const where = p.in as string;
      const name = p.name as string;
      if (where === 'header' && IGNORED_HEADERS.has(name.toLowerCase())) continue;
      if (p.schema === undefined) {
        this.warn(at, 'parameter_not_validated', `parameter "${name}" is described by "content", not "schema": not validated`);
        continue;
      }
      const style = typeof p.style === 'string' ? p.style : where === 'query' || where === 'cookie' ? 'form' : 'simple';
      if (!['form', 'simple', 'spaceDelimited', 'pipeDelimited'].includes(style)) {
        this.warn(`${at}/style`, 'parameter_not_validated', `parameter style "${style}" is not supported by request validation: "${name}" is not validated`);
        continue;
      }
      parameters.push({
        name,
        in: where,
        required: p.required === true || where === 'path',
        style,
        explode: typeof p.explode === 'boolean' ? p.explode : style === 'form',
        schema: this.#schemas.standalone(p.schema, `${at}/schema`),
      });
    }
    const declared = new Set([...params.values()].filter(({ p }) => p.in === 'path').map(({ p }) => p.name as string));
    for (const m of o.path.matchAll(/\{([^{}]+)\}/g)) if (!declared.has(m[1] as string)) this.warn(o.at, 'undeclared_path_parameter', `path parameter {${m[1]}} has no parameter object: any value is accepted`);
    const config: Json = { pathTemplate: o.path, parameters };
    const { value: rb, at: rbAt } = deref(this.#doc, o.op.requestBody, `${o.at}/requestBody`);
    if (isObject(rb) && isObject(rb.content)) {
      const content: Json = {};
      for (const [type, media] of Object.entries(rb.content)) {
        const mt = type.toLowerCase().split(';')[0]?.trim() ?? type;
        const at = `${rbAt}/content/${escapePointer(type)}`;
        const json = /^application\/(?:[\w.+-]+\+)?json$/.test(mt);
        const form = mt === 'application/x-www-form-urlencoded';
        if ((json || form) && isObject(media) && media.schema !== undefined) content[mt] = { schema: this.#schemas.standalone(media.schema, `${at}/schema`) };
        else {
          content[mt] = {};
          if (isObject(media) && media.schema !== undefined) this.warn(at, 'body_not_validated', `${mt} bodies are accepted but not validated (request validation reads JSON and form bodies)`);
        }
      }
      config.body = { required: rb.required === true, content };
    }
    return config;
  }

  /** The document published to consumers: as written, without gateway extensions or upstream servers. */
  #published(operations: readonly Operation[]): Json | null {
    const ext = this.#doc['x-tollgate-publish'];
    if (ext === false) return null;
    if (ext !== undefined && !(isObject(ext) && (ext.path === undefined || typeof ext.path === 'string'))) {
      this.error('/x-tollgate-publish', 'invalid_extension', 'x-tollgate-publish must be false or { path }');
      return null;
    }
    const path = isObject(ext) && typeof ext.path === 'string' ? ext.path : '/openapi.json';
    if (operations.some((o) => o.path === path)) {
      this.warn('/x-tollgate-publish', 'publish_path_taken', `the document has an operation at ${path}: the document is not published (set x-tollgate-publish.path)`);
      return null;
    }
    const document = stripForPublish(this.#doc);
    return { path, document };
  }
}

/** A copy without `x-tollgate-*` members and without `servers` (the gateway writes its own). */
function stripForPublish(doc: Json): Json {
  const out = stripExtensions(doc) as Json;
  // Top-level, path-item and operation servers name upstream addresses, not the gateway.
  delete out.servers;
  if (isObject(out.paths)) {
    for (const item of Object.values(out.paths)) {
      if (!isObject(item)) continue;
      delete item.servers;
      for (const m of METHODS) if (isObject(item[m])) delete (item[m] as Json).servers;
    }
  }
  return out;
}

function stripExtensions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripExtensions);
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) if (!k.startsWith('x-tollgate-')) out[k] = stripExtensions(v);
  return out;
}

function trimPath(p: string): string {
  const t = p.replace(/\/+$/, '');
  return t === '' ? '' : t.startsWith('/') ? t : `/${t}`;
}

function normalizeBase(p: string): string {
  const t = trimPath(p.trim());
  return t === '' ? '/' : t;
}
