import { ClaimRequirements } from '../identity/claims.js';
import { authReply } from '../identity/consumer-headers.js';
import type { PolicyDefinition } from '../types.js';
import { aclSchema } from './schema.js';
import { aclDefinition, ACL_ERRORS } from './definition.js';

/**
 * `acl`: allow/deny by consumer group, deny first; an anonymous caller has no groups, so an allow
 * list refuses it. Route-level scope and claim requirements are checked on verified JWT claims.
 */
export const acl: PolicyDefinition<typeof aclSchema> = {
  ...aclDefinition,
  build(config) {
    const allow = config.allowGroups.length > 0 ? new Set(config.allowGroups) : null;
    const deny = config.denyGroups.length > 0 ? new Set(config.denyGroups) : null;
    const denied = authReply(ACL_ERRORS.ACL_DENIED, config.message);
    const requirements = new ClaimRequirements(config.requiredScopes, config.claimValues);
    return {
      access(ctx) {
        const groups = ctx.consumer?.groups ?? [];
        if (deny !== null) for (const g of groups) if (deny.has(g)) return denied;
        if (allow !== null && !groups.some((g) => allow.has(g))) return denied;
        return requirements.empty ? undefined : requirements.check(ctx.claims);
      },
    };
  },
};
