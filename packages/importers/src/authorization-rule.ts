/**
 * The list fields of one rule of Tollgate's `authorization` policy
 * (packages/policies/src/authorization/schema.ts), as the Istio security importer writes them
 * (istio-security.ts) and the Istio exporter reads them back (export-security.ts). Kept here
 * rather than imported because the importers do not depend on @tollgate/policies.
 */
export interface AuthorizationRuleLists {
  principals?: string[];
  notPrincipals?: string[];
  hosts?: string[];
  notHosts?: string[];
  paths?: string[];
  notPaths?: string[];
  methods?: string[];
  notMethods?: string[];
  clientIps?: string[];
  notClientIps?: string[];
}
