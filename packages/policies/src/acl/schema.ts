import { z } from 'zod';
import { claimRequirementsShape } from '../identity/claims.js';

const group = z.string().min(1).max(128);

export const aclSchema = z
  .strictObject({
    allowGroups: z.array(group).max(1_000).default([]).describe('If not empty, only consumers in at least one of these groups are admitted.'),
    denyGroups: z.array(group).max(1_000).default([]).describe('Consumers in any of these groups are refused; deny wins over allow.'),
    ...claimRequirementsShape,
    message: z.string().max(512).default('You are not allowed to call this route.').describe('Detail text of the 403 ACL_DENIED problem.'),
  })
  .refine((c) => c.allowGroups.length + c.denyGroups.length + c.requiredScopes.length + c.claimValues.length > 0, {
    message: 'set at least one of allowGroups, denyGroups, requiredScopes or claimValues',
    path: ['allowGroups'],
  })
  .describe('Authorizes the authenticated consumer by group (and optionally by JWT scopes and claim values); runs after authentication; refusals are 403.');

/** Parsed acl config. */
export type AclConfig = z.output<typeof aclSchema>;
