import { FIELD_VALUE, FIELD_VALUE_MESSAGE } from '@tollgate/model';
import { z } from 'zod';
import { fieldName } from '../field-name.js';
import { consumerHeadersSchema } from '../identity/consumer-headers.js';

export const mtlsAuthSchema = z
  .strictObject({
    realm: z.string().max(128).regex(FIELD_VALUE, FIELD_VALUE_MESSAGE).default('tollgate').describe('Realm named in the `WWW-Authenticate: ClientCertificate` challenge when no verified certificate was presented.'),
    fingerprintHeader: fieldName
      .optional()
      .describe("Header that carries the verified certificate's SHA-256 fingerprint (hex) to the upstream; a client-sent header of that name is always removed."),
    consumerHeaders: consumerHeadersSchema,
  })
  .describe(
    "Authenticates callers by the client certificate the TLS listener verified (a Certificate's `clientAuth.ca`), mapped to a Consumer by SHA-256 fingerprint, subject or subjectAltName (`spec.certificates`).",
  );

/** Parsed mtls-auth config. */
export type MtlsAuthConfig = z.output<typeof mtlsAuthSchema>;
