import { API_VERSION, type ApiResource, type CertificateResource, type Route, type RouteMatch, type StringMatch } from '@tollgate/model';
import { escapeRegex, slug, type DocReader } from './context.js';
import { upstreamName, type BackendRegistry } from './backends.js';
import { hostAdmits } from './istio-gateway.js';
import type { TlsSecret } from './kubernetes.js';

type Json = Record<string, unknown>;
type Path = (string | number)[];

/** One listener of a served Gateway API Gateway. */
interface Listener {
  name: string;
  port: number | undefined;
  /** Lower-cased `hostname`, or undefined (any host). */
  hostname: string | undefined;
}

/** A served `gateway.networking.k8s.io` Gateway: its HTTP(S) listeners. */
export interface ServedApiGateway {
  name: string;
  listeners: Listener[];
}

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTPS']);

/**
 * `gateway.networking.k8s.io` Gateway. Served when `gatewayClassName` is one of the classes
 * Tollgate serves (the same list as Ingress classes: `istio`, `tollgate` by default). HTTPS
 * listeners terminating TLS become Certificates from their `certificateRefs` Secrets.
 */
export function readApiGateway(r: DocReader, value: Json, classes: readonly string[], secrets: Map<string, TlsSecret>, certificates: CertificateResource[]): ServedApiGateway | undefined {
  const name = (value.metadata as Json).name as string;
  r.only(value, [], ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const spec = r.obj(value.spec, ['spec']) ?? {};
  r.only(spec, ['spec'], ['gatewayClassName', 'listeners', 'addresses', 'infrastructure']);
  if (spec.addresses !== undefined) r.warn(['spec', 'addresses'], 'addresses are not used: Tollgate listens on its own addresses');
  if (spec.infrastructure !== undefined) r.warn(['spec', 'infrastructure'], 'infrastructure is not used');
  const cls = r.str(spec.gatewayClassName, ['spec', 'gatewayClassName']);
  if (cls === undefined || !classes.includes(cls)) {
    r.warn(['spec', 'gatewayClassName'], `gateway class "${cls ?? ''}" is not served by Tollgate (served: ${classes.join(', ')}); the Gateway and the HTTPRoutes attached only to it are not served`);
    return undefined;
  }
  const listeners: Listener[] = [];
  r.arr(spec.listeners, ['spec', 'listeners']).forEach((lv, i) => {
    const path = ['spec', 'listeners', i];
    const l = r.obj(lv, path) ?? {};
    r.only(l, path, ['name', 'hostname', 'port', 'protocol', 'tls', 'allowedRoutes']);
    const lname = r.str(l.name, [...path, 'name']) ?? String(i);
    const protocol = (r.str(l.protocol, [...path, 'protocol']) ?? 'HTTP').toUpperCase();
    if (!HTTP_PROTOCOLS.has(protocol)) return r.warn([...path, 'protocol'], `protocol ${protocol} is not served (Tollgate serves HTTP and HTTPS)`);
    const hostname = r.str(l.hostname, [...path, 'hostname'])?.toLowerCase();
    const allowed = r.obj(l.allowedRoutes, [...path, 'allowedRoutes']);
    if (allowed) {
      r.only(allowed, [...path, 'allowedRoutes'], ['namespaces', 'kinds']);
      const from = r.str((r.obj(allowed.namespaces, [...path, 'allowedRoutes', 'namespaces']) ?? {}).from, [...path, 'allowedRoutes', 'namespaces', 'from']);
      // Tollgate has no namespaces: every HTTPRoute of the set may attach (Same and All read alike).
      if (from === 'Selector') r.warn([...path, 'allowedRoutes', 'namespaces'], 'namespace selectors are not evaluated; every HTTPRoute of the set may attach');
    }
    listeners.push({ name: lname, port: r.num(l.port, [...path, 'port']), hostname });
    if (protocol !== 'HTTPS') return;
    const tp = [...path, 'tls'];
    const tls = r.obj(l.tls, tp) ?? {};
    r.only(tls, tp, ['mode', 'certificateRefs', 'options', 'frontendValidation']);
    if (tls.options !== undefined) r.warn([...tp, 'options'], 'TLS options are not supported');
    if (tls.frontendValidation !== undefined) r.warn([...tp, 'frontendValidation'], 'client certificate validation from a Gateway API listener is not supported');
    const mode = r.str(tls.mode, [...tp, 'mode']) ?? 'Terminate';
    if (mode !== 'Terminate') return r.warn([...tp, 'mode'], `TLS mode ${mode} is not supported (Terminate is)`);
    const refs = r.arr(tls.certificateRefs, [...tp, 'certificateRefs']);
    if (refs.length === 0) return r.error([...tp, 'certificateRefs'], 'an HTTPS listener needs certificateRefs', 'unknown_secret');
    if (refs.length > 1) r.warn([...tp, 'certificateRefs'], 'only the first certificate is used');
    const rp = [...tp, 'certificateRefs', 0];
    const ref = r.obj(refs[0], rp) ?? {};
    r.only(ref, rp, ['group', 'kind', 'name', 'namespace']);
    const kind = r.str(ref.kind, [...rp, 'kind']) ?? 'Secret';
    if (kind !== 'Secret') return r.error([...rp, 'kind'], `certificateRefs of kind ${kind} are not supported (Secret is)`, 'unsupported_value');
    const secretName = r.str(ref.name, [...rp, 'name']) ?? '';
    const secret = secrets.get(secretName);
    if (!secret?.cert) return r.error([...rp, 'name'], `no Secret "${secretName}" with tls.crt and tls.key in this set`, 'unknown_secret');
    certificates.push({
      apiVersion: API_VERSION,
      kind: 'Certificate',
      metadata: { name: `gwapi-${slug(name)}-${slug(lname)}`, labels: { 'tollgate.dev/source': `Gateway/${name}` }, annotations: { 'tollgate.dev/secret': secretName } },
      spec: { certificate: secret.cert, privateKey: secret.key, hosts: hostname && hostname !== '*' ? [hostname] : [], default: hostname === undefined || hostname === '*' } as CertificateResource['spec'],
    });
  });
  return { name, listeners };
}

/** The hosts both a route hostname and a listener hostname admit (Gateway API hostname intersection). */
function intersect(route: string, listener: string | undefined): string | undefined {
  if (listener === undefined || listener === '*') return route;
  if (hostAdmits(listener, route)) return route;
  if (hostAdmits(route, listener)) return listener;
  return undefined;
}

/** One (rule, match) pair, the unit Gateway API orders by precedence. */
interface Candidate {
  route: Route;
  rank: number[];
}

/** Gateway API HTTPRoute (v1, v1beta1) -> one Api `hr-<name>`, one route per (rule, match). */
export function readHttpRoute(r: DocReader, value: Json, gateways: Map<string, ServedApiGateway | undefined>, backends: BackendRegistry, apis: ApiResource[]): void {
  const name = (value.metadata as Json).name as string;
  r.only(value, [], ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const spec = r.obj(value.spec, ['spec']) ?? {};
  r.only(spec, ['spec'], ['parentRefs', 'hostnames', 'rules']);
  const routeHosts = r.arr(spec.hostnames, ['spec', 'hostnames']).map((h, i) => r.str(h, ['spec', 'hostnames', i])?.toLowerCase()).filter((h): h is string => h !== undefined);
  const parents = r.arr(spec.parentRefs, ['spec', 'parentRefs']);
  if (parents.length === 0) return r.warn(['spec', 'parentRefs'], 'the HTTPRoute has no parentRefs and attaches to no Gateway; it is not served');
  const hosts = new Set<string>();
  let anyHost = false;
  let served = false;
  parents.forEach((pv, i) => {
    const pp = ['spec', 'parentRefs', i];
    const p = r.obj(pv, pp) ?? {};
    r.only(p, pp, ['group', 'kind', 'name', 'namespace', 'sectionName', 'port']);
    const kind = r.str(p.kind, [...pp, 'kind']) ?? 'Gateway';
    const group = r.str(p.group, [...pp, 'group']) ?? 'gateway.networking.k8s.io';
    if (kind !== 'Gateway' || group !== 'gateway.networking.k8s.io') return r.warn(pp, `parentRef ${group}/${kind} is not a Gateway (mesh routing is not served at the edge)`);
    const gname = r.str(p.name, [...pp, 'name']) ?? '';
    const section = r.str(p.sectionName, [...pp, 'sectionName']);
    const port = r.num(p.port, [...pp, 'port']);
    if (!gateways.has(gname)) {
      r.warn(pp, `Gateway "${gname}" is not in this set; the HTTPRoute is served on its own hostnames without checking them against the Gateway`);
      served = true;
      if (routeHosts.length === 0) anyHost = true;
      for (const h of routeHosts) hosts.add(h);
      return;
    }
    const gw = gateways.get(gname);
    if (!gw) return;
    const listeners = gw.listeners.filter((l) => (section === undefined || l.name === section) && (port === undefined || l.port === port));
    if (listeners.length === 0) return r.warn(pp, `Gateway "${gname}" has no HTTP listener${section ? ` "${section}"` : ''}${port ? ` on port ${port}` : ''}`);
    served = true;
    for (const l of listeners) {
      if (routeHosts.length === 0) {
        if (l.hostname === undefined || l.hostname === '*') anyHost = true;
        else hosts.add(l.hostname);
      } else for (const h of routeHosts) {
        const both = intersect(h, l.hostname);
        if (both !== undefined) hosts.add(both);
      }
    }
  });
  if (!served) return r.warn(['spec', 'parentRefs'], 'none of the parent Gateways is served by Tollgate; the HTTPRoute is skipped');
  if (!anyHost && hosts.size === 0) return r.warn(['spec', 'hostnames'], 'no hostname of the HTTPRoute is admitted by its listeners; nothing is served');
  const candidates: Candidate[] = [];
  r.arr(spec.rules, ['spec', 'rules']).forEach((rv, i) => candidates.push(...rule(r, rv, ['spec', 'rules', i], i, backends)));
  if (candidates.length === 0) return r.warn(['spec', 'rules'], 'the HTTPRoute has no rules Tollgate can serve');
  // Gateway API precedence: Exact path, then (regular expressions, implementation-specific, then)
  // the longest prefix, a method match, most header matches, most query matches, then list order.
  candidates.sort((a, b) => {
    for (let k = 0; k < a.rank.length; k++) if ((a.rank[k] as number) !== (b.rank[k] as number)) return (a.rank[k] as number) - (b.rank[k] as number);
    return 0;
  });
  apis.push({
    apiVersion: API_VERSION,
    kind: 'Api',
    metadata: { name: `hr-${slug(name)}`, labels: { 'tollgate.dev/source': `HTTPRoute/${name}` }, annotations: {} },
    spec: { hosts: anyHost ? [] : [...hosts].sort(), routes: candidates.map((c) => c.route) } as ApiResource['spec'],
  });
}

function backendRef(r: DocReader, v: unknown, path: Path, backends: BackendRegistry): { upstream: string; weight: number } | undefined {
  const b = r.obj(v, path) ?? {};
  r.only(b, path, ['group', 'kind', 'name', 'namespace', 'port', 'weight', 'filters']);
  if (b.filters !== undefined) r.warn([...path, 'filters'], 'per-backend filters are not supported; they are ignored');
  const group = r.str(b.group, [...path, 'group']) ?? '';
  const kind = r.str(b.kind, [...path, 'kind']) ?? 'Service';
  const name = r.str(b.name, [...path, 'name']);
  if (!name) return void r.error([...path, 'name'], 'name is required');
  // Istio's `networking.istio.io` Hostname backends name a ServiceEntry host.
  const isService = group === '' && kind === 'Service';
  if (!isService && !(group === 'networking.istio.io' && kind === 'Hostname')) return void r.error([...path, 'kind'], `backendRefs of ${group || 'core'}/${kind} are not supported (Service and networking.istio.io Hostname are)`, 'unsupported_value');
  let port = r.num(b.port, [...path, 'port']);
  if (port === undefined) {
    // The Gateway API requires a port for Service backends; a single-port backend is accepted.
    const ports = backends.ports(name);
    if (ports.length === 1) port = ports[0]?.number;
    else return void r.error([...path, 'port'], 'port is required for a Service backend', 'unresolved_destination');
  }
  if (port === undefined) return undefined;
  const weight = r.num(b.weight, [...path, 'weight']) ?? 1;
  return { upstream: upstreamName(backends.key(name), port), weight };
}

function stringValueMatch(r: DocReader, v: Json, path: Path): StringMatch | undefined {
  const type = r.str(v.type, [...path, 'type']) ?? 'Exact';
  const value = r.str(v.value, [...path, 'value']) ?? '';
  if (type === 'Exact') return { exact: value };
  if (type === 'RegularExpression') return { regex: value };
  r.error([...path, 'type'], `match type ${type} is not supported (Exact and RegularExpression are)`, 'unsupported_value');
  return undefined;
}

function headerOps(r: DocReader, v: unknown, path: Path): { set: Record<string, string>; add: Record<string, string>; remove: string[] } {
  const o = r.obj(v, path) ?? {};
  r.only(o, path, ['set', 'add', 'remove']);
  const pairs = (k: 'set' | 'add') => {
    const out: Record<string, string> = {};
    r.arr(o[k], [...path, k]).forEach((e, i) => {
      const p = r.obj(e, [...path, k, i]) ?? {};
      r.only(p, [...path, k, i], ['name', 'value']);
      const n = r.str(p.name, [...path, k, i, 'name']);
      if (n) out[n.toLowerCase()] = r.str(p.value, [...path, k, i, 'value']) ?? '';
    });
    return out;
  };
  return { set: pairs('set'), add: pairs('add'), remove: r.arr(o.remove, [...path, 'remove']).map((x, i) => r.str(x, [...path, 'remove', i]) ?? '').filter((x) => x !== '').map((x) => x.toLowerCase()) };
}

/** The path part of a prefix replacement: Gateway API replaces whole path elements (`ReplacePrefixMatch`). */
function replacePrefix(prefix: string, replacement: string): { pattern: string; substitution: string } {
  const p = prefix.replace(/\/+$/, '');
  const rep = replacement.replace(/\/+$/, '');
  // The match already guarantees the prefix ends at an element boundary.
  if (rep === '') return { pattern: `^${escapeRegex(p)}/?`, substitution: '/' };
  return { pattern: `^${escapeRegex(p)}`, substitution: rep.replace(/\\/g, '\\\\') };
}

function rule(r: DocReader, v: unknown, path: Path, index: number, backends: BackendRegistry): Candidate[] {
  const h = r.obj(v, path) ?? {};
  r.only(h, path, ['name', 'matches', 'filters', 'backendRefs', 'timeouts', 'retry', 'sessionPersistence']);
  for (const k of ['retry', 'sessionPersistence']) if (h[k] !== undefined) r.warn([...path, k], `${k} is not supported`);
  const given = r.str(h.name, [...path, 'name']);
  const base = given ? slug(given) : `rule-${index}`;
  // Actions shared by every match of the rule.
  const action: Record<string, unknown> = { policies: [] };
  const refs = r.arr(h.backendRefs, [...path, 'backendRefs']).map((b, i) => backendRef(r, b, [...path, 'backendRefs', i], backends));
  if (refs.some((x) => x === undefined)) return [];
  const live = refs as Array<{ upstream: string; weight: number }>;
  let rewritePrefix: string | undefined;
  let redirectPrefix: string | undefined;
  r.arr(h.filters, [...path, 'filters']).forEach((fv, i) => {
    const fp = [...path, 'filters', i];
    const f = r.obj(fv, fp) ?? {};
    const type = r.str(f.type, [...fp, 'type']) ?? '';
    // The field holding a filter's settings is its type in lower camel case (`URLRewrite` -> `urlRewrite`).
    const key = type === 'URLRewrite' ? 'urlRewrite' : type.charAt(0).toLowerCase() + type.slice(1);
    r.only(f, fp, ['type', key]);
    const body = r.obj(f[key], [...fp, key]) ?? {};
    const bp = [...fp, key];
    switch (type) {
      case 'RequestHeaderModifier':
      case 'ResponseHeaderModifier': {
        const headers = (action.headers ??= {}) as Record<string, unknown>;
        headers[type === 'RequestHeaderModifier' ? 'request' : 'response'] = headerOps(r, body, bp);
        break;
      }
      case 'RequestRedirect': {
        r.only(body, bp, ['scheme', 'hostname', 'path', 'port', 'statusCode']);
        const scheme = r.str(body.scheme, [...bp, 'scheme']);
        const host = r.str(body.hostname, [...bp, 'hostname']);
        const port = r.num(body.port, [...bp, 'port']);
        const redirect: Record<string, unknown> = { code: r.num(body.statusCode, [...bp, 'statusCode']) ?? 302, ...(scheme ? { scheme } : {}), ...(host ? { host } : {}), ...(port ? { port } : {}) };
        const p = r.obj(body.path, [...bp, 'path']);
        if (p) {
          r.only(p, [...bp, 'path'], ['type', 'replaceFullPath', 'replacePrefixMatch']);
          if (p.type === 'ReplaceFullPath') redirect.path = r.str(p.replaceFullPath, [...bp, 'path', 'replaceFullPath']) ?? '/';
          else redirectPrefix = r.str(p.replacePrefixMatch, [...bp, 'path', 'replacePrefixMatch']) ?? '/';
        }
        action.redirect = redirect;
        break;
      }
      case 'URLRewrite': {
        r.only(body, bp, ['hostname', 'path']);
        const rewrite: Record<string, unknown> = {};
        const host = r.str(body.hostname, [...bp, 'hostname']);
        if (host) rewrite.host = host;
        const p = r.obj(body.path, [...bp, 'path']);
        if (p) {
          r.only(p, [...bp, 'path'], ['type', 'replaceFullPath', 'replacePrefixMatch']);
          if (p.type === 'ReplaceFullPath') rewrite.regex = { pattern: '^.*$', substitution: (r.str(p.replaceFullPath, [...bp, 'path', 'replaceFullPath']) ?? '/').replace(/\\/g, '\\\\') };
          else rewritePrefix = r.str(p.replacePrefixMatch, [...bp, 'path', 'replacePrefixMatch']) ?? '/';
        }
        action.rewrite = rewrite;
        break;
      }
      case 'RequestMirror': {
        r.only(body, bp, ['backendRef', 'percent', 'fraction']);
        const m = backendRef(r, body.backendRef, [...bp, 'backendRef'], backends);
        const fraction = r.obj(body.fraction, [...bp, 'fraction']);
        const percentage = fraction ? (100 * (r.num(fraction.numerator, [...bp, 'fraction', 'numerator']) ?? 0)) / (r.num(fraction.denominator, [...bp, 'fraction', 'denominator']) ?? 100) : (r.num(body.percent, [...bp, 'percent']) ?? 100);
        if (m) action.mirror = { upstream: m.upstream, percentage };
        break;
      }
      default:
        r.warn(fp, `filter ${type || '(no type)'} is not supported and is ignored`);
    }
  });
  const timeouts = r.obj(h.timeouts, [...path, 'timeouts']);
  if (timeouts) {
    r.only(timeouts, [...path, 'timeouts'], ['request', 'backendRequest']);
    const ms = timeouts.request === '0s' ? undefined : r.duration(timeouts.request, [...path, 'timeouts', 'request']);
    if (ms !== undefined) action.timeoutMs = ms;
    if (timeouts.backendRequest !== undefined) r.warn([...path, 'timeouts', 'backendRequest'], 'backendRequest is not supported; the request timeout covers every try');
  }
  if (action.redirect === undefined) {
    const weighted = live.filter((b) => b.weight > 0);
    // Gateway API: a rule with no usable backend answers 500.
    if (weighted.length === 0) action.directResponse = { status: 500, body: '' };
    else if (live.length === 1 && live[0]) action.destination = { upstream: live[0].upstream };
    else action.destinations = live.map((b) => ({ upstream: b.upstream, weight: b.weight }));
  } else if (live.length > 0) r.warn([...path, 'backendRefs'], 'a rule with a RequestRedirect filter redirects; its backendRefs are not used');
  const matches = r.arr(h.matches, [...path, 'matches']);
  const list = matches.length > 0 ? matches : [{}];
  const out: Candidate[] = [];
  list.forEach((mv, j) => {
    const mp = [...path, 'matches', j];
    const m = r.obj(mv, mp) ?? {};
    r.only(m, mp, ['path', 'headers', 'queryParams', 'method']);
    const pm = r.obj(m.path, [...mp, 'path']) ?? {};
    r.only(pm, [...mp, 'path'], ['type', 'value']);
    const ptype = r.str(pm.type, [...mp, 'path', 'type']) ?? 'PathPrefix';
    const pvalue = r.str(pm.value, [...mp, 'path', 'value']) ?? '/';
    let pathMatch: RouteMatch['path'];
    let rank: number;
    if (ptype === 'Exact') [pathMatch, rank] = [{ exact: pvalue }, 0];
    else if (ptype === 'RegularExpression') [pathMatch, rank] = [{ regex: pvalue }, 1];
    // PathPrefix matches whole path elements, as Tollgate's prefix does ("/foo" is not "/foobar").
    else if (ptype === 'PathPrefix') [pathMatch, rank] = [{ prefix: pvalue === '' ? '/' : pvalue }, 2];
    else return r.error([...mp, 'path', 'type'], `path match type ${ptype} is not supported`, 'unsupported_value');
    const block: RouteMatch = { path: pathMatch, methods: [], headers: {}, queryParams: {} };
    const method = r.str(m.method, [...mp, 'method']);
    if (method) block.methods = [method.toUpperCase() as RouteMatch['methods'][number]];
    r.arr(m.headers, [...mp, 'headers']).forEach((hv, k) => {
      const hp = [...mp, 'headers', k];
      const hm = r.obj(hv, hp) ?? {};
      r.only(hm, hp, ['type', 'name', 'value']);
      const n = r.str(hm.name, [...hp, 'name'])?.toLowerCase();
      const sm = stringValueMatch(r, hm, hp);
      // Header names are case-insensitive; the first match of a name wins (Gateway API).
      if (n && sm && block.headers[n] === undefined) block.headers[n] = sm;
    });
    r.arr(m.queryParams, [...mp, 'queryParams']).forEach((qv, k) => {
      const qp = [...mp, 'queryParams', k];
      const qm = r.obj(qv, qp) ?? {};
      r.only(qm, qp, ['type', 'name', 'value']);
      const n = r.str(qm.name, [...qp, 'name']);
      const sm = stringValueMatch(r, qm, qp);
      if (n && sm && block.queryParams[n] === undefined) block.queryParams[n] = sm;
    });
    const route: Record<string, unknown> = { name: list.length > 1 ? `${base}-${j}` : base, match: [block], ...structuredClone(action) };
    for (const [prefix, key] of [[rewritePrefix, 'rewrite'], [redirectPrefix, 'redirect']] as const) {
      if (prefix === undefined) continue;
      if (!('prefix' in pathMatch)) {
        r.error([...path, 'filters'], 'ReplacePrefixMatch needs a PathPrefix match (Gateway API)', 'invalid_value');
        continue;
      }
      if (key === 'rewrite') (route.rewrite as Record<string, unknown>).regex = replacePrefix(pathMatch.prefix, prefix);
      else {
        // Tollgate's redirect has no prefix replacement; an Exact-like answer would be wrong for deeper paths.
        r.warn([...path, 'filters'], 'RequestRedirect ReplacePrefixMatch is not supported; the redirect keeps the request path');
      }
    }
    const prefixLength = 'prefix' in pathMatch ? pathMatch.prefix.replace(/\/+$/, '').length : 0;
    out.push({ route: route as unknown as Route, rank: [rank, -prefixLength, block.methods.length > 0 ? 0 : 1, -Object.keys(block.headers).length, -Object.keys(block.queryParams).length, index, j] });
  });
  return out;
}
