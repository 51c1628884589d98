import { and, count, eq, isNull } from 'drizzle-orm';
import { adminTokens, type AdminTokenRow, type Database } from '@tollgate/db';
import type { AdminRole, AdminToken, AdminTokenStore } from './config-store.js';

const ADMIN_ROLES: ReadonlySet<string> = new Set<AdminRole>(['admin', 'operator', 'viewer', 'billing']);
const SHA256_HEX = /^[0-9a-f]{64}$/;

function toToken(row: AdminTokenRow): AdminToken {
  return {
    id: row.id,
    name: row.name,
    role: row.role as AdminRole,
    hash: row.hash,
    createdAt: row.createdAt,
    ...(row.revokedAt ? { revokedAt: row.revokedAt } : {}),
  };
}

/** Admin tokens in the `admin_tokens` table, over either driver. */
export class SqlAdminTokenStore implements AdminTokenStore {
  constructor(private readonly db: Database) {}

  async insert(token: Omit<AdminToken, 'createdAt' | 'revokedAt'>): Promise<AdminToken> {
    // Refusing anything but a SHA-256 hex digest keeps a caller from storing a plaintext token.
    if (!SHA256_HEX.test(token.hash)) throw new TypeError('admin token hash must be a lower-case SHA-256 hex digest');
    if (!ADMIN_ROLES.has(token.role)) throw new TypeError(`unknown admin role: ${token.role}`);
    const rows = await this.db.insert(adminTokens).values({ id: token.id, name: token.name, role: token.role, hash: token.hash }).returning();
    const row = rows[0];
    if (!row) throw new Error('insert returned no row');
    return toToken(row);
  }

  async findByHash(hash: string): Promise<AdminToken | undefined> {
    const rows = await this.db
      .select()
      .from(adminTokens)
      .where(and(eq(adminTokens.hash, hash), isNull(adminTokens.revokedAt)));
    return rows[0] ? toToken(rows[0]) : undefined;
  }

  async countActive(): Promise<number> {
    const rows = await this.db.select({ n: count() }).from(adminTokens).where(isNull(adminTokens.revokedAt));
    return rows[0]?.n ?? 0;
  }
}
