/**
 * The light entry point (`@tollgate/policies/definitions`): every policy kind's definition
 * (name, priority, phases, flags, config schema, errors) without its runtime code, for the
 * compiler, the importers, the admin and the docs. `registry.ts` pairs each with its builder.
 * Adding a policy: its folder (with `definition.ts`), one line here and one in `registry.ts`
 * (registry.test.ts fails, naming the policy, when the two lists differ).
 */
import type { z } from 'zod';
import { aclDefinition } from './acl/definition.js';
import { authorizationDefinition } from './authorization/definition.js';
import { basicAuthDefinition } from './basic-auth/definition.js';
import { corsDefinition } from './cors/definition.js';
import { ipRestrictionDefinition } from './ip-restriction/definition.js';
import { jwtAuthDefinition } from './jwt-auth/definition.js';
import { keyAuthDefinition } from './key-auth/definition.js';
import { httpSignatureDefinition } from './http-signature/definition.js';
import { mtlsAuthDefinition } from './mtls-auth/definition.js';
import { oidcLoginDefinition } from './oidc-login/definition.js';
import { introspectionDefinition } from './oauth2-introspection/definition.js';
import { oauth2JwksDefinition, oauth2TokenDefinition } from './oauth2-token/definition.js';
import { lifecycleDefinition, lifecyclePreviewDefinition } from './lifecycle/definition.js';
import { rateLimitDefinition } from './rate-limit/definition.js';
import { requestTransformerDefinition } from './request-transformer/definition.js';
import { requestValidationDefinition } from './request-validation/definition.js';
import { responseCacheDefinition } from './response-cache/definition.js';
import { responseTransformerDefinition } from './response-transformer/definition.js';
import { SHARED_ERRORS } from './shared-errors.js';
import { subscriptionDefinition } from './subscription/definition.js';
import { PHASES, PRIORITY, type ErrorSpec, type Phase, type PolicyMeta } from './types.js';

export { PHASES, PRIORITY, SHARED_ERRORS, type ErrorSpec, type Phase, type PolicyMeta };
export { defineErrors, problemOf, problemReply } from './errors.js';
export { SubscriptionTable, type IndexedSubscription, type SubscriptionDelta, type SubscriptionEntry } from './subscription/table.js';

/** Every policy kind's definition by name. */
export const POLICY_DEFINITIONS: ReadonlyMap<string, PolicyMeta> = new Map<string, PolicyMeta>(
  [
    ipRestrictionDefinition,
    keyAuthDefinition,
    jwtAuthDefinition,
    httpSignatureDefinition,
    mtlsAuthDefinition,
    oidcLoginDefinition,
    basicAuthDefinition,
    introspectionDefinition,
    oauth2TokenDefinition,
    oauth2JwksDefinition,
    aclDefinition,
    authorizationDefinition,
    rateLimitDefinition,
    subscriptionDefinition,
    corsDefinition,
    lifecycleDefinition,
    lifecyclePreviewDefinition,
    requestTransformerDefinition,
    responseTransformerDefinition,
    responseCacheDefinition,
    requestValidationDefinition,
  ].map((d) => [d.name, d as unknown as PolicyMeta]),
);

/**
 * Every error a policy or the policy runner can answer with, by code, with the policies that
 * raise it. A code has one status and title wherever it is raised (checked here, at load).
 */
export function policyErrors(): ReadonlyMap<string, { readonly spec: ErrorSpec; readonly raisedBy: readonly string[] }> {
  const out = new Map<string, { spec: ErrorSpec; raisedBy: string[] }>();
  const add = (spec: ErrorSpec, by: string): void => {
    const seen = out.get(spec.code);
    if (seen === undefined) out.set(spec.code, { spec, raisedBy: [by] });
    else if (seen.spec.status !== spec.status || seen.spec.title !== spec.title) throw new Error(`error ${spec.code} is declared twice with different status or title (${seen.raisedBy.join(', ')} and ${by})`);
    else seen.raisedBy.push(by);
  };
  for (const spec of Object.values(SHARED_ERRORS)) add(spec, 'policy runner');
  for (const d of POLICY_DEFINITIONS.values()) for (const spec of Object.values(d.errors)) add(spec, d.name);
  return out;
}

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
  const def = POLICY_DEFINITIONS.get(name);
  if (!def) return { ok: false, issues: [{ code: 'unknown_policy', message: `unknown policy "${name}"; known: ${[...POLICY_DEFINITIONS.keys()].join(', ')}`, path: [] }] };
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
