import { BlockList, isIPv4 } from 'node:net';
import { parseIpOrCidr } from './schema.js';

// Client IP matching against lists of addresses and CIDR blocks, shared by `ip-restriction`
// (allow / deny lists) and `authorization` (Istio `remoteIpBlocks` / `notRemoteIpBlocks`).

/** A BlockList of addresses and CIDR blocks (`10.0.0.0/8`, `2001:db8::1`), compiled once at config time. */
export function addressList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const c = parseIpOrCidr(e);
    if (!c) continue; // unreachable: the schema refused it
    if (c.prefix === (c.family === 'ipv4' ? 32 : 128)) list.addAddress(c.address, c.family);
    else list.addSubnet(c.address, c.prefix, c.family);
  }
  return list;
}

/**
 * Whether the client address `ip` is in the list. Dual-stack sockets report IPv4 clients as
 * IPv4-mapped IPv6 (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2); those are compared as IPv4, so an
 * IPv4 rule cannot be dodged. An empty address is in no list.
 */
export function inAddressList(list: BlockList, ip: string): boolean {
  if (isIPv4(ip)) return list.check(ip, 'ipv4');
  if (ip.length > 7 && ip.slice(0, 7).toLowerCase() === '::ffff:' && isIPv4(ip.slice(7))) return list.check(ip.slice(7), 'ipv4');
  return ip !== '' && list.check(ip, 'ipv6');
}
