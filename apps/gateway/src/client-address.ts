import { BlockList, isIP, isIPv4 } from 'node:net';
import { parseIpOrCidr } from '@tollgate/policies';

/** Turns an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2) into plain IPv4. */
export function unmapIp(ip: string): string {
  if (ip.length > 7 && ip.charCodeAt(0) === 58 /* : */ && ip.slice(0, 7).toLowerCase() === '::ffff:' && isIPv4(ip.slice(7))) return ip.slice(7);
  return ip;
}

/**
 * The proxies whose `X-Forwarded-*` headers are believed. Trust is by address list only (hop
 * counts are spoofable; Fastify dropped them in 5.12.1, GHSA-3m5p-2c4r-xxw2): an untrusted peer's
 * forwarding headers are replaced, never appended to (APISIX CVE-2022-24112).
 */
export class TrustedProxies {
  readonly #list: BlockList | null;

  /** Throws on an entry that is not an IP or CIDR. */
  constructor(entries: readonly string[]) {
    if (entries.length === 0) {
      this.#list = null;
      return;
    }
    const list = new BlockList();
    for (const e of entries) {
      const c = parseIpOrCidr(e);
      if (!c) throw new Error(`trustedProxies: "${e}" is not an IP address or CIDR block`);
      list.addSubnet(c.address, c.prefix, c.family);
    }
    this.#list = list;
  }

  /** Whether forwarding headers from this (unmapped) peer address are trusted. */
  isTrusted(ip: string): boolean {
    const list = this.#list;
    if (list === null) return false;
    const v = isIP(ip);
    return v !== 0 && list.check(ip, v === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client address: the peer, or, when the peer is trusted, the right-most address in
   * `X-Forwarded-For` that is not itself a trusted proxy (the standard right-to-left walk).
   */
  clientIp(peer: string, xff: string | undefined): string {
    if (xff === undefined || !this.isTrusted(peer)) return peer;
    const hops = xff.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = unmapIp((hops[i] as string).trim());
      if (isIP(hop) === 0) return peer;
      if (!this.isTrusted(hop)) return hop;
    }
    return unmapIp((hops[0] as string).trim());
  }
}
