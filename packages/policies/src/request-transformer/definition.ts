import { SHARED_ERRORS } from '../shared-errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { requestTransformerSchema } from './schema.js';

export const requestTransformerDefinition: PolicyMeta<typeof requestTransformerSchema> = {
  name: 'request-transformer',
  summary: 'Sets, adds, renames and removes request headers, query parameters and JSON body fields, with templates.',
  priority: PRIORITY.transforms,
  phases: ['access'],
  schema: requestTransformerSchema,
  errors: { INVALID_HEADER_VALUE: SHARED_ERRORS.INVALID_HEADER_VALUE },
};
