import { FIELD_VALUE, FIELD_VALUE_MESSAGE } from '@tollgate/model';
import { z } from 'zod';

export const oauth2TokenSchema = z
  .strictObject({
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(16)]).describe('The `aud` of issued tokens (RFC 9068 §3): the API(s) they are meant for; jwt-auth checks it.'),
    tokenTtlSec: z.number().int().min(30).max(3600).default(300).describe('Lifetime of an access token, in seconds (`expires_in`). Short: a token of a revoked client stays valid for an external verifier until it expires.'),
    realm: z.string().min(1).max(128).regex(FIELD_VALUE, FIELD_VALUE_MESSAGE).default('tollgate').describe('Realm of the `WWW-Authenticate: Basic` challenge on `invalid_client`.'),
    maxBodyBytes: z.number().int().min(256).max(65_536).default(8192).describe('Largest token request body read, in bytes.'),
  })
  .describe('Serves the OAuth 2.0 token endpoint for the client-credentials grant (RFC 6749 §4.4) on its route, issuing RFC 9068 JWT access tokens signed with keys Tollgate manages and rotates. The route answers every request itself.');

/** Parsed oauth2-token config. */
export type OAuth2TokenConfig = z.output<typeof oauth2TokenSchema>;

export const oauth2JwksSchema = z
  .strictObject({
    maxAgeSec: z.number().int().min(0).max(3600).default(60).describe('`Cache-Control: max-age` of the JWK Set, in seconds (keep it well under the key rotation period: the next key is published one period ahead).'),
  })
  .default({ maxAgeSec: 60 })
  .describe("Publishes the public keys of Tollgate's token issuer as a JWK Set (RFC 7517) on its route, for verifiers outside Tollgate. The route answers every request itself.");

/** Parsed oauth2-jwks config. */
export type OAuth2JwksConfig = z.output<typeof oauth2JwksSchema>;
