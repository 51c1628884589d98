import { announceConsumer, authReply, quoted, stripIdentityHeaders } from '../identity/consumer-headers.js';
import { IdentityIndex } from '../identity/index.js';
import type { PolicyContext, PolicyDefinition, PolicyReply } from '../types.js';
import { BASIC_AUTH_ERRORS, basicAuthDefinition } from './definition.js';
import { basicAuthSchema } from './schema.js';
import { verifiedCredentials } from './verified-cache.js';

/** Longest `Authorization: Basic` value accepted (user name ≤ 128 and password ≤ 256 characters, base64). */
const MAX_CREDENTIALS_LENGTH = 1024;
/** RFC 4648 §4 base64 with padding: what RFC 7617 §2 `token68` carries for Basic. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The `user-pass` of an `Authorization: Basic` header, or why there is none. */
type Found = { readonly kind: 'none' } | { readonly kind: 'invalid' } | { readonly kind: 'credentials'; readonly username: string; readonly password: string };

const NONE: Found = { kind: 'none' };
const INVALID: Found = { kind: 'invalid' };

/** Reads the Basic credentials of one Authorization value (scheme compared case-insensitively, RFC 9110 §11.1). */
export function parseBasic(value: string): Found {
  const space = value.indexOf(' ');
  if (space < 0 || value.slice(0, space).toLowerCase() !== 'basic') return NONE;
  const token = value.slice(space + 1).trim();
  if (token.length === 0 || token.length > MAX_CREDENTIALS_LENGTH || !BASE64.test(token)) return INVALID;
  // RFC 7617 §2.1: with charset="UTF-8" announced, user-pass is UTF-8.
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || decoded.includes('\uFFFD')) return INVALID;
  return { kind: 'credentials', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `basic-auth`: RFC 7617 user names and passwords, verified against the consumers' scrypt hashes. */
export const basicAuth: PolicyDefinition<typeof basicAuthSchema> = {
  ...basicAuthDefinition,
  build(config, deps) {
    const identity = deps.identity ?? { current: IdentityIndex.EMPTY };
    const challenge = `Basic realm=${quoted(config.realm)}, charset="UTF-8"`;
    // RFC 7235 §3.1: a 401 carries the challenge; the client may retry with other credentials.
    const invalid: PolicyReply = authReply(BASIC_AUTH_ERRORS.INVALID_CREDENTIAL, 'the user name or password is not valid', challenge);
    const names = config.consumerHeaders;
    return {
      access(ctx: PolicyContext) {
        stripIdentityHeaders(ctx, names);
        const header = ctx.headers.authorization;
        const found = typeof header === 'string' ? parseBasic(header) : NONE;
        // The password never reaches the upstream (unless asked), whatever happens next.
        if (found !== NONE && !config.forwardCredential) ctx.removeUpstreamHeader('authorization');
        if (ctx.authenticated) return undefined;
        if (found.kind === 'none') {
          ctx.challenge(challenge);
          return undefined;
        }
        if (found.kind === 'invalid') return invalid;
        const entry = identity.current.byUsername(found.username);
        const accept = (ok: boolean): PolicyReply | undefined => {
          // The index may have changed while scrypt ran: judge against the entry verified.
          if (!ok || entry === undefined) return invalid;
          announceConsumer(ctx, entry.consumer, names, null, `basic:${entry.username}`);
          return undefined;
        };
        const verdict = verifiedCredentials.verify(found.username, found.password, entry?.passwordHash);
        return typeof verdict === 'boolean' ? accept(verdict) : verdict.then(accept);
      },
    };
  },
};
