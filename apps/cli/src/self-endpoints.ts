import { hostname, networkInterfaces } from 'node:os';
import type { SelfEndpoints } from '@tollgate/compiler';
import type { Settings } from './start-settings.js';

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * The listeners of this process as the compiler's self-target check needs them. `ports` names
 * what listens where; `hosts` holds the bind addresses, every interface address when a listener
 * binds a wildcard, and the host name (loopback names always count, see isLoopbackHost). Other
 * DNS names that resolve to this node cannot be known to a pure compile and are not refused.
 */
export function selfEndpoints(settings: Settings, listeners: ReadonlyArray<'proxy' | 'admin' | 'status'>): SelfEndpoints {
  const ports = new Map<number, string>();
  const binds: string[] = [];
  const add = (port: number, name: string, host: string) => {
    if (port !== 0) ports.set(port, name);
    binds.push(host);
  };
  if (listeners.includes('proxy')) {
    add(settings.PROXY_PORT, 'proxy', settings.PROXY_HOST);
    add(settings.PROXY_TLS_PORT, 'proxy-tls', settings.PROXY_HOST);
  }
  if (listeners.includes('status')) add(settings.STATUS_PORT, 'status', settings.STATUS_HOST);
  if (listeners.includes('admin')) add(settings.ADMIN_PORT, 'admin', settings.adminHost);
  const hosts = new Set<string>([hostname().toLowerCase()]);
  for (const b of binds) if (!WILDCARDS.has(b)) hosts.add(b.toLowerCase());
  if (binds.some((b) => WILDCARDS.has(b))) {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) hosts.add(a.address.toLowerCase().replace(/%.*$/, ''));
  }
  return { ports, hosts: [...hosts] };
}
