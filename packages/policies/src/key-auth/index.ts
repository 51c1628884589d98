import { announceConsumer, authReply, quoted, stripIdentityHeaders } from '../identity/consumer-headers.js';
import { IdentityIndex } from '../identity/index.js';
import { takeQueryParams } from '../identity/query.js';
import type { PolicyContext, PolicyDefinition } from '../types.js';
import { keyDigests } from './key-digests.js';
import { keyAuthSchema } from './schema.js';
import { keyAuthDefinition, KEY_AUTH_ERRORS } from './definition.js';

/** Longest key accepted for hashing; longer values are refused without hashing (keys are ~46 chars). */
const MAX_KEY_LENGTH = 512;

/** `key-auth`: API keys from headers or query parameters, looked up by SHA-256 in the identity index. */
export const keyAuth: PolicyDefinition<typeof keyAuthSchema> = {
  ...keyAuthDefinition,
  build(config, deps) {
    const identity = deps.identity ?? { current: IdentityIndex.EMPTY };
    const queryNames = new Set(config.queryParams);
    const challenge = `ApiKey realm=${quoted(config.realm)}`;
    const invalid = authReply(KEY_AUTH_ERRORS.INVALID_CREDENTIAL, 'the API key is not valid (unknown, revoked or expired)', `${challenge}, error="invalid_key"`);
    const names = config.consumerHeaders;
    return {
      access(ctx: PolicyContext) {
        stripIdentityHeaders(ctx, names);
        // The credential leaves the request whatever happens next, so it never reaches the
        // upstream and a logged query never holds it.
        let key: string | undefined;
        let conflicting = false;
        for (const h of config.headers) {
          const v = ctx.headers[h];
          if (v === undefined) continue;
          ctx.removeUpstreamHeader(h);
          const s = Array.isArray(v) ? v.join(',') : v;
          if (key === undefined) key = s;
          else if (key !== s) conflicting = true;
        }
        if (queryNames.size > 0) {
          const taken = takeQueryParams(ctx.query, queryNames);
          if (taken.values.length > 0) {
            ctx.query = taken.rest;
            for (const v of taken.values) {
              if (key === undefined) key = v;
              else if (key !== v) conflicting = true;
            }
          }
        }
        // First auth policy that finds a credential decides; another already accepted one.
        if (ctx.authenticated) return undefined;
        if (key === undefined) {
          ctx.challenge(challenge);
          return undefined;
        }
        if (conflicting || key.length === 0 || key.length > MAX_KEY_LENGTH) return invalid;
        // Digests of recent keys are cached; the index is read on every request (revocation is immediate).
        const digest = keyDigests.digest(key);
        const entry = identity.current.byKeyHash(digest.hash);
        if (entry === undefined) {
          deps.unknownKey?.(digest.hash);
          return invalid;
        }
        if (Date.now() >= entry.expiresAtMs) return invalid;
        // A prefix of the digest names the key without revealing it (the key has ≥128 random bits).
        announceConsumer(ctx, entry.consumer, names, null, digest.credential);
        return undefined;
      },
    };
  },
};
