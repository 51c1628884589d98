import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { fieldName } from '../field-name.js';
import { consumerHeadersSchema } from '../identity/consumer-headers.js';
import { claimRequirementsShape } from '../identity/claims.js';

/** Signature algorithms an issuer may be pinned to (RFC 7518 §3.1, RFC 8037). `none` is not one of them. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'HS256', 'HS384', 'HS512'] as const;

/** The `issuer` value that names the gateway's own token issuer (the `oauth2-token` policy). */
export const TOLLGATE_ISSUER = 'tollgate';

const pem = z
  .string()
  .refine((s) => {
    try {
      return createPublicKey(s).type === 'public' && !/PRIVATE KEY/.test(s);
    } catch {
      return false;
    }
  }, 'must be a PEM public key (SPKI "BEGIN PUBLIC KEY" or a certificate)')
  .describe('A PEM public key.');

const jwk = z.record(z.string(), z.unknown()).refine((k) => typeof k.kty === 'string' && k.d === undefined && k.kty !== 'oct', 'must be a public JWK (with `kty`, no private or symmetric material)');

export const issuerSchema = z
  .strictObject({
    issuer: z
      .string()
      .min(1)
      .max(512)
      .describe(`The exact \`iss\` value (compared byte for byte: \`https://a/\` and \`https://a\` differ), or \`${TOLLGATE_ISSUER}\`: the gateway's own token issuer (\`oauth2-token\`), whose keys, algorithm (ES256) and \`typ\` (at+jwt) need no configuration.`),
    algorithms: z
      .array(z.enum(JWT_ALGORITHMS))
      .min(1)
      .optional()
      .describe('Algorithms accepted for this issuer (required, except for `issuer: tollgate`: pinning prevents key-confusion attacks, RFC 8725 §3.1).'),
    audiences: z.array(z.string().min(1)).default([]).describe('Accepted `aud` values: the token must name at least one (RFC 7519 §4.1.3). Required unless `anyAudience` is true.'),
    anyAudience: z
      .boolean()
      .default(false)
      .describe('Accept any `aud` (and none). Only for issuers whose tokens carry no usable audience, as Istio does for a jwtRule without `audiences`; RFC 8725 §3.9 recommends checking it.'),
    jwksUri: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('Where the issuer publishes its JSON Web Key Set; fetched in the background and cached.'),
    jwks: z.strictObject({ keys: z.array(jwk).min(1) }).optional().describe('An inline JSON Web Key Set (public keys).'),
    publicKeys: z.array(z.strictObject({ kid: z.string().min(1).optional().describe('Key id matched to the token `kid`.'), pem })).optional().describe('PEM public keys.'),
    secrets: z
      .array(z.string().min(32, 'an HMAC secret must be at least 32 characters (RFC 7518 §3.2)'))
      .optional()
      .describe('HMAC secrets (for HS* algorithms only). Stored as given (the gateway needs them), never returned by the admin API: exports show "<redacted>", and applying that keeps the stored secret.'),
    jwksTimeoutMs: z.number().int().min(100).max(60_000).default(5_000).describe('Timeout of a JWKS fetch.'),
    jwksMaxAgeMs: z.number().int().min(1_000).default(600_000).describe('Age after which the JWKS is refreshed in the background.'),
    jwksStaleMs: z.number().int().min(0).default(3_600_000).describe('How long past its max age a cached JWKS is still used while the endpoint is failing; then 503 JWKS_UNAVAILABLE.'),
    jwksCooldownMs: z.number().int().min(0).default(30_000).describe('Minimum time between fetches caused by an unknown `kid` or a failure.'),
    typ: z.string().min(1).optional().describe('Required `typ` header, e.g. `at+jwt` (RFC 9068); compared case-insensitively, `application/` prefix optional.'),
    forwardToken: z.boolean().optional().describe("Overrides the policy's `forwardToken` for this issuer's tokens."),
    forwardClaims: z
      .array(z.strictObject({ claim: z.string().min(1), header: fieldName }))
      .default([])
      .describe("Claims of this issuer's tokens sent upstream as headers, in addition to the policy's `forwardClaims`. Client-sent headers of these names are removed."),
    payloadHeader: fieldName
      .optional()
      .describe("Header that carries the verified token's payload upstream, base64url-encoded JSON as in the token (Istio `outputPayloadToHeader`). Client-sent headers of this name are removed."),
  })
  .refine((i) => i.audiences.length > 0 || i.anyAudience, { message: 'give at least one audience (or anyAudience: true)', path: ['audiences'] })
  .refine((i) => i.issuer === TOLLGATE_ISSUER || i.jwksUri !== undefined || i.jwks !== undefined || (i.publicKeys?.length ?? 0) > 0 || (i.secrets?.length ?? 0) > 0, {
    message: 'give at least one of jwksUri, jwks, publicKeys or secrets',
    path: ['jwksUri'],
  })
  .refine((i) => i.issuer === TOLLGATE_ISSUER || i.algorithms !== undefined, { message: 'pin the accepted algorithms (RFC 8725 §3.1)', path: ['algorithms'] })
  .refine((i) => i.issuer !== TOLLGATE_ISSUER || (i.algorithms === undefined && i.jwksUri === undefined && i.jwks === undefined && i.publicKeys === undefined && i.secrets === undefined && i.typ === undefined), {
    message: "the gateway's own issuer takes its keys, algorithm and typ from Tollgate: give only audiences (and the forwarding options)",
    path: ['issuer'],
  })
  .refine((i) => !(i.algorithms ?? []).some((a) => a.startsWith('HS')) || (i.secrets?.length ?? 0) > 0, { message: 'HS* algorithms need `secrets`', path: ['algorithms'] })
  .refine((i) => (i.secrets?.length ?? 0) === 0 || (i.algorithms ?? []).every((a) => a.startsWith('HS')), {
    message: 'an issuer with HMAC secrets must allow only HS* algorithms (mixing invites key confusion)',
    path: ['algorithms'],
  })
  .describe('A trusted token issuer and how its signatures are verified.');

export const tokenSourceSchema = z
  .strictObject({
    header: fieldName.default('authorization').describe('Header carrying the token.'),
    scheme: z.string().max(32).default('Bearer').describe('Auth scheme before the token in that header (case-insensitive); empty = the whole value is the token.'),
    cookie: z.string().min(1).optional().describe('Cookie carrying the token (checked when the header has none).'),
    query: z.string().min(1).optional().describe('Query parameter carrying the token (checked last; removed before forwarding).'),
    headers: z
      .array(
        z.strictObject({
          name: fieldName.describe('Header name.'),
          prefix: z.string().max(64).default('').describe('Literal text before the token, e.g. `Bearer ` (compared case-insensitively); a value without it carries no token. Empty = the whole value.'),
        }),
      )
      .max(16)
      .optional()
      .describe('Headers carrying the token, tried in order (Istio `fromHeaders`). When set, they replace `header` and `scheme`.'),
    queryParams: z.array(z.string().min(1).max(128)).max(16).default([]).describe('More query parameters carrying the token, after `query` (Istio `fromParams`); removed before forwarding.'),
  })
  .default({ header: 'authorization', scheme: 'Bearer', queryParams: [] })
  .describe('Where the token is read: the header(s), then the cookie, then the query parameter(s).');

export const jwtAuthSchema = z
  .strictObject({
    issuers: z
      .array(issuerSchema)
      .min(1)
      .describe('Trusted issuers; the token `iss` selects one (exact match), unknown issuers are refused.')
      .refine((l) => new Set(l.map((i) => i.issuer)).size === l.length, 'issuers must be distinct'),
    token: tokenSourceSchema,
    requiredClaims: z.array(z.string().min(1)).default(['exp']).describe('Claims that must be present (`iss` and `aud` are always required).'),
    clockToleranceSec: z.number().int().min(0).max(300).default(30).describe('Leeway for `exp` and `nbf`, in seconds.'),
    maxTokenBytes: z.number().int().min(256).max(65_536).default(8_192).describe('Longer tokens are refused before any parsing.'),
    consumerClaim: z.string().min(1).default('sub').describe("Claim mapped to a consumer: matched to a declared jwtSubject of the issuer, then to a consumer's customId."),
    anonymous: z.boolean().default(false).describe('Admit valid tokens that map to no consumer (no X-Consumer-* headers); false answers them 401.'),
    certificateBound: z
      .boolean()
      .default(false)
      .describe('RFC 8705 §3: require a certificate-bound token, whose `cnf["x5t#S256"]` is the SHA-256 thumbprint of the client certificate the TLS listener verified on this connection.'),
    optional: z
      .boolean()
      .default(false)
      .describe('Admit a request that carries no token as anonymous (no consumer, no claims), for an `authorization` policy to judge; a token that is present is still verified and an invalid one is 401 (Istio RequestAuthentication semantics). Later auth policies of the route skip an admitted request.'),
    ...claimRequirementsShape,
    forwardClaims: z
      .array(z.strictObject({ claim: z.string().min(1), header: fieldName }))
      .default([])
      .describe('Claims sent upstream as headers (strings as is, other values as JSON). Client-sent headers of these names are removed.'),
    forwardToken: z.boolean().default(false).describe('Forward the token to the upstream; by default it is removed (the upstream receives the identity headers instead).'),
    consumerHeaders: consumerHeadersSchema,
  })
  .describe('Authenticates callers by a signed JWT (RFC 7519, RFC 8725) from pinned issuers and algorithms.');

/** Parsed jwt-auth config. */
export type JwtAuthConfig = z.output<typeof jwtAuthSchema>;
/** Parsed issuer config. */
export type IssuerConfig = z.output<typeof issuerSchema>;
