import { FIELD_VALUE, FIELD_VALUE_MESSAGE } from '@tollgate/model';
import { z } from 'zod';
import { fieldName } from '../field-name.js';
import { consumerHeadersSchema } from '../identity/consumer-headers.js';

export const keyAuthSchema = z
  .strictObject({
    headers: z.array(fieldName).max(16).default(['apikey', 'x-api-key']).describe('Request headers the key is read from, in order.'),
    queryParams: z
      .array(z.string().min(1).max(128))
      .max(16)
      .default([])
      .describe('Query parameters the key is read from (none by default: keys in URLs end up in logs and browser history). Case-sensitive.'),
    realm: z.string().max(128).regex(FIELD_VALUE, FIELD_VALUE_MESSAGE).default('tollgate').describe('Realm named in the `WWW-Authenticate: ApiKey` challenge.'),
    consumerHeaders: consumerHeadersSchema,
  })
  .refine((c) => c.headers.length + c.queryParams.length > 0, { message: 'read the key from at least one header or query parameter', path: ['headers'] })
  .describe('Authenticates callers by an API key (declared on a Consumer or created through the admin API), looked up by its SHA-256 in memory. The key is removed before the request goes upstream.');

/** Parsed key-auth config. */
export type KeyAuthConfig = z.output<typeof keyAuthSchema>;
