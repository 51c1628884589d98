import { authReply } from '../identity/consumer-headers.js';
import type { PolicyDefinition } from '../types.js';
import { compileRule, ruleMatches } from './match.js';
import { authorizationSchema } from './schema.js';
import { authorizationDefinition, AUTHORIZATION_ERRORS } from './definition.js';

/**
 * `authorization`: rules on who (JWT principal, claims, client address) may do what (host, path,
 * method, headers), with Istio's AuthorizationPolicy evaluation: a matching deny rule refuses;
 * then, when an allow list is set, a request no allow rule matches is refused; else it passes
 * (istio.io, "Authorization Policy" reference). Rules are compiled once per snapshot.
 */
export const authorization: PolicyDefinition<typeof authorizationSchema> = {
  ...authorizationDefinition,
  build(config) {
    const deny = config.deny.map(compileRule);
    const allow = config.allow === undefined ? null : config.allow.map(compileRule);
    const denied = authReply(AUTHORIZATION_ERRORS.AUTHZ_DENIED, config.message);
    return {
      access(ctx) {
        for (const r of deny) if (ruleMatches(r, ctx)) return denied;
        if (allow === null) return undefined;
        for (const r of allow) if (ruleMatches(r, ctx)) return undefined;
        return denied;
      },
    };
  },
};
