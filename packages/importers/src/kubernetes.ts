import { API_VERSION, type ApiResource, type CertificateResource, type Route } from '@tollgate/model';
import { slug, type DocReader } from './context.js';
import { upstreamName, type BackendRegistry } from './backends.js';

type Json = Record<string, unknown>;

/** A `kubernetes.io/tls` Secret, decoded. */
export interface TlsSecret {
  cert: string;
  key: string;
  ca?: string;
}

/** `v1` Secret: only type `kubernetes.io/tls` (and Istio's generic secrets with tls.crt/tls.key) carry certificates. */
export function readSecret(r: DocReader, value: Json, secrets: Map<string, TlsSecret>): void {
  const name = (value.metadata as Json).name as string;
  r.only(value, [], ['apiVersion', 'kind', 'metadata', 'type', 'data', 'stringData']);
  const type = r.str(value.type, ['type']);
  const data = r.labels(value.data, ['data']);
  const stringData = r.labels(value.stringData, ['stringData']);
  const field = (k: string) => {
    if (stringData[k] !== undefined) return stringData[k];
    const b = data[k];
    if (b === undefined) return undefined;
    // Secret data is base64 (Kubernetes API); reject what is not, rather than storing garbage.
    if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(b)) {
      r.error(['data', k], 'must be base64, as Kubernetes stores Secret data', 'invalid_base64');
      return undefined;
    }
    return Buffer.from(b, 'base64').toString('utf8');
  };
  const cert = field('tls.crt');
  const key = field('tls.key');
  const ca = field('ca.crt');
  if (type !== undefined && type !== 'kubernetes.io/tls' && type !== 'Opaque') {
    r.warn(['type'], `Secrets of type ${type} are not used by Tollgate (only kubernetes.io/tls)`);
    return;
  }
  if (cert === undefined || key === undefined) {
    if (ca !== undefined) secrets.set(name, { cert: '', key: '', ca });
    else r.warn(['data'], 'the Secret has no tls.crt and tls.key; it is not used');
    return;
  }
  secrets.set(name, ca !== undefined ? { cert, key, ca } : { cert, key });
}

/** `v1` Service: declares its ports; the backend's addresses come from Endpoints / EndpointSlices. */
export function readService(r: DocReader, value: Json, backends: BackendRegistry): void {
  const name = (value.metadata as Json).name as string;
  r.only(value, [], ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const spec = r.obj(value.spec, ['spec']) ?? {};
  r.only(spec, ['spec'], ['ports', 'selector', 'type', 'clusterIP', 'clusterIPs', 'externalName', 'sessionAffinity', 'ipFamilies', 'ipFamilyPolicy', 'internalTrafficPolicy']);
  if (spec.sessionAffinity === 'ClientIP') r.warn(['spec', 'sessionAffinity'], 'sessionAffinity ClientIP is not applied; use a DestinationRule consistentHash useSourceIp');
  const externalName = r.str(spec.externalName, ['spec', 'externalName']);
  r.arr(spec.ports, ['spec', 'ports']).forEach((p, i) => {
    const path = ['spec', 'ports', i];
    const port = r.obj(p, path);
    if (!port) return;
    r.only(port, path, ['name', 'port', 'targetPort', 'protocol', 'nodePort', 'appProtocol']);
    const number = r.num(port.port, [...path, 'port']);
    if (number === undefined) return r.error([...path, 'port'], 'port is required');
    const portName = r.str(port.name, [...path, 'name']);
    backends.declarePort(name, { number, ...(portName ? { name: portName } : {}), source: `Service/${name}`, endpoints: [] });
    // An ExternalName Service is a DNS alias (Kubernetes docs): the name itself is the target.
    if (spec.type === 'ExternalName' && externalName) backends.addEndpoint(name, number, { url: `http://${externalName}:${number}`, labels: {} });
  });
}

/** `v1` Endpoints: subsets of addresses x ports, matched to the Service's ports by port name. */
export function readEndpoints(r: DocReader, value: Json, backends: BackendRegistry): void {
  const name = (value.metadata as Json).name as string;
  r.only(value, [], ['apiVersion', 'kind', 'metadata', 'subsets']);
  r.arr(value.subsets, ['subsets']).forEach((s, i) => {
    const path = ['subsets', i];
    const subset = r.obj(s, path);
    if (!subset) return;
    r.only(subset, path, ['addresses', 'notReadyAddresses', 'ports']);
    const ips = r.arr(subset.addresses, [...path, 'addresses']).map((a, j) => r.str(r.obj(a, [...path, 'addresses', j])?.ip, [...path, 'addresses', j, 'ip'])).filter((x): x is string => x !== undefined);
    r.arr(subset.ports, [...path, 'ports']).forEach((p, j) => {
      const port = r.obj(p, [...path, 'ports', j]);
      const number = r.num(port?.port, [...path, 'ports', j, 'port']);
      if (number === undefined) return;
      backends.addEndpoints(name, r.str(port?.name, [...path, 'ports', j, 'name']), number, ips, r, [...path, 'ports', j]);
    });
  });
}

/** `discovery.k8s.io/v1` EndpointSlice: owned by the Service named in label `kubernetes.io/service-name`. */
export function readEndpointSlice(r: DocReader, value: Json, backends: BackendRegistry): void {
  const metadata = value.metadata as Json;
  const service = (metadata.labels as Record<string, string> | undefined)?.['kubernetes.io/service-name'];
  r.only(value, [], ['apiVersion', 'kind', 'metadata', 'addressType', 'endpoints', 'ports']);
  if (!service) return r.error(['metadata', 'labels'], 'an EndpointSlice needs the label kubernetes.io/service-name naming its Service');
  const ips: string[] = [];
  r.arr(value.endpoints, ['endpoints']).forEach((e, i) => {
    const ep = r.obj(e, ['endpoints', i]);
    if (!ep) return;
    // Endpoints not ready get no traffic (EndpointConditions: a nil ready means ready).
    if ((ep.conditions as Json | undefined)?.ready === false) return;
    for (const [j, a] of r.arr(ep.addresses, ['endpoints', i, 'addresses']).entries()) {
      const s = r.str(a, ['endpoints', i, 'addresses', j]);
      if (s) ips.push(s);
    }
  });
  r.arr(value.ports, ['ports']).forEach((p, j) => {
    const port = r.obj(p, ['ports', j]);
    const number = r.num(port?.port, ['ports', j, 'port']);
    if (number === undefined) return;
    backends.addEndpoints(service, r.str(port?.name, ['ports', j, 'name']), number, ips, r, ['ports', j]);
  });
}

/** Options of the Ingress translation. */
export interface IngressOptions {
  ingressClasses: readonly string[];
}

/**
 * `networking.k8s.io/v1` and `v1beta1` Ingress. Each rule becomes an Api `ing-<name>-<i>` on the
 * rule's host; the default backend an Api `ing-<name>-default` for any host at the lowest priority.
 */
export function readIngress(r: DocReader, value: Json, options: IngressOptions, backends: BackendRegistry, secrets: Map<string, TlsSecret>, out: { apis: ApiResource[]; certificates: CertificateResource[] }): void {
  const metadata = value.metadata as Json;
  const name = metadata.name as string;
  const source = `Ingress/${name}`;
  r.only(value, [], ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const spec = r.obj(value.spec, ['spec']) ?? {};
  r.only(spec, ['spec'], ['ingressClassName', 'rules', 'defaultBackend', 'backend', 'tls']);
  const annotation = (metadata.annotations as Record<string, unknown> | undefined)?.['kubernetes.io/ingress.class'];
  const cls = r.str(spec.ingressClassName, ['spec', 'ingressClassName']) ?? (typeof annotation === 'string' ? annotation : undefined);
  if (cls !== undefined && !options.ingressClasses.includes(cls)) {
    r.warn(spec.ingressClassName !== undefined ? ['spec', 'ingressClassName'] : ['metadata', 'annotations', 'kubernetes.io/ingress.class'], `ingress class "${cls}" is not served by Tollgate (served: ${options.ingressClasses.join(', ')}); the Ingress is skipped`);
    return;
  }
  const backendOf = (b: unknown, path: (string | number)[]): Route['destination'] | undefined => {
    const backend = r.obj(b, path);
    if (!backend) return void r.error(path, 'backend is required');
    r.only(backend, path, ['service', 'serviceName', 'servicePort', 'resource']);
    let svc: string | undefined;
    let port: unknown;
    if (backend.service !== undefined) {
      const s = r.obj(backend.service, [...path, 'service']) ?? {};
      r.only(s, [...path, 'service'], ['name', 'port']);
      svc = r.str(s.name, [...path, 'service', 'name']);
      const p = r.obj(s.port, [...path, 'service', 'port']) ?? {};
      port = p.number ?? p.name;
    } else if (backend.serviceName !== undefined) {
      svc = r.str(backend.serviceName, [...path, 'serviceName']);
      port = backend.servicePort;
    }
    if (!svc) return void r.error(path, 'a service backend (service.name or serviceName) is required');
    let number: number | undefined;
    if (typeof port === 'number') number = port;
    else if (typeof port === 'string') {
      number = backends.ports(svc).find((p) => p.name === port)?.number ?? (/^\d+$/.test(port) ? Number(port) : undefined);
      if (number === undefined) return void r.error(path, `Service "${svc}" in this set has no port named "${port}"`, 'unknown_port');
    } else return void r.error(path, 'the backend needs a port (number or name)');
    return { upstream: upstreamName(backends.key(svc), number) };
  };
  const api = (suffix: string, hosts: string[], routes: Route[], priority = 0): ApiResource => ({
    apiVersion: API_VERSION,
    kind: 'Api',
    metadata: { name: `ing-${slug(name)}-${suffix}`, labels: { 'tollgate.dev/source': source }, annotations: {} },
    spec: { hosts, routes, priority } as ApiResource['spec'],
  });
  r.arr(spec.rules, ['spec', 'rules']).forEach((rv, i) => {
    const path = ['spec', 'rules', i];
    const rule = r.obj(rv, path) ?? {};
    r.only(rule, path, ['host', 'http']);
    const host = r.str(rule.host, [...path, 'host']);
    const http = r.obj(rule.http, [...path, 'http']) ?? {};
    const routes: Route[] = [];
    r.arr(http.paths, [...path, 'http', 'paths']).forEach((pv, j) => {
      const pp = [...path, 'http', 'paths', j];
      const p = r.obj(pv, pp) ?? {};
      r.only(p, pp, ['path', 'pathType', 'backend']);
      const raw = r.str(p.path, [...pp, 'path']) ?? '/';
      const pathType = r.str(p.pathType, [...pp, 'pathType']) ?? 'ImplementationSpecific';
      const destination = backendOf(p.backend, [...pp, 'backend']);
      if (!destination) return;
      let match: Route['match'][number]['path'];
      if (pathType === 'Exact') match = { exact: raw };
      // Prefix matches whole path elements, and a trailing "/" is ignored (Kubernetes Ingress docs).
      else if (pathType === 'Prefix') match = { prefix: raw.replace(/\/+$/, '') || '/' };
      else if (pathType === 'ImplementationSpecific') {
        // Tollgate's reading (documented in docs/importers.md): "/a/*" or "/a/.*" is a prefix of
        // whole elements "/a"; anything else is a Prefix match, as the Kubernetes default.
        const stripped = raw.replace(/\/(\*|\.\*)$/, '');
        match = { prefix: stripped.replace(/\/+$/, '') || '/' };
      } else return r.error([...pp, 'pathType'], 'pathType must be Exact, Prefix or ImplementationSpecific');
      routes.push({ name: `path-${j}`, match: [{ path: match, methods: [], headers: {}, queryParams: {} }], destination, policies: [] } as Route);
    });
    if (routes.length === 0) return r.warn(path, 'the rule has no paths; nothing is served for it');
    // Exact paths win over prefixes and longer prefixes over shorter (Kubernetes: longest match).
    routes.sort((a, b) => rank(b) - rank(a));
    out.apis.push(api(String(i), host ? [host] : [], routes));
  });
  const def = spec.defaultBackend ?? spec.backend;
  if (def !== undefined) {
    const destination = backendOf(def, ['spec', spec.defaultBackend !== undefined ? 'defaultBackend' : 'backend']);
    if (destination) out.apis.push(api('default', [], [{ name: 'default', match: [{ path: { prefix: '/' }, methods: [], headers: {}, queryParams: {} }], destination, policies: [] } as Route], -1000));
  }
  r.arr(spec.tls, ['spec', 'tls']).forEach((tv, i) => {
    const path = ['spec', 'tls', i];
    const tls = r.obj(tv, path) ?? {};
    r.only(tls, path, ['hosts', 'secretName']);
    const secretName = r.str(tls.secretName, [...path, 'secretName']);
    const hosts = r.arr(tls.hosts, [...path, 'hosts']).map((h, k) => r.str(h, [...path, 'hosts', k])).filter((h): h is string => h !== undefined);
    if (!secretName) return r.warn(path, 'tls without secretName is not served');
    const secret = secrets.get(secretName);
    if (!secret || !secret.cert) return r.error([...path, 'secretName'], `no kubernetes.io/tls Secret "${secretName}" with tls.crt and tls.key in this set`, 'unknown_secret');
    out.certificates.push({
      apiVersion: API_VERSION,
      kind: 'Certificate',
      metadata: { name: `ing-${slug(name)}-tls-${i}`, labels: { 'tollgate.dev/source': source }, annotations: { 'tollgate.dev/secret': secretName } },
      spec: { certificate: secret.cert, privateKey: secret.key, hosts: hosts.map((h) => h.toLowerCase()), default: hosts.length === 0 } as CertificateResource['spec'],
    });
  });
}

function rank(route: Route): number {
  const p = route.match[0]?.path;
  if (p && 'exact' in p) return 1_000_000 + p.exact.length;
  if (p && 'prefix' in p) return p.prefix.length;
  return 0;
}
