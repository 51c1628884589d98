import { KIND_PLURALS, RESOURCE_KINDS } from '@tollgate/model';
import type { AdminRole } from '@tollgate/stores';

/** What a route needs. Roles are sets of these; routes name exactly one. */
export type Permission =
  | 'config:read'
  | 'config:write'
  | 'consumers:read'
  | 'keys:read'
  | 'keys:write'
  | 'tokens:manage'
  | 'audit:read'
  | 'billing:read';

/**
 * What each role may do. `operator` runs configuration (APIs, upstreams, consumers, keys) but
 * neither manages admin tokens nor reads the audit log or billing; `viewer` reads configuration
 * only; `billing` reads consumers (to relate usage to customers) and billing data.
 */
export const ROLE_PERMISSIONS: Readonly<Record<AdminRole, ReadonlySet<Permission>>> = {
  admin: new Set<Permission>(['config:read', 'config:write', 'consumers:read', 'keys:read', 'keys:write', 'tokens:manage', 'audit:read', 'billing:read']),
  operator: new Set<Permission>(['config:read', 'config:write', 'consumers:read', 'keys:read', 'keys:write']),
  viewer: new Set<Permission>(['config:read', 'consumers:read', 'keys:read']),
  billing: new Set<Permission>(['consumers:read', 'billing:read']),
};

/** The roles holding a permission, for the 403 message. */
export function rolesWith(permission: Permission): AdminRole[] {
  return (Object.keys(ROLE_PERMISSIONS) as AdminRole[]).filter((role) => ROLE_PERMISSIONS[role].has(permission));
}

/** The resource an audited route acts on, from its path parameters. */
export type AuditResource = (params: Record<string, string | undefined>) => { kind: string; name?: string };

/** What a route requires, and how its mutations are named in the audit log. */
export interface RouteRule {
  permission: Permission | 'public';
  /** Audit action of a mutating route (absent on reads: reads are not audited). */
  action?: string;
  resource?: AuditResource;
}

const byName =
  (kind: string): AuditResource =>
  (params) => ({ kind, ...(params.name !== undefined ? { name: params.name } : {}) });

function buildTable(): Map<string, RouteRule> {
  const table = new Map<string, RouteRule>([
    ['GET /healthz', { permission: 'public' }],
    ['GET /openapi.json', { permission: 'public' }],
    ['GET /config', { permission: 'config:read' }],
    ['POST /config', { permission: 'config:write', action: 'config.apply' }],
    ['POST /apis/import', { permission: 'config:write', action: 'api.import', resource: () => ({ kind: 'Api' }) }],
    ['GET /consumers/:name/keys', { permission: 'keys:read' }],
    ['GET /consumers/:name/usage', { permission: 'consumers:read' }],
    ['POST /consumers/:name/keys', { permission: 'keys:write', action: 'api-key.create', resource: byName('Consumer') }],
    ['POST /keys/bulk', { permission: 'keys:write', action: 'api-key.create-bulk', resource: () => ({ kind: 'Consumer' }) }],
    ['DELETE /consumers/:name/keys/:id', { permission: 'keys:write', action: 'api-key.revoke', resource: byName('Consumer') }],
    ['GET /consumers/:name/oauth-clients', { permission: 'keys:read' }],
    ['POST /consumers/:name/oauth-clients', { permission: 'keys:write', action: 'oauth-client.create', resource: byName('Consumer') }],
    ['DELETE /consumers/:name/oauth-clients/:id', { permission: 'keys:write', action: 'oauth-client.revoke', resource: byName('Consumer') }],
    ['GET /admin-tokens', { permission: 'tokens:manage' }],
    ['POST /admin-tokens', { permission: 'tokens:manage', action: 'admin-token.create', resource: () => ({ kind: 'AdminToken' }) }],
    ['DELETE /admin-tokens/:id', { permission: 'tokens:manage', action: 'admin-token.revoke', resource: (p) => ({ kind: 'AdminToken', ...(p.id !== undefined ? { name: p.id } : {}) }) }],
    ['GET /audit-log', { permission: 'audit:read' }],
    ['DELETE /cache', { permission: 'config:write', action: 'cache.purge', resource: () => ({ kind: 'Cache' }) }],
    ['DELETE /cache/apis/:api', { permission: 'config:write', action: 'cache.purge', resource: (p) => ({ kind: 'Api', ...(p.api !== undefined ? { name: p.api } : {}) }) }],
    ['DELETE /cache/apis/:api/routes/:route', { permission: 'config:write', action: 'cache.purge', resource: (p) => ({ kind: 'Api', ...(p.api !== undefined ? { name: `${p.api}/${p.route ?? ''}` } : {}) }) }],
    ['DELETE /cache/keys/:key', { permission: 'config:write', action: 'cache.purge', resource: (p) => ({ kind: 'Cache', ...(p.key !== undefined ? { name: p.key } : {}) }) }],
    ['GET /reports/billing', { permission: 'billing:read' }],
    ['GET /usage', { permission: 'consumers:read' }],
    ['GET /analytics/requests', { permission: 'config:read' }],
    ['GET /portal/accounts', { permission: 'consumers:read' }],
    ['POST /portal/accounts/:id/approve', { permission: 'config:write', action: 'portal-account.approve', resource: (p) => ({ kind: 'PortalAccount', ...(p.id !== undefined ? { name: p.id } : {}) }) }],
    ['POST /portal/accounts/:id/reject', { permission: 'config:write', action: 'portal-account.reject', resource: (p) => ({ kind: 'PortalAccount', ...(p.id !== undefined ? { name: p.id } : {}) }) }],
    ['GET /portal/subscription-requests', { permission: 'consumers:read' }],
    ['POST /portal/subscription-requests/:id/approve', { permission: 'config:write', action: 'portal-subscription.approve', resource: (p) => ({ kind: 'PortalSubscriptionRequest', ...(p.id !== undefined ? { name: p.id } : {}) }) }],
    ['POST /portal/subscription-requests/:id/reject', { permission: 'config:write', action: 'portal-subscription.reject', resource: (p) => ({ kind: 'PortalSubscriptionRequest', ...(p.id !== undefined ? { name: p.id } : {}) }) }],
    ['POST /portal/accounts/:id/disable', { permission: 'keys:write', action: 'portal-account.disable', resource: (p) => ({ kind: 'PortalAccount', ...(p.id !== undefined ? { name: p.id } : {}) }) }],
    ['POST /portal/invitations', { permission: 'config:write', action: 'portal-account.invite', resource: () => ({ kind: 'PortalAccount' }) }],
    ['POST /apis/:name/lifecycle', { permission: 'config:write', action: 'api.lifecycle', resource: byName('Api') }],
    ['GET /nodes', { permission: 'config:read' }],
    ['GET /upstream-health', { permission: 'config:read' }],
    ['GET /webhooks/:name/deliveries', { permission: 'config:read' }],
    ['POST /webhooks/:name/deliveries/:id/redeliver', { permission: 'config:write', action: 'webhook.redeliver', resource: byName('Webhook') }],
    ['POST /webhooks/:name/test', { permission: 'config:write', action: 'webhook.test', resource: byName('Webhook') }],
  ]);
  // Every resource kind gets the same five routes (resource-routes.ts); consumers are readable by billing.
  for (const kind of RESOURCE_KINDS) {
    const plural = KIND_PLURALS[kind];
    const read: Permission = kind === 'Consumer' ? 'consumers:read' : 'config:read';
    const action = kind.replace(/[a-z][A-Z]/g, (m) => `${m[0]}-${m[1]}`).toLowerCase();
    table.set(`GET /${plural}`, { permission: read });
    table.set(`GET /${plural}/:name`, { permission: read });
    table.set(`POST /${plural}`, { permission: 'config:write', action: `${action}.create`, resource: () => ({ kind }) });
    table.set(`PUT /${plural}/:name`, { permission: 'config:write', action: `${action}.replace`, resource: byName(kind) });
    table.set(`DELETE /${plural}/:name`, { permission: 'config:write', action: `${action}.delete`, resource: byName(kind) });
  }
  return table;
}

/**
 * The permission table: the one place that says who may call which admin route. `buildAdmin`
 * refuses to start when a registered route has no entry here, and the role tests walk every
 * registered route against it.
 */
export const ROUTE_RULES: ReadonlyMap<string, RouteRule> = buildTable();

/** swagger-ui's pages and assets: public, like the OpenAPI document they render. */
const PUBLIC_PREFIX = '/docs';

/**
 * The console's static assets and its session routes: public, since signing in is what they are
 * for; the session routes authenticate themselves (console/session-routes.ts), and every API call
 * the console makes goes through the permission table like any other client's.
 */
const CONSOLE_PREFIX = '/console';

/** The rule of a route pattern (`HEAD` follows `GET`, RFC 9110 §9.3.2), or undefined when it has none. */
export function ruleOf(method: string, pattern: string): RouteRule | undefined {
  if (pattern === PUBLIC_PREFIX || pattern.startsWith(`${PUBLIC_PREFIX}/`)) return { permission: 'public' };
  if (pattern === CONSOLE_PREFIX || pattern.startsWith(`${CONSOLE_PREFIX}/`)) return { permission: 'public' };
  return ROUTE_RULES.get(`${method === 'HEAD' ? 'GET' : method} ${pattern}`);
}
