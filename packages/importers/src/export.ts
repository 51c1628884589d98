import { stringify } from 'yaml';
import type { ApiResource, Resource, Route, StringMatch, UpstreamResource } from '@tollgate/model';
import { exportSecurity } from './export-security.js';
import { DEFAULT_GATEWAY_LABELS } from './import.js';

/** A foreign document written by `exportAs`. */
export type ForeignDocument = Record<string, unknown>;

/** Result of an export: the documents, and what had no mapping (never dropped silently). */
export interface ExportResult {
  documents: ForeignDocument[];
  warnings: string[];
}

/** The Gateway every exported VirtualService is bound to. */
const EXPORT_GATEWAY = 'tollgate-gateway';

function targetsOf(u: UpstreamResource): Array<{ host: string; port: number; labels: Record<string, string> }> {
  return u.spec.targets.map((t) => {
    const url = new URL(t.url);
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)), labels: t.labels };
  });
}

/** The host and port an Upstream is known under in the exported set. */
function backendOf(u: UpstreamResource): { host: string; port: number } {
  const host = u.metadata.annotations['tollgate.dev/host'] ?? u.metadata.name;
  const port = Number(u.metadata.annotations['tollgate.dev/port'] ?? targetsOf(u)[0]?.port ?? 80);
  return { host, port };
}

function istioUpstream(u: UpstreamResource, warnings: string[]): ForeignDocument[] {
  const { host, port } = backendOf(u);
  const isIp = (h: string) => /^[0-9.]+$|:/.test(h);
  const targets = targetsOf(u);
  const docs: ForeignDocument[] = [
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: u.metadata.name },
      spec: {
        hosts: [host],
        ports: [{ number: port, name: `http-${port}`, protocol: u.spec.targets[0]?.url.startsWith('https:') ? 'HTTPS' : 'HTTP' }],
        resolution: targets.every((t) => isIp(t.host)) ? 'STATIC' : 'DNS',
        endpoints: targets.map((t) => ({ address: t.host, ports: { [`http-${port}`]: t.port }, ...(Object.keys(t.labels).length > 0 ? { labels: t.labels } : {}) })),
      },
    },
  ];
  const lb = { 'round-robin': 'ROUND_ROBIN', 'least-requests': 'LEAST_REQUEST', random: 'RANDOM' }[u.spec.loadBalancing as 'random'];
  const ch = u.spec.consistentHash;
  const loadBalancer = lb ? { simple: lb } : ch ? { consistentHash: ch.header ? { httpHeaderName: ch.header } : ch.cookie ? { httpCookie: { name: ch.cookie } } : ch.clientIp ? { useSourceIp: true } : { httpQueryParameterName: ch.queryParameter } } : undefined;
  if (u.spec.healthChecks.active) warnings.push(`Upstream/${u.metadata.name}: active health checks have no Istio mapping`);
  docs.push({
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: u.metadata.name },
    spec: {
      host,
      ...(u.spec.subsets.length > 0 ? { subsets: u.spec.subsets.map((s) => ({ name: s.name, labels: s.labels })) } : {}),
      trafficPolicy: {
        ...(loadBalancer ? { loadBalancer } : {}),
        connectionPool: { tcp: { maxConnections: u.spec.maxConnectionsPerTarget, connectTimeout: `${u.spec.timeouts.connectMs}ms` }, http: { http1MaxPendingRequests: u.spec.circuitBreaker.maxPendingRequests, maxRequestsPerConnection: u.spec.circuitBreaker.maxRequestsPerConnection } },
        ...(u.spec.healthChecks.passive ? { outlierDetection: { consecutive5xxErrors: u.spec.healthChecks.passive.consecutiveErrors, baseEjectionTime: `${u.spec.healthChecks.passive.baseEjectionMs}ms`, maxEjectionPercent: u.spec.healthChecks.passive.maxEjectionPercent } } : {}),
      },
    },
  });
  return docs;
}

function uriOf(path: Route['match'][number]['path'], base: string, name: string, warnings: string[]): Record<string, string> | undefined {
  const join = (p: string) => (base === '/' ? p : `${base.replace(/\/$/, '')}${p === '/' ? '' : p}` || '/');
  if ('exact' in path) return { exact: join(path.exact) };
  if ('prefix' in path) return path.prefix === '/' && base === '/' ? undefined : { regex: `${join(path.prefix).replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')}(/.*)?` };
  if ('regex' in path && base === '/') return { regex: path.regex };
  warnings.push(`${name}: the path match has no Istio mapping and is exported as a match on the base path`);
  return base === '/' ? undefined : { prefix: base };
}

function istioApi(api: ApiResource, upstreams: Map<string, UpstreamResource>, warnings: string[], exportedPolicies: ReadonlySet<string> = new Set()): ForeignDocument {
  const dest = (d: { upstream: string; subset?: string | undefined }) => {
    const u = upstreams.get(d.upstream);
    const b = u ? backendOf(u) : { host: d.upstream, port: 80 };
    return { host: b.host, port: { number: b.port }, ...(d.subset ? { subset: d.subset } : {}) };
  };
  const http = api.spec.routes.map((r) => {
    const where = `Api/${api.metadata.name} route ${r.name}`;
    if (api.spec.policies.some((p) => !exportedPolicies.has(p.name)) || r.policies.length > 0) warnings.push(`${where}: policies have no Istio mapping`);
    const match = r.match.map((m) => {
      const uri = uriOf(m.path, api.spec.basePath, where, warnings);
      const sm = (v: StringMatch) => ('exact' in v ? { exact: v.exact } : 'prefix' in v ? { prefix: v.prefix } : 'regex' in v ? { regex: v.regex } : {});
      const headers = Object.fromEntries(Object.entries(m.headers).filter(([, v]) => !('absent' in v)).map(([k, v]) => [k, sm(v)]));
      const withoutHeaders = Object.fromEntries(Object.entries(m.headers).filter(([, v]) => 'absent' in v).map(([k]) => [k, {}]));
      const queryParams = Object.fromEntries(Object.entries(m.queryParams).filter(([, v]) => !('absent' in v)).map(([k, v]) => [k, sm(v)]));
      if (Object.values(m.queryParams).some((v) => 'absent' in v)) warnings.push(`${where}: an absent query parameter condition has no Istio mapping`);
      const method = m.methods.length === 1 ? { exact: m.methods[0] } : m.methods.length > 1 ? { regex: m.methods.join('|') } : undefined;
      return { ...(uri ? { uri } : {}), ...(method ? { method } : {}), ...(Object.keys(headers).length > 0 ? { headers } : {}), ...(Object.keys(withoutHeaders).length > 0 ? { withoutHeaders } : {}), ...(Object.keys(queryParams).length > 0 ? { queryParams } : {}) };
    }).filter((m) => Object.keys(m).length > 0);
    const out: Record<string, unknown> = { name: r.name, ...(match.length > 0 ? { match } : {}) };
    if (r.destination) out.route = [{ destination: dest(r.destination) }];
    if (r.destinations) out.route = r.destinations.map((d) => ({ destination: dest(d), weight: d.weight }));
    if (r.redirect) out.redirect = { ...(r.redirect.path ? { uri: r.redirect.path } : {}), ...(r.redirect.host ? { authority: r.redirect.host } : {}), ...(r.redirect.scheme ? { scheme: r.redirect.scheme } : {}), redirectCode: r.redirect.code };
    if (r.directResponse) out.directResponse = { status: r.directResponse.status, body: { string: r.directResponse.body } };
    if (r.aggregate) warnings.push(`${where}: aggregate has no Istio mapping; the route is exported without a destination`);
    if (r.timeoutMs) out.timeout = `${r.timeoutMs}ms`;
    if (r.retries) out.retries = { attempts: r.retries.attempts, ...(r.retries.perTryTimeoutMs ? { perTryTimeout: `${r.retries.perTryTimeoutMs}ms` } : {}), retryOn: r.retries.retryOn.join(',') };
    if (r.fault) out.fault = { ...(r.fault.delay ? { delay: { fixedDelay: `${r.fault.delay.fixedDelayMs}ms`, percentage: { value: r.fault.delay.percentage } } } : {}), ...(r.fault.abort ? { abort: { httpStatus: r.fault.abort.status, percentage: { value: r.fault.abort.percentage } } } : {}) };
    if (r.mirror) Object.assign(out, { mirror: dest(r.mirror), mirrorPercentage: { value: r.mirror.percentage } });
    if (r.headers) out.headers = r.headers;
    if (r.rewrite) {
      if (r.rewrite.host) out.rewrite = { authority: r.rewrite.host };
      if (r.rewrite.prefix || r.rewrite.path || r.rewrite.regex) warnings.push(`${where}: path rewrites are not exported`);
    }
    return out;
  });
  // An Api translated from a VirtualService goes back under the VirtualService's own name, so a
  // re-import yields the same Api (`vs-<name>`) instead of `vs-vs-<name>`.
  const source = /^VirtualService\/(.+)$/.exec(api.metadata.labels['tollgate.dev/source'] ?? '')?.[1];
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: source ?? api.metadata.name }, spec: { hosts: api.spec.hosts.length > 0 ? api.spec.hosts : ['*'], gateways: [EXPORT_GATEWAY], http } };
}

function k8sUpstream(u: UpstreamResource): ForeignDocument[] {
  const { host, port } = backendOf(u);
  const name = host.replace(/\./g, '-');
  const targets = targetsOf(u);
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ name: 'http', port, targetPort: targets[0]?.port ?? port }] } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name }, subsets: [...new Set(targets.map((t) => t.port))].map((p) => ({ addresses: targets.filter((t) => t.port === p).map((t) => ({ ip: t.host })), ports: [{ name: 'http', port: p }] })) },
  ];
}

function k8sApi(api: ApiResource, upstreams: Map<string, UpstreamResource>, warnings: string[]): ForeignDocument {
  const paths = api.spec.routes.flatMap((r) => {
    const where = `Api/${api.metadata.name} route ${r.name}`;
    const d = r.destination ?? r.destinations?.[0];
    if (!d) {
      warnings.push(`${where}: only routes to a destination map to an Ingress`);
      return [];
    }
    if (r.destinations && r.destinations.length > 1) warnings.push(`${where}: weighted destinations have no Ingress mapping; the first is exported`);
    const u = upstreams.get(d.upstream);
    const b = u ? backendOf(u) : { host: d.upstream, port: 80 };
    return r.match.flatMap((m) => {
      const p = m.path;
      const base = api.spec.basePath.replace(/\/$/, '');
      if ('exact' in p) return [{ path: `${base}${p.exact}` || '/', pathType: 'Exact', backend: { service: { name: b.host.replace(/\./g, '-'), port: { number: b.port } } } }];
      if ('prefix' in p) return [{ path: `${base}${p.prefix === '/' ? '' : p.prefix}` || '/', pathType: 'Prefix', backend: { service: { name: b.host.replace(/\./g, '-'), port: { number: b.port } } } }];
      warnings.push(`${where}: template and regex paths have no Ingress mapping`);
      return [];
    });
  });
  const hosts = api.spec.hosts.length > 0 ? api.spec.hosts : [undefined];
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: api.metadata.name }, spec: { ingressClassName: 'tollgate', rules: hosts.map((h) => ({ ...(h ? { host: h } : {}), http: { paths } })) } };
}

/**
 * Writes Tollgate resources as Istio (Gateway, VirtualService, DestinationRule, ServiceEntry)
 * or Kubernetes (Ingress, Service, Endpoints) documents, where a mapping exists.
 */
export function exportAs(resources: readonly Resource[], format: 'istio' | 'k8s'): ExportResult {
  const warnings: string[] = [];
  const documents: ForeignDocument[] = [];
  const upstreams = new Map(resources.filter((r): r is UpstreamResource => r.kind === 'Upstream').map((u) => [u.metadata.name, u]));
  const apis = resources.filter((r): r is ApiResource => r.kind === 'Api');
  for (const r of resources) if (r.kind === 'Consumer' || r.kind === 'Certificate') warnings.push(`${r.kind}/${r.metadata.name}: no ${format} mapping; not exported`);
  if (format === 'istio') {
    const hosts = [...new Set(apis.flatMap((a) => (a.spec.hosts.length > 0 ? a.spec.hosts : ['*'])))];
    if (apis.length > 0) documents.push({ apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: EXPORT_GATEWAY }, spec: { selector: { ...DEFAULT_GATEWAY_LABELS }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts }] } });
    for (const u of upstreams.values()) documents.push(...istioUpstream(u, warnings));
    // jwt-auth / authorization carried alike by every Api go back as RequestAuthentication / AuthorizationPolicy.
    const security = exportSecurity(apis, warnings);
    for (const a of apis) documents.push(istioApi(a, upstreams, warnings, security.exported));
    documents.push(...security.documents);
  } else {
    for (const u of upstreams.values()) documents.push(...k8sUpstream(u));
    for (const a of apis) {
      // Ingress only routes paths to services: name every other feature the Api uses.
      const lost = new Set<string>();
      if (a.spec.policies.length > 0) lost.add('policies');
      for (const r of a.spec.routes) {
        if (r.policies.length > 0) lost.add('policies');
        for (const k of ['timeoutMs', 'retries', 'fault', 'rewrite', 'headers', 'mirror', 'redirect', 'directResponse'] as const) if (r[k] !== undefined) lost.add(k);
        if (r.match.some((m) => m.methods.length > 0 || Object.keys(m.headers).length > 0 || Object.keys(m.queryParams).length > 0)) lost.add('method/header/query matches');
      }
      if (lost.size > 0) warnings.push(`Api/${a.metadata.name}: ${[...lost].join(', ')} have no Ingress mapping`);
      documents.push(k8sApi(a, upstreams, warnings));
    }
  }
  return { documents, warnings };
}

/** Multi-document YAML of exported documents, in the order given. */
export function foreignYaml(documents: readonly ForeignDocument[]): string {
  return documents.map((d) => `---\n${stringify(d, { aliasDuplicateObjects: false })}`).join('');
}
