import { resourceKey, subsetSelects, type CertificateResource, type ConfigIssue, type UpstreamResource } from '@tollgate/model';

/** A target origin, its weight and labels. */
export interface CompiledTarget {
  /** Scheme, host and port, e.g. `http://10.0.0.5:8080`. */
  readonly origin: string;
  readonly weight: number;
  readonly labels: Readonly<Record<string, string>>;
  /**
   * DNS service discovery of this target (`dns`: A/AAAA of the origin's host; `srv`: SRV records
   * of it); the gateway replaces the target by the addresses found. Absent for a static target.
   */
  readonly discovery?: 'dns' | 'srv';
  /** Host (and port) to send as Host when not preserving the client's, when it is not the origin's (a discovered address). */
  readonly hostHeader?: string;
}

/** Active health-check settings of an upstream. */
export interface CompiledActiveCheck {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** Passing statuses; null = any 2xx or 3xx. */
  readonly expectedStatuses: readonly number[] | null;
}

/** What the consistent hash reads. */
export type CompiledHashOn = { readonly kind: 'header' | 'cookie' | 'query'; readonly name: string } | { readonly kind: 'clientIp' };

/** An upstream with its targets, balancing, health and connection settings. */
export interface CompiledUpstream {
  readonly name: string;
  readonly targets: readonly CompiledTarget[];
  /** Target indices of each subset. */
  readonly subsets: Readonly<Record<string, readonly number[]>>;
  readonly loadBalancing: 'round-robin' | 'least-requests' | 'random' | 'consistent-hash';
  readonly hashOn: CompiledHashOn | null;
  readonly connectMs: number;
  readonly responseHeadersMs: number;
  readonly idleMs: number;
  readonly maxConnectionsPerTarget: number;
  readonly maxPendingRequests: number;
  /** 0 = unlimited. */
  readonly maxRequestsPerConnection: number;
  readonly activeCheck: CompiledActiveCheck | null;
  readonly outlier: { readonly consecutiveErrors: number; readonly baseEjectionMs: number; readonly maxEjectionMs: number; readonly maxEjectionPercent: number } | null;
  /** TLS towards https targets, or null for the defaults (system roots, SNI = host). */
  readonly tls: { readonly ca?: string; readonly servername?: string; readonly cert?: string; readonly key?: string; readonly rejectUnauthorized: boolean } | null;
}

/** A server certificate of the HTTPS listener. */
export interface CompiledCertificate {
  readonly name: string;
  /** PEM chain, leaf first. */
  readonly certificate: string;
  /** PEM private key (a secret: never logged). */
  readonly privateKey: string;
  /** Lower-case SNI patterns (`a.example.com`, `*.example.com`). */
  readonly hosts: readonly string[];
  readonly isDefault: boolean;
  readonly clientAuth: { readonly ca: string; readonly mode: 'required' | 'optional' } | null;
}

/** Compiles one validated Upstream document. */
export function compileUpstream(u: UpstreamResource): CompiledUpstream {
  const s = u.spec;
  const subsets: Record<string, number[]> = Object.create(null) as Record<string, number[]>;
  for (const sub of s.subsets) subsets[sub.name] = s.targets.flatMap((t, i) => (subsetSelects(sub.labels, t.labels) ? [i] : []));
  const h = s.consistentHash;
  let hashOn: CompiledHashOn | null = null;
  if (s.loadBalancing === 'consistent-hash' && h !== undefined) {
    if (h.header !== undefined) hashOn = { kind: 'header', name: h.header.toLowerCase() };
    else if (h.cookie !== undefined) hashOn = { kind: 'cookie', name: h.cookie };
    else if (h.queryParameter !== undefined) hashOn = { kind: 'query', name: h.queryParameter };
    else hashOn = { kind: 'clientIp' };
  }
  const a = s.healthChecks.active;
  const p = s.healthChecks.passive;
  const t = s.tls;
  return {
    name: u.metadata.name,
    targets: s.targets.map((x) => ({ origin: new URL(x.url).origin, weight: x.weight, labels: { ...x.labels }, ...(x.discovery !== undefined ? { discovery: x.discovery } : {}) })),
    subsets,
    loadBalancing: s.loadBalancing,
    hashOn,
    connectMs: s.timeouts.connectMs,
    responseHeadersMs: s.timeouts.responseHeadersMs,
    idleMs: s.timeouts.idleMs,
    maxConnectionsPerTarget: s.maxConnectionsPerTarget,
    maxPendingRequests: s.circuitBreaker.maxPendingRequests,
    maxRequestsPerConnection: s.circuitBreaker.maxRequestsPerConnection,
    activeCheck: a ? { path: a.path, intervalMs: a.intervalMs, timeoutMs: a.timeoutMs, healthyThreshold: a.healthyThreshold, unhealthyThreshold: a.unhealthyThreshold, expectedStatuses: a.expectedStatuses ? [...a.expectedStatuses] : null } : null,
    outlier: p ? { consecutiveErrors: p.consecutiveErrors, baseEjectionMs: p.baseEjectionMs, maxEjectionMs: p.maxEjectionMs, maxEjectionPercent: p.maxEjectionPercent } : null,
    tls: t
      ? {
          rejectUnauthorized: !t.insecureSkipVerify,
          ...(t.ca !== undefined ? { ca: t.ca } : {}),
          ...(t.serverName !== undefined ? { servername: t.serverName } : {}),
          ...(t.clientCertificate !== undefined ? { cert: t.clientCertificate } : {}),
          ...(t.clientKey !== undefined ? { key: t.clientKey } : {}),
        }
      : null,
  };
}

/**
 * Checks a reference to an upstream (and optionally one of its subsets) at `at`: pushes
 * `dangling_reference` on `<at>.upstream` when the Upstream does not exist, `unknown_subset` on
 * `<at>.subset` when it does not declare the subset.
 */
export function checkUpstreamRef(upstreams: Readonly<Record<string, CompiledUpstream>>, upstream: string, subset: string | undefined, resource: string, at: string, issues: ConfigIssue[]): void {
  const u = upstreams[upstream];
  if (u === undefined) {
    // `svc-<host>-<port>` is the name the importers give the backend of an Ingress, VirtualService
    // or HTTPRoute: the Upstream is missing because its Service (+ Endpoints) or ServiceEntry is.
    const hint = upstream.startsWith('svc-') ? ` (for a Kubernetes / Istio backend: apply its Service + Endpoints or ServiceEntry in the same file or before)` : '';
    issues.push({ code: 'dangling_reference', message: `Upstream/${upstream} does not exist${hint}`, resource, path: `${at}.upstream` });
    return;
  }
  if (subset !== undefined && !(subset in u.subsets)) {
    const known = Object.keys(u.subsets);
    issues.push({ code: 'unknown_subset', message: `Upstream/${upstream} has no subset "${subset}"${known.length > 0 ? `; it has: ${known.join(', ')}` : ' (it declares no subsets)'}`, resource, path: `${at}.subset` });
  }
}

/**
 * Compiles Certificate documents. One SNI host may be served by one certificate only, and at
 * most one certificate is the default: both would otherwise be an arbitrary choice.
 */
export function compileCertificates(resources: readonly CertificateResource[], issues: ConfigIssue[]): CompiledCertificate[] {
  const owners = new Map<string, string>();
  let defaultOwner: string | undefined;
  const out: CompiledCertificate[] = [];
  for (const r of resources) {
    const resource = resourceKey(r);
    r.spec.hosts.forEach((h, i) => {
      const prev = owners.get(h);
      if (prev !== undefined) issues.push({ code: 'certificate_conflict', message: `SNI host ${h} is already served by ${prev}`, resource, path: `spec.hosts[${i}]` });
      else owners.set(h, resource);
    });
    if (r.spec.default) {
      if (defaultOwner !== undefined) issues.push({ code: 'certificate_conflict', message: `${defaultOwner} is already the default certificate`, resource, path: 'spec.default' });
      else defaultOwner = resource;
    }
    out.push({
      name: r.metadata.name,
      certificate: r.spec.certificate,
      privateKey: r.spec.privateKey,
      hosts: [...r.spec.hosts],
      isDefault: r.spec.default,
      clientAuth: r.spec.clientAuth ? { ca: r.spec.clientAuth.ca, mode: r.spec.clientAuth.mode } : null,
    });
  }
  return out;
}
