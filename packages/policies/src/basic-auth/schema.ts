import { FIELD_VALUE, FIELD_VALUE_MESSAGE } from '@tollgate/model';
import { z } from 'zod';
import { consumerHeadersSchema } from '../identity/consumer-headers.js';

export const basicAuthSchema = z
  .strictObject({
    realm: z.string().min(1).max(128).regex(FIELD_VALUE, FIELD_VALUE_MESSAGE).default('tollgate').describe('Realm named in the `WWW-Authenticate: Basic` challenge (RFC 7617 §2).'),
    forwardCredential: z.boolean().default(false).describe('Send the `Authorization: Basic` header upstream (default: removed, so the upstream never sees the password).'),
    consumerHeaders: consumerHeadersSchema,
  })
  .default({ realm: 'tollgate', forwardCredential: false, consumerHeaders: { id: 'x-consumer-id', name: 'x-consumer-name', groups: 'x-consumer-groups' } })
  .describe('Authenticates callers by a user name and password (RFC 7617) declared on a Consumer (`spec.basicAuth`), stored as scrypt hashes; verified credentials are cached so scrypt is not paid per request.');

/** Parsed basic-auth config. */
export type BasicAuthConfig = z.output<typeof basicAuthSchema>;
