import { describe, expect, it } from 'vitest';
import type { Role } from './api.js';
import { can, type Permission } from './permissions.js';

const ROLES: Role[] = ['admin', 'operator', 'viewer', 'billing'];
const PERMISSIONS: Permission[] = ['config:read', 'config:write', 'consumers:read', 'keys:read', 'keys:write', 'tokens:manage', 'audit:read', 'billing:read'];

describe("the console's copy of the role table", () => {
  it('matches the server\'s (apps/admin/src/permissions.ts), so the console never hides what a role may do', async () => {
    // Loaded by path, not imported: the console's type-check and bundle stay free of server code.
    const server = (await import(/* @vite-ignore */ new URL('../../admin/src/permissions.ts', import.meta.url).pathname)) as { ROLE_PERMISSIONS: Record<Role, ReadonlySet<string>> };
    for (const role of ROLES) {
      expect([...server.ROLE_PERMISSIONS[role]].sort(), role).toEqual(PERMISSIONS.filter((p) => can(role, p)).sort());
    }
  });
});
