import { API_VERSION, type UpstreamResource, type UpstreamSpec } from '@tollgate/model';
import { slug, type DocReader } from './context.js';

/** One address a service port resolves to. */
interface Endpoint {
  url: string;
  labels: Record<string, string>;
  /** Relative share (ServiceEntry endpoint `weight`); default 100. */
  weight?: number;
}

/** A port of a named backend (Kubernetes Service or Istio ServiceEntry host). */
interface BackendPort {
  number: number;
  name?: string;
  /** Where the endpoints were learnt, for the source label of the Upstream. */
  source: string;
  endpoints: Endpoint[];
}

/** DestinationRule settings for one host, already translated. */
export interface DestinationPolicy {
  source: string;
  subsets: UpstreamSpec['subsets'];
  spec: Partial<UpstreamSpec>;
  /** Scheme of the targets when the rule originates TLS. */
  https: boolean;
  /** Told when no backend of the set uses the rule (it then changes nothing). */
  unused: () => void;
}

/**
 * Cluster-local names of a Kubernetes Service (`reviews.default.svc.cluster.local`,
 * `reviews.default.svc`) all mean the short name `reviews` (Kubernetes DNS for Services).
 */
export function canonicalHost(host: string): string {
  const h = host.toLowerCase();
  return /\.svc(\.cluster\.local)?$/.test(h) ? (h.split('.')[0] ?? h) : h;
}

/** Name of the Upstream generated for backend `host` port `port`: deterministic, so re-applying updates in place. */
export function upstreamName(host: string, port: number): string {
  return `svc-${slug(host)}-${port}`;
}

/**
 * Where backends named by Services and ServiceEntries run. Istio and Kubernetes name a backend
 * by host (`reviews`, `reviews.default.svc.cluster.local`); Tollgate by Upstream name. Both
 * spellings of a Kubernetes service resolve to the short name.
 */
export class BackendRegistry {
  readonly #ports = new Map<string, BackendPort[]>();
  readonly #policies = new Map<string, DestinationPolicy>();

  /** The key a destination host is known under. */
  key(host: string): string {
    const h = canonicalHost(host);
    if (this.#ports.has(h)) return h;
    // `name.namespace` is the Kubernetes short form of a Service in another namespace.
    const first = h.split('.')[0] ?? h;
    if (h.split('.').length === 2 && this.#ports.has(first)) return first;
    return h;
  }

  /** Declares a port of a backend (Service or ServiceEntry); endpoints may follow. */
  declarePort(host: string, port: BackendPort): void {
    const list = this.#ports.get(canonicalHost(host)) ?? [];
    if (!list.some((p) => p.number === port.number)) list.push(port);
    this.#ports.set(canonicalHost(host), list);
  }

  ports(host: string): BackendPort[] {
    return this.#ports.get(this.key(host)) ?? [];
  }

  /** Adds endpoints to the port of `host` named `portName` (or its only port). */
  addEndpoints(host: string, portName: string | undefined, targetPort: number, addresses: Endpoint['labels'][] | string[], reader: DocReader, path: (string | number)[]): void {
    const ports = this.#ports.get(canonicalHost(host));
    if (!ports) {
      reader.error(path, `no Service "${host}" in this set: endpoints need their Service (its ports say which port routes use)`, 'unknown_service');
      return;
    }
    const port = ports.find((p) => (portName ? p.name === portName : ports.length === 1));
    if (!port) {
      reader.error(path, `Service "${host}" has no port named "${portName ?? ''}"`, 'unknown_port');
      return;
    }
    for (const a of addresses as string[]) {
      const url = `http://${a.includes(':') ? `[${a}]` : a}:${targetPort}`;
      if (!port.endpoints.some((e) => e.url === url)) port.endpoints.push({ url, labels: {} });
    }
  }

  /** Adds one endpoint with labels (ServiceEntry). */
  addEndpoint(host: string, portNumber: number, endpoint: Endpoint): void {
    const port = this.#ports.get(canonicalHost(host))?.find((p) => p.number === portNumber);
    if (port && !port.endpoints.some((e) => e.url === endpoint.url)) port.endpoints.push(endpoint);
  }

  setPolicy(host: string, policy: DestinationPolicy): void {
    this.#policies.set(this.key(host), policy);
  }

  policy(host: string): DestinationPolicy | undefined {
    return this.#policies.get(this.key(host));
  }

  /** One Upstream per backend port that has endpoints; ports without any are reported. */
  upstreams(report: (host: string, port: number, source: string) => void): UpstreamResource[] {
    const out: UpstreamResource[] = [];
    for (const [host, policy] of this.#policies) if (!this.#ports.has(host)) policy.unused();
    for (const [host, ports] of this.#ports) {
      const policy = this.policy(host);
      for (const p of ports) {
        if (p.endpoints.length === 0) {
          report(host, p.number, p.source);
          continue;
        }
        const targets = p.endpoints.map((e) => ({ url: policy?.https ? e.url.replace(/^http:/, 'https:') : e.url, weight: e.weight ?? 100, labels: e.labels }));
        const labels: Record<string, string> = { 'tollgate.dev/source': p.source };
        if (policy) labels['tollgate.dev/destination-rule'] = policy.source;
        out.push({
          apiVersion: API_VERSION,
          kind: 'Upstream',
          metadata: { name: upstreamName(host, p.number), labels, annotations: { 'tollgate.dev/host': host, 'tollgate.dev/port': String(p.number) } },
          spec: { targets, subsets: policy?.subsets ?? [], ...(policy?.spec ?? {}) } as UpstreamSpec,
        });
      }
    }
    return out;
  }
}
