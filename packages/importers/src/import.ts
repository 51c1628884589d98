import { API_VERSION, type ApiResource, type CertificateResource, type ConfigIssue, type Resource, type SourceDocument } from '@tollgate/model';
import { BackendRegistry } from './backends.js';
import { DocReader, type ImportWarning } from './context.js';
import { readDestinationRule, readServiceEntry } from './istio-backends.js';
import { readApiGateway, readHttpRoute, type ServedApiGateway } from './gateway-api.js';
import { readGateway, type ServedGateway } from './istio-gateway.js';
import { SecurityCollector } from './istio-security.js';
import { readVirtualService } from './istio-virtual-service.js';
import { readEndpointSlice, readEndpoints, readIngress, readSecret, readService, type TlsSecret } from './kubernetes.js';

/** Which foreign objects Tollgate serves. */
export interface ImportOptions {
  /** Ingress classes served (annotation `kubernetes.io/ingress.class` or `ingressClassName`); default `istio`, `tollgate`. */
  ingressClasses?: readonly string[];
  /** Labels of this gateway, matched by Istio Gateway `selector`; default `istio: ingressgateway`. */
  gatewayLabels?: Readonly<Record<string, string>>;
  /** Namespace of this gateway's workload, for namespace-wide Istio security policies; default `istio-system`. */
  gatewayNamespace?: string;
  /** Istio's root namespace (its policies apply to every workload); default `istio-system`. */
  rootNamespace?: string;
}

/** Result of an import: Tollgate documents (own ones passed through, foreign ones translated). */
export interface ImportResult {
  /** Documents to validate: Tollgate's own, then generated ones carrying the index of their source document. */
  documents: SourceDocument[];
  /** The generated resources (before validation and defaults). */
  resources: Resource[];
  warnings: ImportWarning[];
  /** Malformed or untranslatable foreign documents; when not empty nothing may be applied. */
  issues: ConfigIssue[];
}

/** Ingress classes served unless configured otherwise. */
export const DEFAULT_INGRESS_CLASSES = ['istio', 'tollgate'] as const;
/** Labels an Istio Gateway `selector` must match unless configured otherwise (Istio's default ingress gateway). */
export const DEFAULT_GATEWAY_LABELS: Readonly<Record<string, string>> = { istio: 'ingressgateway' };

const ISTIO_NETWORKING = /^networking\.istio\.io\/(v1alpha3|v1beta1|v1)$/;
const GATEWAY_API = /^gateway\.networking\.k8s\.io\/(v1|v1beta1)$/;
const ISTIO_SECURITY = /^security\.istio\.io\/(v1beta1|v1)$/;
/** Istio's namespace for the ingress gateway and its root namespace, unless configured otherwise. */
export const DEFAULT_ISTIO_NAMESPACE = 'istio-system';

type Handler = 'secret' | 'service' | 'endpoints' | 'endpointslice' | 'serviceentry' | 'destinationrule' | 'gateway' | 'apigateway' | 'ingress' | 'virtualservice' | 'httproute' | 'requestauthentication' | 'authorizationpolicy';

/** Order of translation: what a kind refers to is read before it. */
const PHASES: Handler[] = ['secret', 'service', 'endpoints', 'endpointslice', 'serviceentry', 'destinationrule', 'gateway', 'apigateway', 'ingress', 'virtualservice', 'httproute', 'requestauthentication', 'authorizationpolicy'];

function handlerOf(apiVersion: string, kind: string): Handler | undefined {
  if (apiVersion === 'v1' && kind === 'Secret') return 'secret';
  if (apiVersion === 'v1' && kind === 'Service') return 'service';
  if (apiVersion === 'v1' && kind === 'Endpoints') return 'endpoints';
  if (apiVersion === 'discovery.k8s.io/v1' && kind === 'EndpointSlice') return 'endpointslice';
  if ((apiVersion === 'networking.k8s.io/v1' || apiVersion === 'networking.k8s.io/v1beta1' || apiVersion === 'extensions/v1beta1') && kind === 'Ingress') return 'ingress';
  if (ISTIO_NETWORKING.test(apiVersion)) {
    const k = ({ Gateway: 'gateway', VirtualService: 'virtualservice', DestinationRule: 'destinationrule', ServiceEntry: 'serviceentry' } as const)[kind as 'Gateway'];
    return k;
  }
  if (GATEWAY_API.test(apiVersion)) return ({ Gateway: 'apigateway', HTTPRoute: 'httproute' } as const)[kind as 'Gateway'];
  if (ISTIO_SECURITY.test(apiVersion)) return ({ RequestAuthentication: 'requestauthentication', AuthorizationPolicy: 'authorizationpolicy' } as const)[kind as 'RequestAuthentication'];
  return undefined;
}

/** True for apiVersions of Kubernetes and Istio, whose unsupported kinds are warned about rather than refused. */
function isKnownForeignGroup(apiVersion: string): boolean {
  return /^(v1|apps\/v1|batch\/v1|[a-z0-9.-]+\.k8s\.io\/[a-z0-9]+|[a-z0-9.-]+\.istio\.io\/[a-z0-9]+|extensions\/v1beta1|policy\/v1)$/.test(apiVersion);
}

/**
 * Translates Kubernetes and Istio documents into Tollgate resources and passes Tollgate's own
 * documents through. Pure: the same input always yields the same names and resources.
 */
export function importDocuments(documents: readonly SourceDocument[], options: ImportOptions = {}): ImportResult {
  const warnings: ImportWarning[] = [];
  const issues: ConfigIssue[] = [];
  const own: SourceDocument[] = [];
  const foreign: Array<{ doc: SourceDocument; handler: Handler; value: Record<string, unknown>; reader: DocReader }> = [];
  for (const doc of documents) {
    const v = doc.value as Record<string, unknown> | null;
    const apiVersion = v && typeof v === 'object' && typeof v.apiVersion === 'string' ? v.apiVersion : undefined;
    if (!v || typeof v !== 'object' || Array.isArray(v) || apiVersion === undefined || apiVersion === API_VERSION) {
      own.push(doc);
      continue;
    }
    const kind = typeof v.kind === 'string' ? v.kind : '';
    const metadata = v.metadata as Record<string, unknown> | undefined;
    const name = typeof metadata?.name === 'string' ? metadata.name : undefined;
    const reader = new DocReader(doc, `${kind}/${name ?? ''}`, warnings, issues);
    if (name === undefined || name === '') {
      reader.error(['metadata', 'name'], 'metadata.name is required', 'invalid_document');
      continue;
    }
    const handler = handlerOf(apiVersion, kind);
    if (handler) {
      foreign.push({ doc, handler, value: v, reader });
      continue;
    }
    if (isKnownForeignGroup(apiVersion)) {
      reader.warn(['kind'], `${apiVersion} ${kind} is not used by Tollgate and is ignored`);
    } else {
      own.push(doc);
    }
  }
  const backends = new BackendRegistry();
  const secrets = new Map<string, TlsSecret>();
  const gateways = new Map<string, ServedGateway | undefined>();
  const apiGateways = new Map<string, ServedApiGateway | undefined>();
  const apis: ApiResource[] = [];
  const certificates: CertificateResource[] = [];
  const ingressOptions = { ingressClasses: options.ingressClasses ?? DEFAULT_INGRESS_CLASSES };
  const labels = options.gatewayLabels ?? DEFAULT_GATEWAY_LABELS;
  const security = new SecurityCollector({ labels, gatewayNamespace: options.gatewayNamespace ?? DEFAULT_ISTIO_NAMESPACE, rootNamespace: options.rootNamespace ?? DEFAULT_ISTIO_NAMESPACE, servedGateway: (name) => (apiGateways.has(name) ? apiGateways.get(name) !== undefined : undefined) });
  const origin = new Map<string, SourceDocument>();
  const note = (before: number, list: Resource[], doc: SourceDocument) => list.slice(before).forEach((r) => origin.set(`${r.kind}/${r.metadata.name}`, doc));
  for (const phase of PHASES) {
    for (const f of foreign.filter((x) => x.handler === phase)) {
      const { reader: r, value: v, doc } = f;
      const a = apis.length;
      const c = certificates.length;
      switch (phase) {
        case 'secret': readSecret(r, v, secrets); break;
        case 'service': readService(r, v, backends); break;
        case 'endpoints': readEndpoints(r, v, backends); break;
        case 'endpointslice': readEndpointSlice(r, v, backends); break;
        case 'serviceentry': readServiceEntry(r, v, backends); break;
        case 'destinationrule': readDestinationRule(r, v, backends); break;
        case 'gateway': gateways.set((v.metadata as { name: string }).name, readGateway(r, v, labels, secrets, certificates)); break;
        case 'apigateway': apiGateways.set((v.metadata as { name: string }).name, readApiGateway(r, v, ingressOptions.ingressClasses, secrets, certificates)); break;
        case 'httproute': readHttpRoute(r, v, apiGateways, backends, apis); break;
        case 'ingress': readIngress(r, v, ingressOptions, backends, secrets, { apis, certificates }); break;
        case 'virtualservice': readVirtualService(r, v, gateways, backends, apis); break;
        case 'requestauthentication': security.readRequestAuthentication(r, v); break;
        case 'authorizationpolicy': security.readAuthorizationPolicy(r, v); break;
      }
      note(a, apis, doc);
      note(c, certificates, doc);
    }
  }
  // Istio applies RequestAuthentication and AuthorizationPolicy to the gateway workload: every route it serves.
  security.attach(apis);
  const upstreams = backends.upstreams((host, port, source) => {
    const f = foreign.find((x) => `${(x.value.kind as string)}/${(x.value.metadata as { name: string }).name}` === source);
    if (f) f.reader.warn([], `no endpoints say where ${host} port ${port} runs (add Endpoints, an EndpointSlice or ServiceEntry endpoints); no Upstream is generated for it`);
  });
  for (const u of upstreams) {
    const source = u.metadata.labels['tollgate.dev/source'];
    const f = foreign.find((x) => `${(x.value.kind as string)}/${(x.value.metadata as { name: string }).name}` === source);
    if (f) origin.set(`Upstream/${u.metadata.name}`, f.doc);
  }
  const resources: Resource[] = [...upstreams, ...certificates, ...apis];
  const generated: SourceDocument[] = resources.map((r) => ({ index: origin.get(`${r.kind}/${r.metadata.name}`)?.index ?? 0, value: r }));
  // Reported in document order (translation runs in dependency order); stable within a document.
  warnings.sort((a, b) => a.document - b.document);
  issues.sort((a, b) => (a.document ?? 0) - (b.document ?? 0));
  return { documents: [...own, ...generated], resources, warnings, issues };
}
