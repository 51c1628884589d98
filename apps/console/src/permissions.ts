import type { Role } from './api.js';

/** The admin permissions (apps/admin/src/permissions.ts), as far as the console needs them to hide what a role cannot use. */
export type Permission = 'config:read' | 'config:write' | 'consumers:read' | 'keys:read' | 'keys:write' | 'tokens:manage' | 'audit:read' | 'billing:read';

// A copy of the server's ROLE_PERMISSIONS: it only decides what is shown; the server still refuses.
const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set<Permission>(['config:read', 'config:write', 'consumers:read', 'keys:read', 'keys:write', 'tokens:manage', 'audit:read', 'billing:read']),
  operator: new Set<Permission>(['config:read', 'config:write', 'consumers:read', 'keys:read', 'keys:write']),
  viewer: new Set<Permission>(['config:read', 'consumers:read', 'keys:read']),
  billing: new Set<Permission>(['consumers:read', 'billing:read']),
};

/** Whether a role holds a permission. */
export const can = (role: Role, permission: Permission): boolean => ROLE_PERMISSIONS[role].has(permission);
