import type { z } from 'zod';
import { acl } from './acl/index.js';
import { authorization } from './authorization/index.js';
import { cors } from './cors/index.js';
import { ipRestriction } from './ip-restriction/index.js';
import { jwtAuth } from './jwt-auth/index.js';
import { keyAuth } from './key-auth/index.js';
import { rateLimit } from './rate-limit/index.js';
import { requestTransformer } from './request-transformer/index.js';
import { responseCache } from './response-cache/index.js';
import { responseTransformer } from './response-transformer/index.js';
import { subscription } from './subscription/index.js';
import { requestValidation } from './request-validation/index.js';
import { lifecycle, lifecyclePreview } from './lifecycle/index.js';
import type { PolicyDefinition } from './types.js';

/** Every policy kind by name. Adding a policy = one folder + one line here. */
export const POLICY_REGISTRY: ReadonlyMap<string, PolicyDefinition> = new Map<string, PolicyDefinition>(
  [ipRestriction, keyAuth, jwtAuth, acl, authorization, rateLimit, subscription, cors, lifecycle, lifecyclePreview, requestTransformer, responseTransformer, responseCache, requestValidation].map((d) => d as unknown as PolicyDefinition).map((d) => [d.name, d]),
);

/** A problem in a policy's configuration, with a path relative to the `config` object. */
export interface PolicyConfigIssue {
  code: string;
  message: string;
  path: PropertyKey[];
}

/** Result of validating a policy config: the parsed config (defaults filled) or issues. */
export type PolicyValidation = { ok: true; config: unknown } | { ok: false; issues: PolicyConfigIssue[] };

/** Validates `config` against the named policy's schema (code `unknown_policy` if there is no such policy). */
export function validatePolicyConfig(name: string, config: unknown): PolicyValidation {
  const def = POLICY_REGISTRY.get(name);
  if (!def) return { ok: false, issues: [{ code: 'unknown_policy', message: `unknown policy "${name}"; known: ${[...POLICY_REGISTRY.keys()].join(', ')}`, path: [] }] };
  const r = (def.schema as z.ZodType).safeParse(config);
  if (r.success) return { ok: true, config: r.data };
  return {
    ok: false,
    issues: r.error.issues.map((i) => ({
      code: i.code === 'unrecognized_keys' ? 'unknown_field' : i.code,
      message: i.code === 'unrecognized_keys' ? `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}` : i.message,
      path: i.code === 'unrecognized_keys' ? [...i.path, i.keys[0] ?? ''] : [...i.path],
    })),
  };
}
