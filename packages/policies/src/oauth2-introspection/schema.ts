import { FIELD_VALUE, FIELD_VALUE_MESSAGE } from '@tollgate/model';
import { z } from 'zod';
import { claimRequirementsShape } from '../identity/claims.js';
import { consumerHeadersSchema } from '../identity/consumer-headers.js';
import { tokenSourceSchema } from '../jwt-auth/schema.js';

export const introspectionSchema = z
  .strictObject({
    endpoint: z.url({ protocol: /^https?$/ }).describe("The authorization server's RFC 7662 introspection endpoint."),
    clientId: z.string().min(1).max(256).describe('Client id the gateway authenticates to the introspection endpoint with (RFC 7662 §2.1).'),
    clientSecret: z.string().min(1).max(512).describe('Its client secret. Never returned by the admin API (reads and exports show `<redacted>`).'),
    clientAuthMethod: z
      .enum(['client_secret_basic', 'client_secret_post'])
      .default('client_secret_basic')
      .describe('How the client authenticates (RFC 6749 §2.3.1): HTTP Basic (default) or `client_id`/`client_secret` in the form body.'),
    issuer: z.string().min(1).optional().describe('Required `iss` of active tokens, when set. Also the issuer a consumer `jwtSubjects` entry names (default: the endpoint URL).'),
    audiences: z.array(z.string().min(1)).default([]).describe('When set, an active token must name one of them in `aud` (RFC 7662 §2.2; RFC 8725 §3.9), else 401.'),
    token: tokenSourceSchema,
    tokenTypeHint: z.string().min(1).max(64).default('access_token').describe('`token_type_hint` sent to the endpoint.'),
    timeoutMs: z.number().int().min(100).max(30_000).default(3000).describe('How long one introspection call may take, in milliseconds; then 503 INTROSPECTION_UNAVAILABLE.'),
    cacheMaxEntries: z.number().int().min(0).max(1_000_000).default(10_000).describe('Most introspection results kept (LRU); 0 disables the cache.'),
    cacheTtlSec: z.number().int().min(0).max(3600).default(60).describe('How long an active result is reused, in seconds; never past the token `exp`.'),
    negativeCacheTtlSec: z.number().int().min(0).max(3600).default(10).describe('How long an inactive result is reused, in seconds.'),
    maxTokenBytes: z.number().int().min(16).max(65_536).default(4096).describe('Longer tokens are refused without asking the endpoint.'),
    consumerClaim: z.string().min(1).default('sub').describe("Member of the introspection response mapped to a consumer (`sub`, `client_id`, `username`): matched to a consumer's jwtSubjects of the issuer, then to a customId."),
    anonymous: z.boolean().default(false).describe('Admit active tokens that map to no consumer (no X-Consumer-* headers); false answers them 401.'),
    ...claimRequirementsShape,
    realm: z.string().min(1).max(128).regex(FIELD_VALUE, FIELD_VALUE_MESSAGE).default('tollgate').describe('Realm named in the `WWW-Authenticate: Bearer` challenge.'),
    forwardToken: z.boolean().default(false).describe('Forward the token to the upstream; by default it is removed.'),
    consumerHeaders: consumerHeadersSchema,
  })
  .describe('Authenticates callers by an opaque access token, asked of an external authorization server with RFC 7662 token introspection; results are cached (bounded, never past `exp`).');

/** Parsed oauth2-introspection config. */
export type IntrospectionConfig = z.output<typeof introspectionSchema>;
