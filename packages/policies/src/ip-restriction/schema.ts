import { isIP } from 'node:net';
import { z } from 'zod';

/** An IPv4/IPv6 address or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`). */
const ipOrCidr = z
  .string()
  .refine((s) => parseIpOrCidr(s) !== null, 'must be an IPv4 or IPv6 address or CIDR block, e.g. "10.0.0.0/8"')
  .describe('An IP address or CIDR block.');

export const ipRestrictionSchema = z
  .strictObject({
    allow: z.array(ipOrCidr).max(10_000).default([]).describe('If not empty, only clients in these addresses or blocks are admitted.'),
    deny: z.array(ipOrCidr).max(10_000).default([]).describe('Clients in these addresses or blocks are refused with 403; deny wins over allow.'),
    message: z.string().max(512).default('Your IP address is not allowed to call this API.').describe('Detail text of the 403 problem.'),
  })
  .refine((c) => c.allow.length > 0 || c.deny.length > 0, { message: 'set at least one of "allow" or "deny"', path: ['allow'] })
  .describe('Admits or refuses clients by IP address (IPv4 and IPv6, single addresses or CIDR blocks).');

export type IpRestrictionConfig = z.output<typeof ipRestrictionSchema>;

/** A parsed address or block. */
export interface ParsedCidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `addr` or `addr/prefix`; null when invalid. */
export function parseIpOrCidr(s: string): ParsedCidr | null {
  const slash = s.indexOf('/');
  const address = slash === -1 ? s : s.slice(0, slash);
  const v = isIP(address);
  if (v === 0) return null;
  const max = v === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}
