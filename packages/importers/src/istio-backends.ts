import type { UpstreamSpec } from '@tollgate/model';
import type { DocReader } from './context.js';
import type { BackendRegistry, DestinationPolicy } from './backends.js';

type Json = Record<string, unknown>;

/**
 * `networking.istio.io` ServiceEntry: each host x port becomes a backend. STATIC resolution uses
 * the endpoints' addresses; DNS resolution the endpoints' addresses, or the host itself when
 * there are none (Istio ServiceEntry reference).
 */
export function readServiceEntry(r: DocReader, value: Json, backends: BackendRegistry): void {
  const name = (value.metadata as Json).name as string;
  r.only(value, [], ['apiVersion', 'kind', 'metadata', 'spec']);
  const spec = r.obj(value.spec, ['spec']) ?? {};
  r.only(spec, ['spec'], ['hosts', 'ports', 'resolution', 'endpoints', 'location', 'addresses', 'exportTo']);
  const resolution = r.str(spec.resolution, ['spec', 'resolution']) ?? 'NONE';
  if (!['STATIC', 'DNS', 'DNS_ROUND_ROBIN'].includes(resolution)) r.error(['spec', 'resolution'], `resolution ${resolution} cannot be translated: Tollgate needs addresses (STATIC) or names (DNS) to send to`, 'unsupported_value');
  const hosts = r.arr(spec.hosts, ['spec', 'hosts']).map((h, i) => r.str(h, ['spec', 'hosts', i])).filter((h): h is string => h !== undefined);
  if (hosts.length === 0) r.error(['spec', 'hosts'], 'at least one host is required');
  const ports: Array<{ number: number; name: string; https: boolean; targetPort?: number }> = [];
  r.arr(spec.ports, ['spec', 'ports']).forEach((p, i) => {
    const path = ['spec', 'ports', i];
    const port = r.obj(p, path) ?? {};
    r.only(port, path, ['number', 'name', 'protocol', 'targetPort']);
    const number = r.num(port.number, [...path, 'number']);
    const protocol = (r.str(port.protocol, [...path, 'protocol']) ?? 'HTTP').toUpperCase();
    if (number === undefined) return r.error([...path, 'number'], 'number is required');
    if (!['HTTP', 'HTTPS', 'HTTP2', 'TLS'].includes(protocol)) r.warn([...path, 'protocol'], `protocol ${protocol} is forwarded as HTTP/1.1`);
    const targetPort = r.num(port.targetPort, [...path, 'targetPort']);
    ports.push({ number, name: r.str(port.name, [...path, 'name']) ?? String(number), https: protocol === 'HTTPS' || protocol === 'TLS', ...(targetPort !== undefined ? { targetPort } : {}) });
  });
  const endpoints = r.arr(spec.endpoints, ['spec', 'endpoints']).map((e, i) => {
    const path = ['spec', 'endpoints', i];
    const ep = r.obj(e, path) ?? {};
    r.only(ep, path, ['address', 'ports', 'labels', 'weight']);
    return { address: r.str(ep.address, [...path, 'address']), ports: r.obj(ep.ports, [...path, 'ports']) ?? {}, labels: r.labels(ep.labels, [...path, 'labels']), weight: r.num(ep.weight, [...path, 'weight']) };
  });
  for (const host of hosts) {
    for (const port of ports) {
      backends.declarePort(host, { number: port.number, name: port.name, source: `ServiceEntry/${name}`, endpoints: [] });
      const scheme = port.https ? 'https' : 'http';
      const list = endpoints.length > 0 ? endpoints : resolution.startsWith('DNS') ? [{ address: host, ports: {}, labels: {}, weight: undefined }] : [];
      for (const ep of list) {
        if (!ep.address) continue;
        if (ep.address.startsWith('unix://')) continue;
        const override = ep.ports[port.name];
        const target = typeof override === 'number' ? override : (port.targetPort ?? port.number);
        const addr = ep.address.includes(':') ? `[${ep.address}]` : ep.address;
        backends.addEndpoint(host, port.number, { url: `${scheme}://${addr}:${target}`, labels: ep.labels, ...(ep.weight !== undefined ? { weight: Math.min(10_000, ep.weight) } : {}) });
      }
    }
  }
}

const SIMPLE_LB: Record<string, UpstreamSpec['loadBalancing']> = { ROUND_ROBIN: 'round-robin', LEAST_REQUEST: 'least-requests', LEAST_CONN: 'least-requests', RANDOM: 'random', UNSPECIFIED: 'round-robin' };

/** Translates a DestinationRule `trafficPolicy` into Upstream fields. */
function trafficPolicy(r: DocReader, tp: Json, path: (string | number)[]): { spec: Partial<UpstreamSpec>; https: boolean } {
  const spec: Partial<UpstreamSpec> = {};
  let https = false;
  r.only(tp, path, ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls', 'portLevelSettings']);
  if (tp.portLevelSettings !== undefined) r.warn([...path, 'portLevelSettings'], 'portLevelSettings are not applied; put the settings at the top level');
  const lb = r.obj(tp.loadBalancer, [...path, 'loadBalancer']);
  if (lb) {
    const lp = [...path, 'loadBalancer'];
    r.only(lb, lp, ['simple', 'consistentHash']);
    const simple = r.str(lb.simple, [...lp, 'simple']);
    if (simple !== undefined) {
      const mapped = SIMPLE_LB[simple];
      if (mapped) spec.loadBalancing = mapped;
      else r.warn([...lp, 'simple'], `load balancer ${simple} is not supported; round robin is used`);
    }
    const ch = r.obj(lb.consistentHash, [...lp, 'consistentHash']);
    if (ch) {
      const cp = [...lp, 'consistentHash'];
      r.only(ch, cp, ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName', 'ringHash', 'minimumRingSize']);
      const header = r.str(ch.httpHeaderName, [...cp, 'httpHeaderName']);
      const cookie = r.obj(ch.httpCookie, [...cp, 'httpCookie']);
      const query = r.str(ch.httpQueryParameterName, [...cp, 'httpQueryParameterName']);
      if (cookie) {
        r.only(cookie, [...cp, 'httpCookie'], ['name']);
        if (cookie.ttl !== undefined || cookie.path !== undefined) r.warn([...cp, 'httpCookie'], 'Tollgate hashes an existing cookie; it does not generate one (ttl/path ignored)');
      }
      const key = header !== undefined ? { header } : cookie ? { cookie: r.str(cookie.name, [...cp, 'httpCookie', 'name']) ?? '' } : ch.useSourceIp === true ? { clientIp: true as const } : query !== undefined ? { queryParameter: query } : undefined;
      if (key) {
        spec.loadBalancing = 'consistent-hash';
        spec.consistentHash = key;
      } else r.warn(cp, 'give httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName');
    }
  }
  const pool = r.obj(tp.connectionPool, [...path, 'connectionPool']);
  if (pool) {
    const pp = [...path, 'connectionPool'];
    r.only(pool, pp, ['tcp', 'http']);
    const tcp = r.obj(pool.tcp, [...pp, 'tcp']) ?? {};
    r.only(tcp, [...pp, 'tcp'], ['maxConnections', 'connectTimeout']);
    const maxConnections = r.num(tcp.maxConnections, [...pp, 'tcp', 'maxConnections']);
    // Istio's limit is per upstream cluster; Tollgate's pool is per target (docs/importers.md).
    if (maxConnections !== undefined) spec.maxConnectionsPerTarget = Math.min(10_000, maxConnections);
    const connectMs = r.duration(tcp.connectTimeout, [...pp, 'tcp', 'connectTimeout']);
    if (connectMs !== undefined) spec.timeouts = { connectMs, responseHeadersMs: 60_000, idleMs: 60_000 };
    const http = r.obj(pool.http, [...pp, 'http']) ?? {};
    r.only(http, [...pp, 'http'], ['http1MaxPendingRequests', 'maxRequestsPerConnection']);
    const pending = r.num(http.http1MaxPendingRequests, [...pp, 'http', 'http1MaxPendingRequests']);
    const perConn = r.num(http.maxRequestsPerConnection, [...pp, 'http', 'maxRequestsPerConnection']);
    if (pending !== undefined || perConn !== undefined) spec.circuitBreaker = { maxPendingRequests: pending ?? 1_024, maxRequestsPerConnection: perConn ?? 0 };
  }
  const od = r.obj(tp.outlierDetection, [...path, 'outlierDetection']);
  if (od) {
    const op = [...path, 'outlierDetection'];
    r.only(od, op, ['consecutive5xxErrors', 'consecutiveErrors', 'consecutiveGatewayErrors', 'baseEjectionTime', 'maxEjectionPercent', 'interval']);
    if (od.interval !== undefined) r.warn([...op, 'interval'], 'Tollgate ejects on the n-th consecutive error as it happens; there is no analysis interval');
    const errors = r.num(od.consecutive5xxErrors ?? od.consecutiveErrors ?? od.consecutiveGatewayErrors, op);
    const base = r.duration(od.baseEjectionTime, [...op, 'baseEjectionTime']) ?? 30_000;
    const passive = { consecutiveErrors: Math.max(1, errors ?? 5), baseEjectionMs: base, maxEjectionMs: Math.max(base, 300_000), maxEjectionPercent: r.num(od.maxEjectionPercent, [...op, 'maxEjectionPercent']) ?? 10 };
    spec.healthChecks = { passive };
  }
  const tls = r.obj(tp.tls, [...path, 'tls']);
  if (tls) {
    const tp2 = [...path, 'tls'];
    r.only(tls, tp2, ['mode', 'sni', 'insecureSkipVerify']);
    const mode = r.str(tls.mode, [...tp2, 'mode']) ?? 'DISABLE';
    if (mode === 'SIMPLE') {
      https = true;
      const sni = r.str(tls.sni, [...tp2, 'sni']);
      spec.tls = { ...(sni ? { serverName: sni } : {}), insecureSkipVerify: r.bool(tls.insecureSkipVerify, [...tp2, 'insecureSkipVerify']) ?? false };
    } else if (mode !== 'DISABLE') r.warn([...tp2, 'mode'], `TLS mode ${mode} is not supported (only SIMPLE and DISABLE); plain HTTP is used`);
  }
  return { spec, https };
}

/** `networking.istio.io` DestinationRule: subsets by labels and the traffic policy of a host. */
export function readDestinationRule(r: DocReader, value: Json, backends: BackendRegistry): void {
  const name = (value.metadata as Json).name as string;
  r.only(value, [], ['apiVersion', 'kind', 'metadata', 'spec']);
  const spec = r.obj(value.spec, ['spec']) ?? {};
  r.only(spec, ['spec'], ['host', 'subsets', 'trafficPolicy', 'exportTo', 'workloadSelector']);
  const host = r.str(spec.host, ['spec', 'host']);
  if (!host) return r.error(['spec', 'host'], 'host is required');
  const tp = r.obj(spec.trafficPolicy, ['spec', 'trafficPolicy']);
  const translated = tp ? trafficPolicy(r, tp, ['spec', 'trafficPolicy']) : { spec: {}, https: false };
  const subsets: UpstreamSpec['subsets'] = [];
  r.arr(spec.subsets, ['spec', 'subsets']).forEach((s, i) => {
    const path = ['spec', 'subsets', i];
    const subset = r.obj(s, path) ?? {};
    r.only(subset, path, ['name', 'labels', 'trafficPolicy']);
    if (subset.trafficPolicy !== undefined) r.warn([...path, 'trafficPolicy'], 'per-subset traffic policies are not applied; the rule-level policy is used');
    const subsetName = r.str(subset.name, [...path, 'name']);
    if (!subsetName) return r.error([...path, 'name'], 'name is required');
    subsets.push({ name: subsetName, labels: r.labels(subset.labels, [...path, 'labels']) });
  });
  const unused = () => r.warn(['spec', 'host'], `no ServiceEntry or Service in this set declares "${host}"; the rule is not applied (send it together with them)`);
  const policy: DestinationPolicy = { source: `DestinationRule/${name}`, subsets, spec: translated.spec, https: translated.https, unused };
  backends.setPolicy(backends.key(host), policy);
}
