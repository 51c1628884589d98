import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { LookupFunction } from 'node:net';

/**
 * Which outbound webhook URLs are allowed (SSRF protection). A webhook URL comes from an operator
 * (or anyone with `config:write`), and the admin process POSTs to it from inside the network: it
 * must not become a way to reach loopback services, cloud metadata (169.254.169.254), private
 * networks or this node's own listeners.
 */
export interface OutboundPolicy {
  /** WEBHOOK_ALLOW_PRIVATE: every address is allowed (except this node's own ports). */
  readonly allowPrivate: boolean;
  /** WEBHOOK_ALLOW_CIDRS: ranges allowed although refused by default. */
  readonly allow: BlockList;
  /** Ports this node listens on (proxy, TLS proxy, status, admin): never a webhook target on a local or private address. */
  readonly ownPorts: ReadonlySet<number>;
}

/**
 * Special-purpose ranges refused by default: RFC 1122 "this network" and loopback, RFC 1918
 * private, RFC 6598 shared (CGNAT), RFC 3927 link-local (cloud metadata), RFC 6890 IETF protocol
 * assignments and benchmarking, multicast and reserved; IPv6 unspecified, loopback, RFC 4193
 * unique-local, link-local, multicast, and the IPv4-mapped block (checked as IPv4 instead).
 */
const REFUSED = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) REFUSED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) REFUSED.addSubnet(net, bits, 'ipv6');

/** Parses WEBHOOK_ALLOW_CIDRS (`10.0.0.0/8,127.0.0.1/32,::1/128`); throws on a malformed entry. */
export function parseCidrs(text: string): BlockList {
  const list = new BlockList();
  for (const raw of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [addr, bitsText] = raw.split('/');
    const family = isIP(addr ?? '');
    const bits = bitsText === undefined ? (family === 6 ? 128 : 32) : Number(bitsText);
    if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) throw new Error(`WEBHOOK_ALLOW_CIDRS: "${raw}" is not an address or CIDR range`);
    list.addSubnet(addr as string, bits, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`), else null. */
function mappedV4(ip: string): string | null {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? (m[1] as string) : null;
}

/** Why an address (a literal or a resolved one) may not be a webhook target, or null when it may. */
export function refusedAddress(ip: string, port: number, policy: OutboundPolicy): string | null {
  const v4 = mappedV4(ip);
  const addr = v4 ?? ip.replace(/^\[|\]$/g, '');
  const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
  const special = REFUSED.check(addr, type);
  if (special && policy.ownPorts.has(port)) return `${addr}:${port} is one of this node's own listeners`;
  if (!special || policy.allowPrivate || policy.allow.check(addr, type)) return null;
  return `${addr} is a loopback, link-local, private or reserved address (set WEBHOOK_ALLOW_PRIVATE=true or list it in WEBHOOK_ALLOW_CIDRS to allow it)`;
}

/** The port a URL connects to. */
export function portOf(url: URL): number {
  return url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/**
 * The apply-time check (no DNS: the config validator is synchronous): literal IP hosts and
 * `localhost` names. A DNS name is checked after resolution, at every delivery (see {@link guardedLookup}).
 */
export function refusedUrl(urlText: string, policy: OutboundPolicy): string | null {
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    return 'is not a URL';
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  const port = portOf(url);
  if (isIP(host) !== 0) return refusedAddress(host, port, policy);
  // RFC 6761 §6.3: localhost and its subdomains are loopback by definition.
  if (host === 'localhost' || host.endsWith('.localhost')) return refusedAddress('127.0.0.1', port, policy);
  return null;
}

/**
 * A `lookup` for node:http that resolves as usual and refuses when any resolved address is refused,
 * so the connection goes to the very address that was checked (no DNS-rebinding window between
 * the check and the connect).
 */
export function guardedLookup(policy: OutboundPolicy, port: number): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      for (const a of addresses) {
        const why = refusedAddress(a.address, port, policy);
        if (why !== null) return callback(Object.assign(new Error(`refused: ${hostname} resolves to ${why}`), { code: 'WEBHOOK_SSRF_REFUSED' }), '', 0);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}
