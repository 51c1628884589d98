import { API_VERSION, type CertificateResource } from '@tollgate/model';
import { slug, type DocReader } from './context.js';
import type { TlsSecret } from './kubernetes.js';

type Json = Record<string, unknown>;

/** What a served Istio Gateway contributes: the hosts its servers accept. */
export interface ServedGateway {
  name: string;
  hosts: string[];
}

/**
 * `networking.istio.io` Gateway. Served when its `selector` matches the labels Tollgate is
 * configured with (Istio selects gateway workloads by pod labels). TLS servers (SIMPLE, MUTUAL)
 * become Certificates from the Secret named by `credentialName`.
 */
export function readGateway(r: DocReader, value: Json, labels: Readonly<Record<string, string>>, secrets: Map<string, TlsSecret>, certificates: CertificateResource[]): ServedGateway | undefined {
  const name = (value.metadata as Json).name as string;
  r.only(value, [], ['apiVersion', 'kind', 'metadata', 'spec']);
  const spec = r.obj(value.spec, ['spec']) ?? {};
  r.only(spec, ['spec'], ['selector', 'servers']);
  const selector = r.labels(spec.selector, ['spec', 'selector']);
  const selected = Object.entries(selector).every(([k, v]) => labels[k] === v);
  if (!selected) {
    r.warn(['spec', 'selector'], `the selector ${JSON.stringify(selector)} does not match Tollgate's gateway labels ${JSON.stringify(labels)}; the Gateway and the VirtualServices bound only to it are not served`);
    return undefined;
  }
  const hosts: string[] = [];
  r.arr(spec.servers, ['spec', 'servers']).forEach((sv, i) => {
    const path = ['spec', 'servers', i];
    const server = r.obj(sv, path) ?? {};
    r.only(server, path, ['port', 'hosts', 'tls', 'name']);
    const port = r.obj(server.port, [...path, 'port']) ?? {};
    r.only(port, [...path, 'port'], ['number', 'name', 'protocol', 'targetPort']);
    const protocol = (r.str(port.protocol, [...path, 'port', 'protocol']) ?? 'HTTP').toUpperCase();
    if (!['HTTP', 'HTTPS', 'HTTP2'].includes(protocol)) {
      r.warn([...path, 'port', 'protocol'], `protocol ${protocol} is not served (Tollgate serves HTTP and HTTPS)`);
      return;
    }
    // Server hosts may be `namespace/host`; namespaces do not exist in Tollgate.
    const serverHosts = r.arr(server.hosts, [...path, 'hosts']).map((h, k) => r.str(h, [...path, 'hosts', k])).filter((h): h is string => h !== undefined).map((h) => (h.includes('/') ? h.slice(h.indexOf('/') + 1) : h).toLowerCase());
    hosts.push(...serverHosts);
    const tls = r.obj(server.tls, [...path, 'tls']);
    if (!tls) return;
    const tp = [...path, 'tls'];
    r.only(tls, tp, ['mode', 'credentialName', 'httpsRedirect', 'minProtocolVersion', 'maxProtocolVersion']);
    if (tls.httpsRedirect === true) r.warn([...tp, 'httpsRedirect'], 'httpsRedirect is not applied; add a VirtualService redirect with scheme https');
    if (tls.minProtocolVersion !== undefined || tls.maxProtocolVersion !== undefined) r.warn(tp, 'TLS protocol versions are fixed by Tollgate (TLS 1.2 and 1.3)');
    const mode = r.str(tls.mode, [...tp, 'mode']);
    if (mode === undefined) return;
    if (mode !== 'SIMPLE' && mode !== 'MUTUAL') return r.warn([...tp, 'mode'], `TLS mode ${mode} is not supported (SIMPLE and MUTUAL are)`);
    const credential = r.str(tls.credentialName, [...tp, 'credentialName']);
    if (!credential) return r.error([...tp, 'credentialName'], 'credentialName is required: Tollgate reads certificates from Secrets, not files', 'unsupported_value');
    const secret = secrets.get(credential);
    if (!secret?.cert) return r.error([...tp, 'credentialName'], `no Secret "${credential}" with tls.crt and tls.key in this set`, 'unknown_secret');
    // MUTUAL: the CA is ca.crt of the same Secret, or the Secret `<credentialName>-cacert` (Istio secure-ingress docs).
    const ca = secret.ca ?? secrets.get(`${credential}-cacert`)?.ca;
    if (mode === 'MUTUAL' && !ca) return r.error([...tp, 'credentialName'], `MUTUAL needs a CA: ca.crt in Secret "${credential}" or a Secret "${credential}-cacert"`, 'unknown_secret');
    certificates.push({
      apiVersion: API_VERSION,
      kind: 'Certificate',
      metadata: { name: `gw-${slug(name)}-${i}`, labels: { 'tollgate.dev/source': `Gateway/${name}` }, annotations: { 'tollgate.dev/secret': credential } },
      spec: { certificate: secret.cert, privateKey: secret.key, hosts: serverHosts.filter((h) => h !== '*'), default: serverHosts.includes('*'), ...(mode === 'MUTUAL' && ca ? { clientAuth: { ca, mode: 'required' } } : {}) } as CertificateResource['spec'],
    });
  });
  return { name, hosts };
}

/** True when a gateway server host (`*`, `*.example.com`, `a.example.com`) admits `host`. */
export function hostAdmits(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) || (host.startsWith('*.') && host.endsWith(pattern.slice(1)));
  return pattern === host;
}
