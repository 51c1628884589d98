import { BlockList, isIPv4 } from 'node:net';
import { PRIORITY, type PolicyDefinition, type PolicyReply } from '../types.js';
import { ipRestrictionSchema, parseIpOrCidr, type IpRestrictionConfig } from './schema.js';

function toBlockList(entries: readonly string[]): BlockList | null {
  if (entries.length === 0) return null;
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
 * Dual-stack sockets report IPv4 clients as IPv4-mapped IPv6 (`::ffff:192.0.2.1`, RFC 4291
 * §2.5.5.2); match those against IPv4 rules so an IPv4 deny list cannot be dodged.
 */
function familyOf(ip: string): { address: string; family: 'ipv4' | 'ipv6' } {
  if (isIPv4(ip)) return { address: ip, family: 'ipv4' };
  if (ip.length > 7 && ip.slice(0, 7).toLowerCase() === '::ffff:' && isIPv4(ip.slice(7))) return { address: ip.slice(7), family: 'ipv4' };
  return { address: ip, family: 'ipv6' };
}

/** Builds the 403 reply once per instance; it does not vary per request. */
function forbidden(config: IpRestrictionConfig): PolicyReply {
  return Object.freeze({ status: 403, body: Object.freeze({ code: 'IP_FORBIDDEN', title: 'Forbidden', detail: config.message }) });
}

/** `ip-restriction`: allow and/or deny lists of IPs and CIDRs; deny wins; refused clients get 403 `IP_FORBIDDEN`. */
export const ipRestriction: PolicyDefinition<typeof ipRestrictionSchema> = {
  name: 'ip-restriction',
  priority: PRIORITY.ipRestriction,
  phases: ['access'],
  schema: ipRestrictionSchema,
  build(config) {
    const allow = toBlockList(config.allow);
    const deny = toBlockList(config.deny);
    const reply = forbidden(config);
    return {
      access(ctx) {
        const { address, family } = familyOf(ctx.clientIp);
        if (deny !== null && deny.check(address, family)) return reply;
        if (allow !== null && !allow.check(address, family)) return reply;
        return undefined;
      },
    };
  },
};
