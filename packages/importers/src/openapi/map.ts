import { API_VERSION, jsonDocuments, validateDocuments } from '@tollgate/model';
import { escapeRegex } from '../context.js';
import { captureName, kebab, routeName } from './names.js';
import type { ParsedOpenApi } from './parse.js';
import { deref, RequestSchemas } from './schemas.js';
import { escapePointer, isObject, pointer, type Json, type OpenApiError, type OpenApiImportOptions, type OpenApiImportResult, type OpenApiWarning } from './types.js';

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

/** A scheme as read once: its mapping, or why it has none. */
type SchemeReading = { mapped: MappedScheme; reason?: undefined } | { mapped: null; reason: string };

/** One security requirement alternative reduced to a single mapped scheme (and its scopes). */
interface Alternative {
  scheme: MappedScheme;
  scopes: string[];
}

/** What an operation's effective security requirement becomes. */
interface SecurityPlan {
  /** Auth policies enforcing the requirement (or what of it can be enforced faithfully). */
  policies: Json[];
  /** `all` when the requirement names several schemes together: the route gets `auth: { mode: all }`. */
  mode?: 'all';
  /**
   * Set when no alternative of the requirement can be enforced as written: the operation would be
   * served with weaker authentication than the document asks (or none). Refused unless the
   * operator opts in (`allowUnprotected`) or attaches authentication through x-tollgate-policies.
   */
  unenforced?: {
    at: string;
    /** Why each alternative cannot be enforced, for the message. */
    reasons: string[];
    /** Best effort under the opt-in: the schemes that can still be checked, each accepted alone. */
    fallback: Alternative[];
  };
}

/** Policies that authenticate callers (the gateway's auth gate follows them): see packages/policies. */
const AUTH_POLICIES = new Set(['key-auth', 'jwt-auth']);

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
  readonly #schemes = new Map<string, SchemeReading>();
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
    // Api-level policies (x-tollgate-api.policies, then x-tollgate-policies): run on every route.
    const policies = [...(Array.isArray(apiExt.policies) ? (apiExt.policies as Json[]) : []), ...this.#policyList(docExt['x-tollgate-policies'], '/x-tollgate-policies')];
    delete apiExt.policies;
    for (const o of operations) {
      const route = this.#route(o, { upstreamName, upstreamPath, rewrite: stripBasePath && upstreamPath !== '', docExt, validateDefault, apiPolicies: policies });
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

  #route(o: Operation, ctx: { upstreamName: string; upstreamPath: string; rewrite: boolean; docExt: Json; validateDefault: ValidateSetting; apiPolicies: readonly Json[] }): Json | null {
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

    const own = [...this.#policyList(o.pathExt['x-tollgate-policies'], `${o.itemAt}/x-tollgate-policies`), ...this.#policyList(o.opExt['x-tollgate-policies'], `${o.at}/x-tollgate-policies`)];
    const security = this.#security(o);
    const generated: Json[] = [...security.policies];
    // Attached policies replace generated ones of the same name; with mode all they still must all accept.
    if (security.unenforced) generated.push(...this.#unenforced(o, security.unenforced, own, ctx.apiPolicies));
    if (validate.on) generated.push({ name: 'request-validation', config: { ...this.#validation(o), ...(validate.maxBodyBytes !== undefined ? { maxBodyBytes: validate.maxBodyBytes } : {}) } });
    const byName = new Map<string, Json>(generated.map((p) => [p.name as string, p]));
    for (const p of own) {
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
      ...(security.mode === 'all' ? { auth: { mode: 'all' } } : {}),
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

  /**
   * An operation whose security requirement the import cannot enforce as written. Refused (an
   * error: the import answers 422) unless the route authenticates through policies the operator
   * attached (x-tollgate-policies at operation, path or document level, or x-tollgate-api.policies)
   * or the operator opted in with `allowUnprotected`: then it is imported with what can still be
   * checked (possibly nothing) and a warning. Returns the auth policies to add to the route.
   */
  #unenforced(o: Operation, u: NonNullable<SecurityPlan['unenforced']>, own: readonly Json[], apiPolicies: readonly Json[]): Json[] {
    const label = `${o.method.toUpperCase()} ${o.path}${typeof o.op.operationId === 'string' ? ` (${o.op.operationId})` : ''}`;
    const inherited = u.at === '/security' ? ' (inherited from /security)' : '';
    const why = [...new Set(u.reasons)].join('; ');
    const at = u.at === '/security' ? o.at : u.at;
    // A route-level entry replaces an Api-level one of the same name (compiler resolvePolicies).
    const effective = new Map<string, Json>();
    for (const p of [...apiPolicies, ...own]) if (isObject(p) && typeof p.name === 'string') effective.set(p.name, p);
    const attached = [...effective.values()].filter((p) => AUTH_POLICIES.has(p.name as string) && p.enabled !== false && !(p.name === 'jwt-auth' && isObject(p.config) && p.config.optional === true)).map((p) => p.name as string);
    if (attached.length > 0) {
      this.warn(at, 'security_by_policies', `${label}: the document's security requirement${inherited} is not mapped (${why}); the route authenticates with ${attached.join(' or ')} attached by the document (x-tollgate-policies, x-tollgate-api.policies) instead`);
      return [];
    }
    if (this.#options.allowUnprotected === true) {
      const fallback = this.#authPolicies(u.fallback, u.at);
      const names = fallback.map((p) => p.name as string);
      if (names.length > 0) this.warn(at, 'security_weakened', `${label} is imported with WEAKER authentication than its security requirement${inherited} (allowUnprotected): ${why}; it accepts any one credential of ${names.join(' or ')}`);
      else this.warn(at, 'security_not_enforced', `${label} is served WITHOUT authentication (allowUnprotected): its security requirement${inherited} cannot be enforced: ${why}`);
      return fallback;
    }
    this.error(
      at,
      'security_not_enforced',
      `${label}: its security requirement${inherited} cannot be enforced: ${why}. Refused rather than served with weaker or no authentication: give the scheme x-tollgate-jwt (a jwt-auth issuer) or attach key-auth / jwt-auth with x-tollgate-policies, or import such operations unprotected on purpose with --allow-unprotected (options.allowUnprotected, ?allowUnprotected=true)`,
    );
    return [];
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

  /** A security scheme in Tollgate's terms, or why it has none (warned about once, at the scheme). */
  #scheme(name: string): SchemeReading {
    const known = this.#schemes.get(name);
    if (known !== undefined) return known;
    const at = pointer(['components', 'securitySchemes', name]);
    const schemes = isObject(this.#doc.components) && isObject(this.#doc.components.securitySchemes) ? this.#doc.components.securitySchemes : {};
    const { value } = deref(this.#doc, schemes[name], at);
    let reading: SchemeReading;
    const unmapped = (where: string, message: string): SchemeReading => {
      this.warn(where, 'unsupported_security', message);
      return { mapped: null, reason: message };
    };
    if (!isObject(value)) {
      const message = `security scheme "${name}" is not defined`;
      this.warn(at, 'unknown_security_scheme', message);
      reading = { mapped: null, reason: message };
    } else {
      const ext = this.#extensions(value, at, EXTENSIONS.securityScheme);
      const jwt = ext['x-tollgate-jwt'];
      const type = value.type;
      if (type === 'apiKey') {
        if (value.in === 'header' && typeof value.name === 'string') reading = { mapped: { kind: 'key', header: value.name.toLowerCase(), scoped: false } };
        else if (value.in === 'query' && typeof value.name === 'string') reading = { mapped: { kind: 'key', query: value.name, scoped: false } };
        else reading = unmapped(`${at}/in`, `API keys in a ${String(value.in)} (scheme "${name}") are not supported by key-auth (header or query only)`);
      } else if (jwt !== undefined) {
        if (!isObject(jwt)) {
          const message = 'x-tollgate-jwt must be a jwt-auth config or one issuer ({ issuer, algorithms, audiences, jwksUri | jwks | publicKeys })';
          this.error(`${at}/x-tollgate-jwt`, 'invalid_extension', message);
          reading = { mapped: null, reason: message };
        } else if (type === 'http' && String(value.scheme).toLowerCase() !== 'bearer') reading = unmapped(`${at}/scheme`, `HTTP "${String(value.scheme)}" authentication (scheme "${name}") is not supported`);
        else if (type === 'http' || type === 'oauth2' || type === 'openIdConnect') {
          const config = typeof jwt.issuer === 'string' ? { issuers: [jwt] } : jwt;
          reading = { mapped: { kind: 'jwt', jwt: config, scoped: type !== 'http' } };
        } else reading = unmapped(at, `x-tollgate-jwt does not apply to a "${String(type)}" scheme ("${name}")`);
      } else if (type === 'http' && String(value.scheme).toLowerCase() === 'bearer') {
        reading = unmapped(at, `bearer scheme "${name}" needs x-tollgate-jwt (issuer, algorithms, audiences, keys) to be enforced as jwt-auth${typeof value.bearerFormat === 'string' && value.bearerFormat.toUpperCase() !== 'JWT' ? `; bearerFormat "${value.bearerFormat}" tokens are verified only if they are JWTs` : ''}`);
      } else if (type === 'oauth2' || type === 'openIdConnect') {
        reading = unmapped(at, `${type} scheme "${name}" needs x-tollgate-jwt (issuer, algorithms, audiences, keys) to be enforced as jwt-auth`);
      } else {
        reading = unmapped(at, `security scheme "${name}" of type "${String(type)}"${type === 'http' ? ` (${String(value.scheme)})` : ''} is not supported`);
      }
    }
    this.#schemes.set(name, reading);
    return reading;
  }

  /**
   * The effective security requirement of an operation (its own `security`, else the document's)
   * as auth policies. OpenAPI's list is an OR of requirement objects, each an AND of schemes
   * (OAS 3.1.0 §4.8.30). Alternatives naming one mappable scheme become auth policies on the
   * route, any of which may authenticate (the auth gate refuses a request none did): the same OR.
   * One alternative naming an API key and a token together becomes both policies with the route's
   * `auth: { mode: all }` (every credential required, same consumer): the AND.
   *
   * Fail closed: the import may be stricter than the document (an alternative it cannot enforce
   * is left out, so callers must use another), never weaker. When no alternative can be enforced
   * as written (an unmappable scheme; several schemes required together beyond one API key and one
   * token, which `auth: { mode: all }` enforces; alternatives needing different modes; role names
   * it does not check), the plan says so and {@link #route} refuses the operation unless the operator
   * opted in or attached authentication themselves.
   */
  #security(o: Operation): SecurityPlan {
    const own = o.op.security !== undefined;
    const reqs = own ? o.op.security : this.#doc.security;
    const at = own ? `${o.at}/security` : '/security';
    if (!Array.isArray(reqs) || reqs.length === 0) return { policies: [] };
    const faithful: Alternative[] = [];
    const fallback: Alternative[] = [];
    const reasons: string[] = [];
    const faithfulNames: string[] = [];
    /** Requirement objects of several schemes that `auth: { mode: all }` can enforce. */
    const conjunctions: Array<{ label: string; at: string; alternatives: Alternative[] }> = [];
    let optional = false;
    reqs.forEach((req, i) => {
      if (!isObject(req)) return;
      const names = Object.keys(req);
      if (names.length === 0) {
        optional = true;
        return;
      }
      const readings = names.map((n) => ({ n, r: this.#scheme(n), scopes: Array.isArray(req[n]) ? (req[n] as unknown[]).filter((x): x is string => typeof x === 'string') : [] }));
      const bad = readings.filter((x) => x.r.mapped === null);
      for (const x of bad) reasons.push(x.r.reason as string);
      const mapped = readings.filter((x) => x.r.mapped !== null).map((x) => ({ n: x.n, scheme: x.r.mapped as MappedScheme, scopes: x.scopes }));
      if (bad.length > 0) {
        fallback.push(...mapped.map((x) => ({ scheme: x.scheme, scopes: x.scheme.scoped ? x.scopes : [] })));
        return;
      }
      // Role names of a scheme without scopes (OAS 3.1: "a list of role names which are required
      // for the execution") are not something key-auth or a bare jwt-auth checks.
      const roles = mapped.filter((x) => !x.scheme.scoped && x.scopes.length > 0);
      for (const x of roles) reasons.push(`the role names of "${x.n}" (${x.scopes.join(', ')}) are not checked by ${x.scheme.kind === 'key' ? 'key-auth' : 'jwt-auth'}`);
      const alternatives = mapped.map((x) => ({ scheme: x.scheme, scopes: x.scheme.scoped ? x.scopes : [] }));
      if (names.length > 1 && roles.length === 0) {
        // Several schemes together: enforced with `auth: { mode: all }`, where every auth policy of
        // the route must accept its own credential. A route has one key-auth (one key per request)
        // and one jwt-auth (one token), so exactly one API key scheme and one token scheme can be
        // required together; two keys or two tokens cannot.
        const keys = mapped.filter((x) => x.scheme.kind === 'key').length;
        const tokens = mapped.length - keys;
        if (keys === 1 && tokens === 1) {
          conjunctions.push({ label: names.map((n) => `"${n}"`).join(' and '), at: `${at}/${i}`, alternatives });
          return;
        }
        reasons.push(`${names.map((n) => `"${n}"`).join(' and ')} are required together (${at}/${i}), but a route requires at most one API key (key-auth) and one token (jwt-auth) together (auth mode all): ${keys > 1 ? 'two API keys' : 'two tokens'} cannot both be required`);
      } else if (names.length > 1) reasons.push(`${names.map((n) => `"${n}"`).join(' and ')} are required together (${at}/${i})`);
      if (names.length === 1 && roles.length === 0) {
        faithful.push(...alternatives);
        faithfulNames.push(names[0] as string);
      } else fallback.push(...alternatives);
    });
    if (optional) {
      this.warn(at, 'optional_security', 'an empty security requirement ({}) makes authentication optional, which Tollgate cannot express: the operation is served WITHOUT authentication (as the document allows)');
      return { policies: [] };
    }
    if (faithful.length === 0 && conjunctions.length === 1 && reasons.length === 0) {
      const only = conjunctions[0] as (typeof conjunctions)[number];
      return { policies: this.#authPolicies(only.alternatives, at), mode: 'all' };
    }
    // A route has one auth mode: alternatives that need different ones (a scheme alone OR two
    // together; or two different pairs, which mode all would loosen into any key with any token)
    // cannot all be enforced on one route. Fail closed: keep only what one mode enforces exactly.
    if (conjunctions.length > 0) {
      const why = faithful.length > 0 ? 'one route cannot accept a single credential for some alternatives and require two for another' : conjunctions.length > 1 ? 'several pairs of schemes required together cannot be enforced on one route (auth mode all would accept any key with any token)' : 'the other alternatives cannot be enforced';
      for (const c of conjunctions) {
        reasons.push(`${c.label} are required together (${c.at}) but ${why}`);
        fallback.push(...c.alternatives);
      }
    }
    if (faithful.length > 0) {
      if (reasons.length > 0) this.warn(at, 'security_partial', `stricter than the document, some alternatives are not accepted: ${[...new Set(reasons)].join('; ')}; callers must use ${[...new Set(faithfulNames)].join(' or ')}`);
      return { policies: this.#authPolicies(faithful, at) };
    }
    return { policies: [], unenforced: { at, reasons, fallback } };
  }

  /** Auth policies accepting any one of the alternatives: one key-auth for every key location, one jwt-auth for every issuer. */
  #authPolicies(alternatives: readonly Alternative[], at: string): Json[] {
    const headers: string[] = [];
    const queries: string[] = [];
    const issuers = new Map<string, unknown>();
    let jwtConfig: Json | null = null;
    const scopeSets: string[][] = [];
    for (const { scheme: s, scopes } of alternatives) {
      if (s.kind === 'key') {
        if (s.header !== undefined && !headers.includes(s.header)) headers.push(s.header);
        if (s.query !== undefined && !queries.includes(s.query)) queries.push(s.query);
        continue;
      }
      const { issuers: list, ...rest } = s.jwt as Json;
      jwtConfig = { ...(jwtConfig ?? {}), ...rest };
      if (Array.isArray(list)) for (const iss of list) if (isObject(iss)) issuers.set(String(iss.issuer), iss);
      scopeSets.push(scopes);
    }
    const out: Json[] = [];
    if (headers.length > 0 || queries.length > 0) out.push({ name: 'key-auth', config: { headers, queryParams: queries } });
    if (jwtConfig !== null) {
      // One jwt-auth serves every token alternative; it requires one set of scopes. When the
      // alternatives ask for different ones, every scope any of them names is required: stricter
      // than the document (a caller with only one alternative's scopes is refused), never weaker.
      const scopes = [...new Set(scopeSets.flat())];
      const differ = scopeSets.some((set) => set.length !== scopes.length || !scopes.every((x) => set.includes(x)));
      if (differ) this.warn(at, 'security_scopes', `the token alternatives require different scopes; one jwt-auth requires all of them (${scopes.join(' ')}): stricter than the document`);
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
