import { z } from 'zod';
import { fieldName } from '../field-name.js';
import { consumerHeadersSchema } from '../identity/consumer-headers.js';

const absoluteUrl = z.string().url().refine((u) => /^https?:\/\//.test(u), { message: 'an http(s) URL' });

export const oidcLoginSchema = z
  .strictObject({
    issuer: absoluteUrl.describe('The OpenID Provider (its `/.well-known/openid-configuration` is read on first use).'),
    clientId: z.string().min(1).max(256).describe('Client id registered at the provider.'),
    clientSecret: z.string().min(1).max(1024).describe('Client secret (sent with client_secret_basic). A secret: the admin API never returns it.'),
    redirectUri: absoluteUrl.describe('The callback URL registered at the provider; its path must reach a route carrying this policy.'),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).min(1).default(['openid', 'profile', 'email']).describe('Scopes requested; `openid` is always added.'),
    sessionSecret: z.string().min(32).max(1024).describe('Key material of the session cookie (AES-256-GCM, key derived with HKDF-SHA-256). A secret: never returned. Changing it logs everyone out.'),
    cookieName: z.string().regex(/^[A-Za-z0-9_-]+$/).max(64).default('tg_session').describe('Name of the session cookie (HttpOnly, Secure on TLS, SameSite=Lax).'),
    sessionTtlSec: z.number().int().min(60).max(30 * 86400).default(8 * 3600).describe('Absolute session lifetime, in seconds, whatever the refreshes.'),
    logoutPath: z.string().regex(/^\//).optional().describe('A path on this route that ends the session and sends the browser to the provider\'s end_session_endpoint.'),
    postLogoutRedirectUri: absoluteUrl.optional().describe('Where the provider sends the browser after logout (registered at the provider).'),
    subjectHeader: fieldName.default('x-user-sub').describe('Header carrying the `sub` of the logged-in user to the upstream.'),
    forwardClaims: z.array(z.strictObject({ claim: z.string().min(1), header: fieldName })).max(32).default([]).describe('ID token claims sent upstream as headers (strings as is, others JSON).'),
    userinfo: z.boolean().default(true).describe('At login, add the claims of the userinfo endpoint to those of the ID token (OIDC Core §5.3).'),
    forwardAccessToken: z.boolean().default(false).describe('Send the access token upstream as `Authorization: Bearer …`.'),
    allowInsecureHttp: z.boolean().default(false).describe('Allow an `http:` issuer (development and tests only: tokens would travel in clear).'),
    providerTimeoutMs: z.number().int().min(100).max(30_000).default(5000).describe('Timeout of each call to the provider, in milliseconds.'),
    consumerHeaders: consumerHeadersSchema,
  })
  .refine((c) => c.allowInsecureHttp || c.issuer.startsWith('https://'), { message: 'the issuer must be https (or set allowInsecureHttp for development)', path: ['issuer'] })
  .describe(
    'Browser login with OpenID Connect (authorization code + PKCE, RFC 7636) in front of an upstream: redirects to the provider, keeps an encrypted HttpOnly session cookie, refreshes tokens, passes identity and claims upstream, supports logout.',
  );

/** Parsed oidc-login config. */
export type OidcLoginConfig = z.output<typeof oidcLoginSchema>;
