import { acl } from './acl/index.js';
import { authorization } from './authorization/index.js';
import { basicAuth } from './basic-auth/index.js';
import { cors } from './cors/index.js';
import { ipRestriction } from './ip-restriction/index.js';
import { jwtAuth } from './jwt-auth/index.js';
import { keyAuth } from './key-auth/index.js';
import { httpSignature } from './http-signature/index.js';
import { mtlsAuth } from './mtls-auth/index.js';
import { oidcLogin } from './oidc-login/index.js';
import { oauth2Introspection } from './oauth2-introspection/index.js';
import { oauth2Jwks, oauth2Token } from './oauth2-token/index.js';
import { rateLimit } from './rate-limit/index.js';
import { requestTransformer } from './request-transformer/index.js';
import { responseCache } from './response-cache/index.js';
import { responseTransformer } from './response-transformer/index.js';
import { subscription } from './subscription/index.js';
import { requestValidation } from './request-validation/index.js';
import { lifecycle, lifecyclePreview } from './lifecycle/index.js';
import type { PolicyDefinition } from './types.js';

export { POLICY_DEFINITIONS, policyErrors, validatePolicyConfig, type PolicyConfigIssue, type PolicyValidation } from './definitions.js';

/**
 * Every policy kind by name, with its builder (the runtime side of `definitions.ts`). Adding a
 * policy = one folder + one line here + one line in `definitions.ts`.
 */
export const POLICY_REGISTRY: ReadonlyMap<string, PolicyDefinition> = new Map<string, PolicyDefinition>(
  [ipRestriction, keyAuth, jwtAuth, basicAuth, oauth2Introspection, oauth2Token, oauth2Jwks, httpSignature, mtlsAuth, oidcLogin, acl, authorization, rateLimit, subscription, cors, lifecycle, lifecyclePreview, requestTransformer, responseTransformer, responseCache, requestValidation].map((d) => d as unknown as PolicyDefinition).map((d) => [d.name, d]),
);
