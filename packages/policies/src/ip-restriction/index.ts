import { BlockList } from 'node:net';
import { addressList, inAddressList } from './address-list.js';
import type { PolicyDefinition, PolicyReply } from '../types.js';
import { ipRestrictionSchema, type IpRestrictionConfig } from './schema.js';
import { ipRestrictionDefinition, IP_RESTRICTION_ERRORS } from './definition.js';
import { problemReply } from '../errors.js';

function toBlockList(entries: readonly string[]): BlockList | null {
  return entries.length === 0 ? null : addressList(entries);
}

/** Builds the 403 reply once per instance; it does not vary per request. */
function forbidden(config: IpRestrictionConfig): PolicyReply {
  return Object.freeze(problemReply(IP_RESTRICTION_ERRORS.IP_FORBIDDEN, config.message));
}

/** `ip-restriction`: allow and/or deny lists of IPs and CIDRs; deny wins; refused clients get 403 `IP_FORBIDDEN`. */
export const ipRestriction: PolicyDefinition<typeof ipRestrictionSchema> = {
  ...ipRestrictionDefinition,
  build(config) {
    const allow = toBlockList(config.allow);
    const deny = toBlockList(config.deny);
    const reply = forbidden(config);
    return {
      access(ctx) {
        if (deny !== null && inAddressList(deny, ctx.clientIp)) return reply;
        if (allow !== null && !inAddressList(allow, ctx.clientIp)) return reply;
        return undefined;
      },
    };
  },
};
