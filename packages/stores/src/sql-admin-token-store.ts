import { and, asc, count, eq, isNull, sql } from 'drizzle-orm';
import { adminTokens, type AdminTokenRow, type Database } from '@tollgate/db';
import { RecordNotFoundError, type AdminRole, type AdminToken, type AdminTokenStore, type AuditContext } from './config-store.js';
import { writeAudit } from './sql-tx.js';

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

/** What the audit log keeps of a token: never its digest. */
function auditView(token: AdminToken): Record<string, unknown> {
  const { hash: _hash, ...rest } = token;
  return rest;
}

/** Admin tokens in the `admin_tokens` table, over either driver. */
export class SqlAdminTokenStore implements AdminTokenStore {
  constructor(private readonly db: Database) {}

  async insert(token: Omit<AdminToken, 'createdAt' | 'revokedAt'>, audit?: AuditContext): Promise<AdminToken> {
    // Refusing anything but a SHA-256 hex digest keeps a caller from storing a plaintext token.
    if (!SHA256_HEX.test(token.hash)) throw new TypeError('admin token hash must be a lower-case SHA-256 hex digest');
    if (!ADMIN_ROLES.has(token.role)) throw new TypeError(`unknown admin role: ${token.role}`);
    return this.db.transaction(async (tx) => {
      const rows = await tx.insert(adminTokens).values({ id: token.id, name: token.name, role: token.role, hash: token.hash }).returning();
      const row = rows[0];
      if (!row) throw new Error('insert returned no row');
      const stored = toToken(row);
      if (audit) await writeAudit(tx, { ...audit, outcome: 'success', after: auditView(stored) });
      return stored;
    });
  }

  async list(): Promise<AdminToken[]> {
    const rows = await this.db.select().from(adminTokens).orderBy(asc(adminTokens.createdAt), asc(adminTokens.id));
    return rows.map(toToken);
  }

  async revoke(id: string, audit?: AuditContext): Promise<AdminToken> {
    return this.db.transaction(async (tx) => {
      const rows = await tx
        .update(adminTokens)
        .set({ revokedAt: sql`now()` })
        .where(and(eq(adminTokens.id, id), isNull(adminTokens.revokedAt)))
        .returning();
      const row = rows[0];
      if (!row) throw new RecordNotFoundError(`no active admin token ${id}`);
      const stored = toToken(row);
      if (audit) {
        const { revokedAt: _revoked, ...before } = auditView(stored);
        await writeAudit(tx, { ...audit, outcome: 'success', before, after: auditView(stored) });
      }
      return stored;
    });
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
