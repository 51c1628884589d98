import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm';
import { auditLog, writeEvents, type AuditLogRow, type Database } from '@tollgate/db';
import { outboxEvent } from '@tollgate/model';
import type { AdminRole, AuditEntry, AuditInput, AuditOutcome, AuditPage, AuditQuery, AuditStore } from './config-store.js';
import { writeAudit } from './sql-tx.js';

/** Largest page `query` serves. */
export const MAX_AUDIT_LIMIT = 500;

function toEntry(row: AuditLogRow): AuditEntry {
  const opt = <K extends string, V>(k: K, v: V | null) => (v === null ? {} : ({ [k]: v } as Record<K, V>));
  return {
    id: Number(row.id),
    at: row.at,
    action: row.action,
    outcome: row.outcome as AuditOutcome,
    ...(row.actorId !== null ? { actor: { id: row.actorId, name: row.actorName ?? '', role: (row.actorRole ?? 'viewer') as AdminRole } } : {}),
    ...opt('resourceKind', row.resourceKind),
    ...opt('resourceName', row.resourceName),
    ...opt('requestId', row.requestId),
    ...opt('clientAddress', row.clientAddress),
    ...opt('status', row.status),
    ...opt('detail', row.detail),
    ...opt('before', row.before),
    ...opt('after', row.after),
  };
}

/** The `audit_log` table, over either driver. */
export class SqlAuditStore implements AuditStore {
  constructor(private readonly db: Database) {}

  async record(entry: AuditInput): Promise<void> {
    if (!isRejectedChange(entry)) {
      await writeAudit(this.db, entry);
      return;
    }
    // A refused change commits nothing but its audit entry: `config.rejected` commits with it.
    await this.db.transaction(async (tx) => {
      await writeAudit(tx, entry);
      const actor = entry.actor ? { actor: { id: entry.actor.id, name: entry.actor.name, role: entry.actor.role } } : {};
      await writeEvents(tx, [outboxEvent('config.rejected', { action: entry.action, status: entry.status ?? 422, detail: (entry.detail ?? '').slice(0, 2000), ...actor })]);
    });
  }

  async query(query: AuditQuery): Promise<AuditPage> {
    const { limit } = query;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) throw new RangeError(`limit must be an integer in 1..${MAX_AUDIT_LIMIT}`);
    const where: SQL[] = [];
    if (query.actor !== undefined) where.push(eq(auditLog.actorId, query.actor));
    if (query.action !== undefined) where.push(eq(auditLog.action, query.action));
    if (query.resourceKind !== undefined) where.push(eq(auditLog.resourceKind, query.resourceKind));
    if (query.resourceName !== undefined) where.push(eq(auditLog.resourceName, query.resourceName));
    if (query.from !== undefined) where.push(gte(auditLog.at, query.from));
    if (query.to !== undefined) where.push(lte(auditLog.at, query.to));
    if (query.before !== undefined) where.push(lt(auditLog.id, query.before));
    // Newest first; one extra row says whether an older page exists without a count query.
    const rows = await this.db
      .select()
      .from(auditLog)
      .where(where.length > 0 ? and(...where) : undefined)
      .orderBy(desc(auditLog.id))
      .limit(limit + 1);
    const items = rows.slice(0, limit).map(toEntry);
    const last = items.at(-1);
    return rows.length > limit && last ? { items, next: last.id } : { items };
  }
}

/** A configuration write (apply, per-kind write, delete, lifecycle) refused as invalid or conflicting (not 401/403/429/5xx). */
function isRejectedChange(entry: AuditInput): boolean {
  if (entry.outcome !== 'rejected') return false;
  return entry.action === 'config.apply' || entry.action === 'api.import' || entry.action === 'api.lifecycle' || /\.(create|replace|delete)$/.test(entry.action) && !entry.action.startsWith('api-key') && !entry.action.startsWith('admin-token');
}
