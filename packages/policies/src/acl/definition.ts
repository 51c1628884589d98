import { defineErrors } from '../errors.js';
import { CLAIM_ERRORS } from '../identity/errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { aclSchema } from './schema.js';

export const ACL_ERRORS = defineErrors({
  ACL_DENIED: { status: 403, title: 'Forbidden', description: "The consumer's groups are not allowed on the route (or one is denied)." },
});

export const aclDefinition: PolicyMeta<typeof aclSchema> = {
  name: 'acl',
  summary: "Allows or denies consumers by group, and checks the route's required scopes and claims.",
  priority: PRIORITY.authorization,
  phases: ['access'],
  schema: aclSchema,
  errors: { ...ACL_ERRORS, ...CLAIM_ERRORS },
};
