import type { ApiResource, Route } from '@tollgate/model';
import { POLICY_DEFINITIONS } from '@tollgate/policies/definitions';
import type { ConfigIssue } from '@tollgate/model';
import type { PhasePolicies } from './types.js';

/**
 * Resolves a route's `auth.mode` (route level over API level, default `any`) and checks that `all`
 * makes sense for its policies. Returns `'all'` or undefined (the default, left out of the snapshot).
 *
 * Refused in `all` mode, at the route (`auth_mode_conflict`):
 * - no credential policy (key-auth, jwt-auth) on the route: "every credential" would be none, and
 *   a route that asks for AND authentication must not silently become open;
 * - jwt-auth with `optional: true`: it admits requests without a token, which contradicts
 *   "every credential is required" (it would make the AND quietly an OR with nothing).
 */
export function compileAuthMode(api: ApiResource, route: Route | undefined, at: string, policies: PhasePolicies, resource: string, issues: ConfigIssue[]): 'all' | undefined {
  const mode = route?.auth?.mode ?? api.spec.auth?.mode ?? 'any';
  if (mode !== 'all') return undefined;
  const path = route?.auth !== undefined ? `${at}.auth.mode` : 'spec.auth.mode';
  const credentials = (policies.access ?? []).filter((d) => POLICY_DEFINITIONS.get(d.name)?.credentials === true);
  if (credentials.length === 0) {
    issues.push({ code: 'auth_mode_conflict', message: `auth mode "all" needs at least one enabled authentication policy (key-auth, jwt-auth) on ${at === 'spec' ? 'the API' : at}`, resource, path });
  }
  for (const d of credentials) {
    if (d.name === 'jwt-auth' && (d.config as { optional?: boolean }).optional === true) {
      issues.push({ code: 'auth_mode_conflict', message: `jwt-auth with optional: true admits requests without a token, which contradicts auth mode "all" (every credential required)${at === 'spec' ? '' : ` on ${at}`}; drop one of them`, resource, path });
    }
  }
  return 'all';
}
