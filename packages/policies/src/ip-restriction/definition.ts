import { defineErrors } from '../errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { ipRestrictionSchema } from './schema.js';

export const IP_RESTRICTION_ERRORS = defineErrors({
  IP_FORBIDDEN: { status: 403, title: 'Forbidden', description: "The client's address is on the deny list or not on the allow list." },
});

export const ipRestrictionDefinition: PolicyMeta<typeof ipRestrictionSchema> = {
  name: 'ip-restriction',
  summary: 'Allow and/or deny lists of IP addresses and CIDR ranges; deny wins.',
  priority: PRIORITY.ipRestriction,
  phases: ['access'],
  schema: ipRestrictionSchema,
  errors: IP_RESTRICTION_ERRORS,
};
