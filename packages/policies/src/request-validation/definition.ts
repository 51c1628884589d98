import { defineErrors } from '../errors.js';
import { PRIORITY, type PolicyMeta } from '../types.js';
import { requestValidationSchema } from './schema.js';

export const REQUEST_VALIDATION_ERRORS = defineErrors({
  REQUEST_INVALID: { status: 400, title: 'Bad Request', description: "A parameter or the body does not match the operation's schema; `errors` lists every failed field." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported Media Type', description: 'The body has a content type the operation does not accept; `Accept-Post` lists those it does.' },
  BODY_TOO_LARGE: { status: 413, title: 'Request body too large', description: 'The body is longer than the limit (`maxBodyBytes`, or the gateway body limit).' },
  BAD_REQUEST: { status: 400, title: 'Malformed request', description: 'The request could not be read or parsed.' },
});

export const requestValidationDefinition: PolicyMeta<typeof requestValidationSchema> = {
  name: 'request-validation',
  summary: "Checks parameters and the body against the OpenAPI operation's JSON Schemas (ajv, RE2 patterns).",
  priority: PRIORITY.limits - 100,
  phases: ['access'],
  schema: requestValidationSchema,
  errors: REQUEST_VALIDATION_ERRORS,
};
