import { API_VERSION, type ApiResource, type PolicyRef, type Route, type RouteMatch, type StringMatch } from '@tollgate/model';
import { escapeRegex, slug, type DocReader } from './context.js';
import { upstreamName, type BackendRegistry } from './backends.js';
import { hostAdmits, type ServedGateway } from './istio-gateway.js';

type Json = Record<string, unknown>;
type Path = (string | number)[];

/**
 * Istio's default retry policy when a route sets none: 2 retries on connect-failure,
 * refused-stream, unavailable, cancelled and 503 (Istio traffic-management concepts, "Retries").
 */
const ISTIO_DEFAULT_RETRIES: NonNullable<Route['retries']> = { attempts: 2, retryOn: ['connect-failure', 'reset', '503'], allowNonIdempotent: false };

const RETRY_ON: Record<string, Array<'connect-failure' | 'reset' | '502' | '503' | '504'>> = {
  'connect-failure': ['connect-failure'],
  reset: ['reset'],
  'refused-stream': ['reset'],
  'gateway-error': ['502', '503', '504'],
  '5xx': ['502', '503', '504'],
  '502': ['502'],
  '503': ['503'],
  '504': ['504'],
  'retriable-status-codes': [],
};

/** Istio StringMatch -> Tollgate StringMatch; `{}` (no field) means presence. */
function stringMatch(r: DocReader, v: unknown, path: Path, allowPrefix = true): StringMatch | undefined {
  const m = r.obj(v, path);
  if (!m) return undefined;
  r.only(m, path, ['exact', 'prefix', 'regex']);
  const exact = r.str(m.exact, [...path, 'exact']);
  const prefix = r.str(m.prefix, [...path, 'prefix']);
  const regex = r.str(m.regex, [...path, 'regex']);
  if (exact !== undefined) return { exact };
  if (prefix !== undefined) return allowPrefix && prefix !== '' ? { prefix } : { regex: `${escapeRegex(prefix)}.*` };
  if (regex !== undefined) return { regex };
  return { present: true };
}

/** The path part of one HTTPMatchRequest, with Istio's plain-string prefix semantics. */
function uriMatch(r: DocReader, v: unknown, path: Path, ignoreCase: boolean): { match: RouteMatch['path']; prefix?: string; kind: 'prefix' | 'exact' | 'regex' } | undefined {
  const m = r.obj(v, path);
  if (!m) return undefined;
  r.only(m, path, ['exact', 'prefix', 'regex']);
  const flag = ignoreCase ? '(?i)' : '';
  const exact = r.str(m.exact, [...path, 'exact']);
  const prefix = r.str(m.prefix, [...path, 'prefix']);
  const regex = r.str(m.regex, [...path, 'regex']);
  if (exact !== undefined) return { match: ignoreCase ? { regex: `${flag}${escapeRegex(exact)}` } : { exact }, kind: 'exact' };
  if (prefix !== undefined) {
    // Istio's prefix is a string prefix ("/status" also matches "/statusx"), unlike Tollgate's
    // segment prefix: an anchored regex keeps Istio's meaning exactly.
    if (prefix === '/' && !ignoreCase) return { match: { prefix: '/' }, prefix, kind: 'prefix' };
    return { match: { regex: `${flag}${escapeRegex(prefix)}.*` }, prefix, kind: 'prefix' };
  }
  if (regex !== undefined) return { match: { regex: `${flag}${regex}` }, kind: 'regex' };
  return undefined;
}

function matchBlock(r: DocReader, v: unknown, path: Path): { block: RouteMatch; uri?: ReturnType<typeof uriMatch> } | undefined {
  const m = r.obj(v, path) ?? {};
  r.only(m, path, ['name', 'uri', 'method', 'headers', 'queryParams', 'authority', 'ignoreUriCase', 'withoutHeaders']);
  const uri = uriMatch(r, m.uri, [...path, 'uri'], r.bool(m.ignoreUriCase, [...path, 'ignoreUriCase']) ?? false);
  const block: RouteMatch = { path: uri?.match ?? { prefix: '/' }, methods: [], headers: {}, queryParams: {} };
  const method = stringMatch(r, m.method, [...path, 'method']);
  if (method) {
    if ('exact' in method) block.methods = [method.exact.toUpperCase() as RouteMatch['methods'][number]];
    else r.warn([...path, 'method'], 'only exact method matches are supported; this condition is ignored');
  }
  for (const [name, hv] of Object.entries(r.obj(m.headers, [...path, 'headers']) ?? {})) {
    const sm = stringMatch(r, hv, [...path, 'headers', name]);
    if (sm) block.headers[name.toLowerCase()] = sm;
  }
  for (const [name, hv] of Object.entries(r.obj(m.withoutHeaders, [...path, 'withoutHeaders']) ?? {})) {
    const sm = stringMatch(r, hv, [...path, 'withoutHeaders', name]);
    if (sm && 'present' in sm) block.headers[name.toLowerCase()] = { absent: true };
    else r.warn([...path, 'withoutHeaders', name], 'withoutHeaders with a value condition is not supported; only absence ({}) is');
  }
  for (const [name, qv] of Object.entries(r.obj(m.queryParams, [...path, 'queryParams']) ?? {})) {
    const sm = stringMatch(r, qv, [...path, 'queryParams', name], false);
    if (sm) block.queryParams[name] = sm;
  }
  const authority = stringMatch(r, m.authority, [...path, 'authority']);
  if (authority) {
    // The authority is the Host header; a port in it does not change the host (RFC 9110 §7.2),
    // nor does a trailing dot (the router's normalized host drops both).
    const port = '\\.?(:[0-9]*)?';
    if ('exact' in authority) block.headers.host = { regex: `(?i)${escapeRegex(authority.exact)}${port}` };
    else if ('prefix' in authority) block.headers.host = { regex: `(?i)${escapeRegex(authority.prefix)}.*` };
    else if ('regex' in authority) block.headers.host = { regex: authority.regex };
  }
  return { block, uri };
}

/** `networking.istio.io` VirtualService -> one Api `vs-<name>`, one route per `http` entry. */
export function readVirtualService(r: DocReader, value: Json, gateways: Map<string, ServedGateway | undefined>, backends: BackendRegistry, apis: ApiResource[]): void {
  const name = (value.metadata as Json).name as string;
  r.only(value, [], ['apiVersion', 'kind', 'metadata', 'spec']);
  const spec = r.obj(value.spec, ['spec']) ?? {};
  r.only(spec, ['spec'], ['hosts', 'gateways', 'http', 'exportTo', 'tcp', 'tls']);
  for (const k of ['tcp', 'tls']) if (spec[k] !== undefined) r.warn(['spec', k], `${k} routes are not supported: Tollgate routes HTTP only`);
  const vsHosts = r.arr(spec.hosts, ['spec', 'hosts']).map((h, i) => r.str(h, ['spec', 'hosts', i])).filter((h): h is string => h !== undefined).map((h) => h.toLowerCase());
  const bound = r.arr(spec.gateways, ['spec', 'gateways']).map((g, i) => r.str(g, ['spec', 'gateways', i])).filter((g): g is string => g !== undefined).map((g) => (g.includes('/') ? g.slice(g.indexOf('/') + 1) : g));
  const external = bound.filter((g) => g !== 'mesh');
  if (external.length === 0) {
    // No `gateways` means `mesh` (Istio VirtualService reference): sidecar traffic, which an
    // edge gateway never sees. Serving it would expose internal routes, so it is skipped.
    r.warn(['spec', 'gateways'], 'the VirtualService applies only to the mesh (no gateway); Tollgate is an edge gateway and does not serve it. Bind it to a Gateway to serve it');
    return;
  }
  const admitted = new Set<string>();
  let served = false;
  for (const g of external) {
    if (!gateways.has(g)) {
      r.warn(['spec', 'gateways'], `Gateway "${g}" is not in this set; the VirtualService is served on its own hosts without checking them against the Gateway`);
      served = true;
      for (const h of vsHosts) admitted.add(h);
      continue;
    }
    const gw = gateways.get(g);
    if (!gw) continue;
    served = true;
    for (const h of vsHosts) {
      if (gw.hosts.some((p) => hostAdmits(p, h))) admitted.add(h);
      // A wildcard VirtualService host takes the Gateway hosts it covers.
      else for (const p of gw.hosts) if (hostAdmits(h, p)) admitted.add(p);
    }
  }
  if (!served) return r.warn(['spec', 'gateways'], 'none of the bound Gateways is served by Tollgate; the VirtualService is skipped');
  if (admitted.size === 0) return r.warn(['spec', 'hosts'], 'no host of the VirtualService is among the hosts of its Gateways; nothing is served');
  const hosts = admitted.has('*') ? [] : [...admitted];
  const routes: Route[] = [];
  const names = new Set<string>();
  r.arr(spec.http, ['spec', 'http']).forEach((hv, i) => {
    const route = httpRoute(r, hv, ['spec', 'http', i], backends);
    if (!route) return;
    let rn = route.name;
    if (names.has(rn)) rn = `${rn}-${i}`;
    names.add(rn);
    routes.push({ ...route, name: rn });
  });
  if (routes.length === 0) return r.warn(['spec', 'http'], 'the VirtualService has no HTTP routes Tollgate can serve');
  apis.push({
    apiVersion: API_VERSION,
    kind: 'Api',
    metadata: { name: `vs-${slug(name)}`, labels: { 'tollgate.dev/source': `VirtualService/${name}` }, annotations: {} },
    spec: { hosts, routes } as ApiResource['spec'],
  });
}

function destination(r: DocReader, v: unknown, path: Path, backends: BackendRegistry): { upstream: string; subset?: string } | undefined {
  const d = r.obj(v, path);
  if (!d) return void r.error(path, 'destination is required');
  r.only(d, path, ['host', 'subset', 'port']);
  const host = r.str(d.host, [...path, 'host']);
  if (!host) return void r.error([...path, 'host'], 'host is required');
  let port = r.num((r.obj(d.port, [...path, 'port']) ?? {}).number, [...path, 'port', 'number']);
  if (port === undefined) {
    // Istio: the port may be left out only when the service exposes a single port.
    const ports = backends.ports(host);
    if (ports.length === 1) port = ports[0]?.number;
    else return void r.error([...path, 'port'], ports.length === 0 ? `no ServiceEntry or Service in this set declares "${host}"; give port.number` : `"${host}" has several ports; give port.number`, 'unresolved_destination');
  }
  if (port === undefined) return undefined;
  const subset = r.str(d.subset, [...path, 'subset']);
  return { upstream: upstreamName(backends.key(host), port), ...(subset ? { subset } : {}) };
}

function headerOps(r: DocReader, v: unknown, path: Path): { set: Record<string, string>; add: Record<string, string>; remove: string[] } | undefined {
  const o = r.obj(v, path);
  if (!o) return undefined;
  r.only(o, path, ['set', 'add', 'remove']);
  return { set: r.labels(o.set, [...path, 'set']), add: r.labels(o.add, [...path, 'add']), remove: r.arr(o.remove, [...path, 'remove']).map((x, i) => r.str(x, [...path, 'remove', i]) ?? '').filter((x) => x !== '') };
}

function percentOf(r: DocReader, pct: unknown, legacy: unknown, path: Path): number {
  const p = r.obj(pct, path);
  if (p) return r.num(p.value, [...path, 'value']) ?? 100;
  return r.num(legacy, path) ?? 100;
}

function httpRoute(r: DocReader, v: unknown, path: Path, backends: BackendRegistry): Route | undefined {
  const h = r.obj(v, path);
  if (!h) return undefined;
  r.only(h, path, ['name', 'match', 'route', 'redirect', 'directResponse', 'rewrite', 'timeout', 'retries', 'fault', 'mirror', 'mirrorPercentage', 'mirrorPercent', 'mirror_percent', 'mirrors', 'corsPolicy', 'headers', 'delegate']);
  if (h.delegate !== undefined) {
    r.warn([...path, 'delegate'], 'delegate VirtualServices are not supported; the route is skipped');
    return undefined;
  }
  const given = r.str(h.name, [...path, 'name']);
  const route: Record<string, unknown> = { name: given ? slug(given) : `http-${String(path[path.length - 1])}`, policies: [] as PolicyRef[] };
  const blocks = r.arr(h.match, [...path, 'match']).map((m, i) => matchBlock(r, m, [...path, 'match', i])).filter((b) => b !== undefined);
  route.match = blocks.length > 0 ? blocks.map((b) => b.block) : [{ path: { prefix: '/' }, methods: [], headers: {}, queryParams: {} }];
  const dests = r.arr(h.route, [...path, 'route']);
  if (dests.length > 0) {
    const translated = dests.map((dv, i) => {
      const dp = [...path, 'route', i];
      const d = r.obj(dv, dp) ?? {};
      r.only(d, dp, ['destination', 'weight', 'headers']);
      if (d.headers !== undefined && dests.length > 1) r.warn([...dp, 'headers'], 'per-destination headers are only applied when the route has one destination');
      return { dest: destination(r, d.destination, [...dp, 'destination'], backends), weight: r.num(d.weight, [...dp, 'weight']), headers: d.headers };
    });
    if (translated.some((t) => !t.dest)) return undefined;
    if (translated.length === 1 && translated[0]) {
      route.destination = translated[0].dest;
      if (translated[0].headers !== undefined) {
        if (h.headers === undefined) h.headers = translated[0].headers;
        else r.warn([...path, 'route', 0, 'headers'], 'destination headers are not applied when the route also sets headers');
      }
    } else {
      // Istio: with several destinations, a missing weight is 0 (HTTPRouteDestination reference).
      const destinations = translated.map((t) => ({ ...t.dest, weight: t.weight ?? 0 }));
      if (destinations.every((d) => d.weight === 0)) return void r.error([...path, 'route'], 'the weights of the destinations sum to 0');
      route.destinations = destinations;
    }
  }
  const redirect = r.obj(h.redirect, [...path, 'redirect']);
  if (redirect) {
    const rp = [...path, 'redirect'];
    r.only(redirect, rp, ['uri', 'authority', 'port', 'scheme', 'redirectCode']);
    const uri = r.str(redirect.uri, [...rp, 'uri']);
    const authority = r.str(redirect.authority, [...rp, 'authority']);
    const port = r.num(redirect.port, [...rp, 'port']);
    const scheme = r.str(redirect.scheme, [...rp, 'scheme']);
    route.redirect = { code: r.num(redirect.redirectCode, [...rp, 'redirectCode']) ?? 301, ...(uri ? { path: uri } : {}), ...(authority ? { host: authority } : {}), ...(port ? { port } : {}), ...(scheme ? { scheme } : {}) };
  }
  const direct = r.obj(h.directResponse, [...path, 'directResponse']);
  if (direct) {
    const dp = [...path, 'directResponse'];
    r.only(direct, dp, ['status', 'body']);
    const body = r.obj(direct.body, [...dp, 'body']) ?? {};
    r.only(body, [...dp, 'body'], ['string']);
    route.directResponse = { status: r.num(direct.status, [...dp, 'status']) ?? 200, body: r.str(body.string, [...dp, 'body', 'string']) ?? '' };
  }
  const rewrite = r.obj(h.rewrite, [...path, 'rewrite']);
  if (rewrite) {
    const rp = [...path, 'rewrite'];
    r.only(rewrite, rp, ['uri', 'authority', 'uriRegexRewrite']);
    const out: Record<string, unknown> = {};
    const authority = r.str(rewrite.authority, [...rp, 'authority']);
    if (authority) out.host = authority;
    const uri = r.str(rewrite.uri, [...rp, 'uri']);
    if (uri !== undefined) {
      const prefixes = blocks.map((b) => b.uri).filter((u) => u?.kind === 'prefix').map((u) => u?.prefix ?? '/');
      const whole = blocks.some((b) => b.uri && b.uri.kind !== 'prefix');
      if (prefixes.length > 0 && whole) r.warn([...rp, 'uri'], 'rewrite.uri on a route mixing prefix and exact/regex matches replaces only the matched prefixes');
      if (prefixes.length > 0 || blocks.every((b) => !b.uri)) {
        // Istio replaces the matched prefix; a match without uri is the prefix "/".
        const alternatives = (prefixes.length > 0 ? prefixes : ['/']).sort((a, b) => b.length - a.length).map(escapeRegex);
        out.regex = { pattern: `^(?:${alternatives.join('|')})`, substitution: uri.replace(/\\/g, '\\\\') };
      } else out.prefix = uri;
    }
    const rr = r.obj(rewrite.uriRegexRewrite, [...rp, 'uriRegexRewrite']);
    if (rr) {
      r.only(rr, [...rp, 'uriRegexRewrite'], ['match', 'rewrite']);
      out.regex = { pattern: r.str(rr.match, [...rp, 'uriRegexRewrite', 'match']) ?? '', substitution: r.str(rr.rewrite, [...rp, 'uriRegexRewrite', 'rewrite']) ?? '' };
    }
    route.rewrite = out;
  }
  const timeout = r.duration(h.timeout, [...path, 'timeout']);
  // "0s" disables the timeout in Istio.
  if (timeout !== undefined && h.timeout !== '0s') route.timeoutMs = timeout;
  if (route.destination !== undefined || route.destinations !== undefined) route.retries = retries(r, h.retries, [...path, 'retries']);
  const fault = r.obj(h.fault, [...path, 'fault']);
  if (fault) {
    const fp = [...path, 'fault'];
    r.only(fault, fp, ['delay', 'abort']);
    const out: Record<string, unknown> = {};
    const delay = r.obj(fault.delay, [...fp, 'delay']);
    if (delay) {
      r.only(delay, [...fp, 'delay'], ['fixedDelay', 'percentage', 'percent']);
      const ms = r.duration(delay.fixedDelay, [...fp, 'delay', 'fixedDelay']);
      if (ms !== undefined) out.delay = { fixedDelayMs: ms, percentage: percentOf(r, delay.percentage, delay.percent, [...fp, 'delay', 'percentage']) };
    }
    const abort = r.obj(fault.abort, [...fp, 'abort']);
    if (abort) {
      r.only(abort, [...fp, 'abort'], ['httpStatus', 'percentage']);
      const status = r.num(abort.httpStatus, [...fp, 'abort', 'httpStatus']);
      if (status !== undefined) out.abort = { status, percentage: percentOf(r, abort.percentage, undefined, [...fp, 'abort', 'percentage']) };
    }
    if (Object.keys(out).length > 0) route.fault = out;
  }
  let mirrorSpec = h.mirror;
  const mirrors = r.arr(h.mirrors, [...path, 'mirrors']);
  if (mirrors.length > 0) {
    if (mirrors.length > 1) r.warn([...path, 'mirrors'], 'only the first mirror is used');
    const first = r.obj(mirrors[0], [...path, 'mirrors', 0]) ?? {};
    mirrorSpec = first.destination;
    if (first.percentage !== undefined) h.mirrorPercentage = first.percentage;
  }
  if (mirrorSpec !== undefined) {
    const m = destination(r, mirrorSpec, [...path, mirrors.length > 0 ? 'mirrors' : 'mirror'], backends);
    if (m) route.mirror = { ...m, percentage: percentOf(r, h.mirrorPercentage, h.mirrorPercent ?? h.mirror_percent, [...path, 'mirrorPercentage']) };
  }
  const headers = r.obj(h.headers, [...path, 'headers']);
  if (headers) {
    r.only(headers, [...path, 'headers'], ['request', 'response']);
    const request = headerOps(r, headers.request, [...path, 'headers', 'request']);
    const response = headerOps(r, headers.response, [...path, 'headers', 'response']);
    route.headers = { ...(request ? { request } : {}), ...(response ? { response } : {}) };
  }
  const cors = r.obj(h.corsPolicy, [...path, 'corsPolicy']);
  if (cors) (route.policies as PolicyRef[]).push({ name: 'cors', enabled: true, config: corsConfig(r, cors, [...path, 'corsPolicy']) });
  return route as unknown as Route;
}

function retries(r: DocReader, v: unknown, path: Path): Route['retries'] {
  const o = r.obj(v, path);
  if (!o) return ISTIO_DEFAULT_RETRIES;
  r.only(o, path, ['attempts', 'perTryTimeout', 'retryOn', 'retryRemoteLocalities']);
  const attempts = Math.min(10, r.num(o.attempts, [...path, 'attempts']) ?? 0);
  const perTry = r.duration(o.perTryTimeout, [...path, 'perTryTimeout']);
  const on = r.str(o.retryOn, [...path, 'retryOn']);
  let retryOn = ISTIO_DEFAULT_RETRIES.retryOn;
  if (on !== undefined) {
    const set = new Set<'connect-failure' | 'reset' | '502' | '503' | '504'>();
    for (const c of on.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const mapped = RETRY_ON[c];
      if (mapped) mapped.forEach((m) => set.add(m));
      else r.warn([...path, 'retryOn'], `retry condition "${c}" is not supported (connect-failure, reset, refused-stream, gateway-error, 5xx, 502, 503, 504 are)`);
      if (c === '5xx') r.warn([...path, 'retryOn'], '5xx retries 502, 503 and 504; other 5xx statuses are not retried');
    }
    retryOn = [...set];
  }
  return { attempts, retryOn, allowNonIdempotent: false, ...(perTry !== undefined ? { perTryTimeoutMs: perTry } : {}) };
}

function corsConfig(r: DocReader, c: Json, path: Path): Record<string, unknown> {
  r.only(c, path, ['allowOrigins', 'allowOrigin', 'allowMethods', 'allowHeaders', 'exposeHeaders', 'maxAge', 'allowCredentials']);
  const allowOrigins: string[] = [];
  const allowOriginRegexes: string[] = [];
  r.arr(c.allowOrigins, [...path, 'allowOrigins']).forEach((o, i) => {
    const sm = stringMatch(r, o, [...path, 'allowOrigins', i], false);
    if (!sm) return;
    if ('exact' in sm) allowOrigins.push(sm.exact);
    else if ('regex' in sm) allowOriginRegexes.push(sm.regex);
  });
  r.arr(c.allowOrigin, [...path, 'allowOrigin']).forEach((o, i) => {
    const s = r.str(o, [...path, 'allowOrigin', i]);
    if (s) allowOrigins.push(s);
  });
  const list = (k: string) => r.arr(c[k], [...path, k]).map((x, i) => r.str(x, [...path, k, i])).filter((x): x is string => x !== undefined);
  const maxAgeMs = r.duration(c.maxAge, [...path, 'maxAge']);
  return {
    allowOrigins,
    allowOriginRegexes,
    ...(c.allowMethods !== undefined ? { allowMethods: list('allowMethods') } : {}),
    allowHeaders: list('allowHeaders'),
    exposeHeaders: list('exposeHeaders'),
    allowCredentials: r.bool(c.allowCredentials, [...path, 'allowCredentials']) ?? false,
    ...(maxAgeMs !== undefined ? { maxAgeSeconds: Math.min(86_400, Math.round(maxAgeMs / 1000)) } : {}),
  };
}
