import { REDACTED_SECRET } from './secrets.js';
import { z } from 'zod';
import { durationMs } from './common.js';
import { certificateKeyMismatch, pemCertificatesSchema, pemPrivateKeySchema } from './certificate.js';

/** One backend instance. Only scheme, host and port are taken from `url`. */
export const targetSchema = z
  .strictObject({
    url: z
      .string()
      .refine((s) => {
        try {
          const u = new URL(s);
          return (u.protocol === 'http:' || u.protocol === 'https:') && (u.pathname === '/' || u.pathname === '') && !u.search && !u.hash && !u.username && !u.password;
        } catch {
          return false;
        }
      }, 'must be an http:// or https:// origin (scheme, host, optional port; no path, query or credentials)')
      .describe('Origin of the target, e.g. `http://10.0.0.5:8080`.'),
    discovery: z
      .enum(['dns', 'srv'])
      .optional()
      .describe(
        'Service discovery by DNS: `dns` resolves the host name of `url` to its A and AAAA records, one target per address (port from `url`), re-resolved when their TTL expires; `srv` reads the SRV records of the name in `url` (`_service._proto.name`, RFC 2782; lowest priority, record weights, record ports) and resolves their targets. A Kubernetes headless Service works as is. A failed lookup keeps the last addresses found; before the first answer the name itself is the target.',
      ),
    weight: z.number().int().min(0).max(10_000).default(100).describe('Relative share of traffic; 0 takes the target out of rotation.'),
    labels: z.record(z.string(), z.string()).default({}).describe('Labels, used to select subsets of targets.'),
  })
  .describe('A backend instance of the upstream.');

export const upstreamTimeoutsSchema = z
  .strictObject({
    connectMs: durationMs.default(5_000).describe('Time allowed to open a TCP (and TLS) connection; past it the gateway answers 504.'),
    responseHeadersMs: durationMs.default(60_000).describe('Time allowed from sending the request until the response headers arrive; past it 504.'),
    idleMs: durationMs.default(60_000).describe('Longest silence allowed while streaming the response body before the exchange is aborted.'),
  })
  .describe('Upstream timeouts in milliseconds.');

/** A named group of targets selected by labels (Istio DestinationRule `subsets`). */
export const subsetSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'must be lower-case letters, digits and "-"').max(63).describe('Name routes use to address the subset, e.g. `v2`.'),
    labels: z.record(z.string(), z.string()).refine((l) => Object.keys(l).length > 0, 'give at least one label').describe('Targets whose labels include all of these belong to the subset.'),
  })
  .describe('A subset of the targets, selected by labels.');

/** What the consistent hash is computed from; exactly one field. */
export const consistentHashSchema = z
  .strictObject({
    header: z.string().min(1).max(256).optional().describe('Name of a request header whose value is hashed.'),
    cookie: z.string().min(1).max(256).optional().describe('Name of a cookie whose value is hashed.'),
    clientIp: z.literal(true).optional().describe('Hash the client IP (after trusted-proxy resolution).'),
    queryParameter: z.string().min(1).max(256).optional().describe('Name of a query parameter whose value is hashed.'),
  })
  .refine((h) => [h.header, h.cookie, h.clientIp, h.queryParameter].filter((v) => v !== undefined).length === 1, 'give exactly one of header, cookie, clientIp or queryParameter')
  .describe('Key of `consistent-hash` load balancing. A request without the key is balanced round robin.');

export const activeHealthCheckSchema = z
  .strictObject({
    path: z.string().regex(/^\/[\x21-\x7e]*$/, 'must be an absolute path of visible ASCII characters (it is sent in the request line)').default('/').describe('Path requested with GET on every target.'),
    intervalMs: z.number().int().min(100).max(3_600_000).default(10_000).describe('Time between two checks of a target.'),
    timeoutMs: z.number().int().min(10).max(60_000).default(2_000).describe('A check without a full response in this time fails.'),
    healthyThreshold: z.number().int().min(1).max(100).default(2).describe('Consecutive passing checks that bring an unhealthy target back.'),
    unhealthyThreshold: z.number().int().min(1).max(100).default(3).describe('Consecutive failing checks that take a target out.'),
    expectedStatuses: z.array(z.number().int().min(100).max(599)).min(1).optional().describe('Statuses that pass; default any 2xx or 3xx.'),
  })
  .describe('Active health checks: the gateway node probes every target in the background.')
  .refine((a) => a.timeoutMs <= a.intervalMs, { message: 'timeoutMs must not exceed intervalMs', path: ['timeoutMs'] });

export const outlierDetectionSchema = z
  .strictObject({
    consecutiveErrors: z.number().int().min(1).max(1_000).default(5).describe('Consecutive 5xx responses or connection failures that eject a target.'),
    baseEjectionMs: durationMs.default(30_000).describe('First ejection time; the n-th ejection lasts n times this (capped by maxEjectionMs).'),
    maxEjectionMs: durationMs.default(300_000).describe('Longest ejection.'),
    maxEjectionPercent: z.number().int().min(0).max(100).default(10).describe('No target is ejected while this share of the targets already is (100 allows ejecting all).'),
  })
  .describe('Passive health checks (outlier ejection) from live traffic.')
  .refine((o) => o.maxEjectionMs >= o.baseEjectionMs, { message: 'maxEjectionMs must be at least baseEjectionMs', path: ['maxEjectionMs'] });

export const circuitBreakerSchema = z
  .strictObject({
    maxPendingRequests: z.number().int().min(0).max(1_000_000).default(1_024).describe('Requests per target allowed to wait for a connection when all `maxConnectionsPerTarget` are busy; beyond, 503 `UPSTREAM_OVERLOADED` at once.'),
    maxRequestsPerConnection: z.number().int().min(0).max(1_000_000).default(0).describe('Requests sent on one connection before it is closed and replaced; 0 = unlimited.'),
  })
  .describe('Circuit breaking limits (the connection limit is `maxConnectionsPerTarget`).');

export const upstreamTlsSchema = z
  .strictObject({
    ca: pemCertificatesSchema.optional().describe('PEM bundle of trusted authorities for `https` targets; default: the system roots.'),
    serverName: z.string().min(1).max(253).optional().describe('SNI name sent and verified; default: the target host.'),
    clientCertificate: pemCertificatesSchema.optional().describe('PEM client certificate chain presented to the targets (mutual TLS).'),
    clientKey: pemPrivateKeySchema.optional().describe(`PEM private key of \`clientCertificate\`. A secret: the admin API never returns it (exports show "${REDACTED_SECRET}"), and applying "${REDACTED_SECRET}" keeps the stored key.`),
    insecureSkipVerify: z.boolean().default(false).describe('DANGER: accept any target certificate (no authentication of the upstream). Testing only.'),
  })
  .describe('TLS to `https` targets.')
  .superRefine((t, ctx) => {
    if ((t.clientCertificate === undefined) !== (t.clientKey === undefined)) ctx.addIssue({ code: 'custom', path: [t.clientKey === undefined ? 'clientKey' : 'clientCertificate'], message: 'clientCertificate and clientKey go together' });
    if (t.clientCertificate !== undefined && t.clientKey !== undefined) {
      const m = certificateKeyMismatch(t.clientCertificate, t.clientKey);
      if (m) ctx.addIssue({ code: 'custom', path: ['clientKey'], message: m });
    }
  });

export const upstreamSpecSchema = z
  .strictObject({
    targets: z.array(targetSchema).min(1).describe('Backend instances; at least one.'),
    subsets: z.array(subsetSchema).default([]).describe('Named subsets of the targets, selected by labels; routes may send to one.'),
    loadBalancing: z
      .enum(['round-robin', 'least-requests', 'random', 'consistent-hash'])
      .default('round-robin')
      .describe('How a target is chosen: `round-robin` (smooth weighted), `least-requests` (two random choices, fewer in-flight requests per weight wins), `random` (weighted), `consistent-hash` (ring hash on `consistentHash`).'),
    consistentHash: consistentHashSchema.optional(),
    timeouts: upstreamTimeoutsSchema.default({ connectMs: 5_000, responseHeadersMs: 60_000, idleMs: 60_000 }),
    maxConnectionsPerTarget: z.number().int().min(1).max(10_000).default(128).describe('Keep-alive connection pool size per target: the circuit breaker\'s connection limit.'),
    circuitBreaker: circuitBreakerSchema.default({ maxPendingRequests: 1_024, maxRequestsPerConnection: 0 }),
    healthChecks: z
      .strictObject({ active: activeHealthCheckSchema.optional(), passive: outlierDetectionSchema.optional() })
      .default({})
      .describe('Health checking; an unhealthy or ejected target gets no traffic.'),
    tls: upstreamTlsSchema.optional(),
    allowSelfTarget: z
      .boolean()
      .optional()
      .describe("Allow targets on the gateway's own proxy, admin or status port (on a loopback or the node's own address). Off by default: such a target is a request loop, or exposes the control plane on the data plane, and is refused at apply."),
  })
  .describe('A named group of backend targets that routes send traffic to.')
  .superRefine((spec, ctx) => {
    if (!spec.targets.some((t) => t.weight > 0)) ctx.addIssue({ code: 'custom', path: ['targets'], message: 'at least one target must have a weight above 0' });
    const seen = new Set<string>();
    spec.targets.forEach((t, i) => {
      const issue = discoveryIssue(t.url, t.discovery);
      if (issue !== null) ctx.addIssue({ code: 'custom', path: ['targets', i, 'discovery'], message: issue });
      const origin = safeOrigin(t.url);
      if (origin && seen.has(origin)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'url'], message: `duplicate target ${origin}` });
      if (origin) seen.add(origin);
    });
    const names = new Set<string>();
    spec.subsets.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['subsets', i, 'name'], message: `duplicate subset ${s.name}` });
      names.add(s.name);
      if (!spec.targets.some((t) => t.weight > 0 && subsetSelects(s.labels, t.labels))) {
        ctx.addIssue({ code: 'custom', path: ['subsets', i, 'labels'], message: `subset ${s.name} selects no target with a weight above 0` });
      }
    });
    if (spec.loadBalancing === 'consistent-hash' && spec.consistentHash === undefined) ctx.addIssue({ code: 'custom', path: ['consistentHash'], message: 'consistent-hash load balancing needs consistentHash' });
    if (spec.loadBalancing !== 'consistent-hash' && spec.consistentHash !== undefined) ctx.addIssue({ code: 'custom', path: ['consistentHash'], message: 'consistentHash is only used with loadBalancing: consistent-hash' });
  });

/** True when a target with `labels` belongs to a subset selecting `selector`. */
export function subsetSelects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

export type UpstreamSpec = z.infer<typeof upstreamSpecSchema>;
export type Target = z.infer<typeof targetSchema>;
export type UpstreamTls = z.infer<typeof upstreamTlsSchema>;
export type ActiveHealthCheck = z.infer<typeof activeHealthCheckSchema>;
export type OutlierDetection = z.infer<typeof outlierDetectionSchema>;
export type ConsistentHash = z.infer<typeof consistentHashSchema>;

/** Why a target's `discovery` cannot work with its URL, or null. */
function discoveryIssue(url: string, discovery: 'dns' | 'srv' | undefined): string | null {
  if (discovery === undefined) return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const host = u.hostname;
  if (/^[0-9.]+$/.test(host) || host.startsWith('[')) return `${host} is an IP address: there is nothing to resolve`;
  if (discovery === 'srv') {
    // RFC 2782: _Service._Proto.Name; the port comes from each record.
    if (!/^_[^.]+\._(tcp|udp)\.[^.]/i.test(host)) return 'an SRV name looks like _service._proto.name (RFC 2782), e.g. _http._tcp.orders.shop.svc.cluster.local';
    if (u.port !== '') return 'SRV records give the port: leave it out of url';
  }
  return null;
}
