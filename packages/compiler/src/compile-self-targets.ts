import { formatPath, resourceKey, type ConfigIssue, type Resource } from '@tollgate/model';

/**
 * Where the gateway node itself listens, so that upstream targets pointing back at it can be
 * refused. The compiler is pure: the process that knows its listeners (the admin's apply path,
 * the gateway's snapshot compile) passes them in.
 */
export interface SelfEndpoints {
  /** Listening ports with what listens there (`proxy`, `proxy-tls`, `admin`, `status`). */
  readonly ports: ReadonlyMap<number, string>;
  /**
   * Host names and IP literals (lower case, IPv6 without brackets) that reach this node besides
   * the loopback names, which always count: the listeners' bind addresses, the interface
   * addresses when a listener binds a wildcard, the host name.
   */
  readonly hosts: readonly string[];
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The IPv4 address an IPv4-mapped IPv6 literal (as the URL parser writes it, `::ffff:7f00:1`) stands for. */
function mappedIpv4(host: string): string | undefined {
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (m === null) return undefined;
  const hi = Number.parseInt(m[1] as string, 16);
  const lo = Number.parseInt(m[2] as string, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * True for names that always reach the local host: `localhost` and `*.localhost` (RFC 6761
 * §6.3), 127.0.0.0/8 (RFC 1122 §3.2.1.3), `0.0.0.0` and `::` (connecting to the unspecified
 * address reaches the local host on Linux and macOS), `::1`, and IPv4-mapped forms of these.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '::') return true;
  const v4 = IPV4.test(h) ? h : mappedIpv4(h);
  if (v4 === undefined) return false;
  return v4.startsWith('127.') || v4 === '0.0.0.0';
}

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/**
 * Refuses targets that point at the gateway's own proxy, admin or status listener: a request
 * would loop through the proxy until the connection pool runs dry, or the control plane
 * (admin API, metrics) would be served on the data plane to whoever can call the route.
 * `allowSelfTarget: true` on the Upstream opts out (deliberate loopback routing). The URL parser
 * has already normalized the host (`127.1`, `0x7f000001` and `[0:0::1]` all become canonical).
 */
export function checkSelfTargets(resources: readonly Resource[], self: SelfEndpoints, issues: ConfigIssue[]): void {
  const hosts = new Set(self.hosts.map((h) => h.toLowerCase().replace(/^\[|\]$/g, '')));
  for (const r of resources) {
    if (r.kind !== 'Upstream' || r.spec.allowSelfTarget === true) continue;
    r.spec.targets.forEach((t, i) => {
      let url: URL;
      try {
        url = new URL(t.url);
      } catch {
        return; // the model refuses it
      }
      const port = url.port === '' ? defaultPort(url.protocol) : Number(url.port);
      const listener = self.ports.get(port);
      if (listener === undefined) return;
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (!isLoopbackHost(host) && !hosts.has(host.toLowerCase())) return;
      issues.push({
        code: 'self_target',
        message: `${url.origin} is this gateway's own ${listener} listener (a request loop, or the ${listener === 'admin' || listener === 'status' ? 'control plane exposed on the data plane' : 'proxy calling itself'}); set allowSelfTarget: true on the Upstream if this is intended`,
        resource: resourceKey(r),
        path: formatPath(['spec', 'targets', i, 'url']),
      });
    });
  }
}
