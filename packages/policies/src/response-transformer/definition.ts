import { SHARED_ERRORS } from '../shared-errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { responseTransformerSchema } from './schema.js';

export const responseTransformerDefinition: PolicyMeta<typeof responseTransformerSchema> = {
  name: 'response-transformer',
  summary: 'Sets, adds and removes response headers and JSON body fields, with templates.',
  priority: PRIORITY.transforms,
  phases: ['response'],
  schema: responseTransformerSchema,
  errors: { INVALID_HEADER_VALUE: SHARED_ERRORS.INVALID_HEADER_VALUE },
};
