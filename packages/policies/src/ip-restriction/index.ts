import type { BlockList } from 'node:net';
import { addressList, inAddressList } from './address-list.js';
import { PRIORITY, type PolicyDefinition, type PolicyReply } from '../types.js';
import { ipRestrictionSchema, type IpRestrictionConfig } from './schema.js';

function toBlockList(entries: readonly string[]): BlockList | null {
  return entries.length === 0 ? null : addressList(entries);
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
        if (deny !== null && inAddressList(deny, ctx.clientIp)) return reply;
        if (allow !== null && !inAddressList(allow, ctx.clientIp)) return reply;
        return undefined;
      },
    };
  },
};
