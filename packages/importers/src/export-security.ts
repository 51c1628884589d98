import { isDeepStrictEqual } from 'node:util';
import type { ApiResource, PolicyRef } from '@tollgate/model';
import type { AuthorizationRuleLists } from './authorization-rule.js';
import { DEFAULT_GATEWAY_LABELS } from './import.js';

type Json = Record<string, unknown>;

/** The policies a gateway-wide RequestAuthentication / AuthorizationPolicy can stand for. */
export const SECURITY_POLICY_NAMES: ReadonlySet<string> = new Set(['jwt-auth', 'authorization']);

/** Istio's selector of the exported gateway (the same as the exported Gateway's, and what the importer serves by default). */
const SELECTOR = { matchLabels: { ...DEFAULT_GATEWAY_LABELS } };

function policy(api: ApiResource, name: string): PolicyRef | undefined {
  return api.spec.policies.find((p) => p.name === name && p.enabled);
}

/**
 * Istio applies RequestAuthentication and AuthorizationPolicy to a whole workload, Tollgate's
 * policies to one Api. A policy maps back only when every exported Api carries the same one
 * (as the importer produces): then it is exported once, for the gateway. Returns the documents
 * and the names of the policies they stand for; the rest stays a warning of the caller.
 */
export function exportSecurity(apis: readonly ApiResource[], warnings: string[]): { documents: Json[]; exported: Set<string> } {
  const documents: Json[] = [];
  const exported = new Set<string>();
  if (apis.length === 0) return { documents, exported };
  for (const name of SECURITY_POLICY_NAMES) {
    const configs = apis.map((a) => policy(a, name)?.config);
    if (configs.every((c) => c === undefined)) continue;
    if (!configs.every((c) => c !== undefined && isDeepStrictEqual(c, configs[0]))) {
      warnings.push(`${name}: Istio applies security policies to the whole gateway; only a ${name} policy that every API carries alike is exported`);
      continue;
    }
    const config = configs[0] as Json;
    const docs = name === 'jwt-auth' ? requestAuthentication(config, warnings) : authorizationPolicies(config);
    if (docs.length === 0) continue;
    documents.push(...docs);
    exported.add(name);
  }
  return { documents, exported };
}

function requestAuthentication(c: Json, warnings: string[]): Json[] {
  // RequestAuthentication lets a request without a token through: only an optional jwt-auth is one.
  if (c.optional !== true) {
    warnings.push('jwt-auth: only an optional jwt-auth maps to a RequestAuthentication (a required token needs an AuthorizationPolicy too); not exported');
    return [];
  }
  for (const k of ['requiredScopes', 'claimValues', 'requiredClaims'] as const) {
    if (Array.isArray(c[k]) && (c[k] as unknown[]).length > 0) warnings.push(`jwt-auth: ${k} has no RequestAuthentication mapping`);
  }
  const token = (c.token ?? {}) as Json;
  const headers = Array.isArray(token.headers)
    ? (token.headers as Array<{ name: string; prefix?: string }>).map((h) => ({ name: h.name, ...(h.prefix ? { prefix: h.prefix } : {}) }))
    : [{ name: (token.header as string | undefined) ?? 'authorization', ...((token.scheme ?? 'Bearer') !== '' ? { prefix: `${(token.scheme as string | undefined) ?? 'Bearer'} ` } : {}) }];
  const params = [...(typeof token.query === 'string' ? [token.query] : []), ...((token.queryParams as string[] | undefined) ?? [])];
  const cookies = typeof token.cookie === 'string' ? [token.cookie] : [];
  const policyClaims = (c.forwardClaims as Array<{ claim: string; header: string }> | undefined) ?? [];
  const jwtRules = ((c.issuers as Json[] | undefined) ?? []).flatMap((i) => {
    if (i.jwksUri === undefined && i.jwks === undefined) {
      warnings.push(`jwt-auth: issuer ${String(i.issuer)} has only PEM keys or HMAC secrets, which a jwtRule cannot carry; not exported`);
      return [];
    }
    if (i.typ !== undefined) warnings.push(`jwt-auth: issuer ${String(i.issuer)}: typ has no jwtRule mapping`);
    const claims = [...policyClaims, ...((i.forwardClaims as typeof policyClaims | undefined) ?? [])];
    return [
      {
        issuer: i.issuer,
        ...(i.anyAudience === true ? {} : { audiences: i.audiences }),
        ...(i.jwksUri !== undefined ? { jwksUri: i.jwksUri } : {}),
        ...(i.jwks !== undefined ? { jwks: JSON.stringify(i.jwks) } : {}),
        fromHeaders: headers,
        ...(params.length > 0 ? { fromParams: params } : {}),
        ...(cookies.length > 0 ? { fromCookies: cookies } : {}),
        forwardOriginalToken: (i.forwardToken ?? c.forwardToken ?? false) as boolean,
        ...(typeof i.payloadHeader === 'string' ? { outputPayloadToHeader: i.payloadHeader } : {}),
        ...(claims.length > 0 ? { outputClaimToHeaders: claims.map((x) => ({ header: x.header, claim: x.claim })) } : {}),
        ...(typeof i.jwksTimeoutMs === 'number' ? { timeout: `${i.jwksTimeoutMs}ms` } : {}),
      },
    ];
  });
  if (jwtRules.length === 0) return [];
  return [{ apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication', metadata: { name: 'tollgate-jwt' }, spec: { selector: SELECTOR, jwtRules } }];
}

interface RuleJson extends AuthorizationRuleLists {
  claims?: Array<{ claim: string | string[]; values?: string[]; notValues?: string[] }>;
  headers?: Array<{ name: string; values?: string[]; notValues?: string[] }>;
}

function istioRule(r: RuleJson): Json {
  const pick = (pairs: Array<[string, string[] | undefined]>) => Object.fromEntries(pairs.filter(([, v]) => v !== undefined));
  const source = pick([['requestPrincipals', r.principals], ['notRequestPrincipals', r.notPrincipals], ['remoteIpBlocks', r.clientIps], ['notRemoteIpBlocks', r.notClientIps]]);
  const operation = pick([['hosts', r.hosts], ['notHosts', r.notHosts], ['paths', r.paths], ['notPaths', r.notPaths], ['methods', r.methods], ['notMethods', r.notMethods]]);
  const cond = (key: string, c: { values?: string[]; notValues?: string[] }) => ({ key, ...(c.values ? { values: c.values } : {}), ...(c.notValues ? { notValues: c.notValues } : {}) });
  const when = [
    ...(r.claims ?? []).map((c) => cond(`request.auth.claims${(typeof c.claim === 'string' ? [c.claim] : c.claim).map((k) => `[${k}]`).join('')}`, c)),
    ...(r.headers ?? []).map((h) => cond(`request.headers[${h.name}]`, h)),
  ];
  return {
    ...(Object.keys(source).length > 0 ? { from: [{ source }] } : {}),
    ...(Object.keys(operation).length > 0 ? { to: [{ operation }] } : {}),
    ...(when.length > 0 ? { when } : {}),
  };
}

function authorizationPolicies(c: Json): Json[] {
  const out: Json[] = [];
  const deny = (c.deny as RuleJson[] | undefined) ?? [];
  if (deny.length > 0) out.push({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'tollgate-deny' }, spec: { selector: SELECTOR, action: 'DENY', rules: deny.map(istioRule) } });
  const allow = c.allow as RuleJson[] | undefined;
  // An empty allow list is Istio's allow-nothing policy: an ALLOW policy without rules.
  if (allow !== undefined) out.push({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'tollgate-allow' }, spec: { selector: SELECTOR, action: 'ALLOW', ...(allow.length > 0 ? { rules: allow.map(istioRule) } : {}) } });
  return out;
}
