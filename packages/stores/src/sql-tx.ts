import { eq, sql } from 'drizzle-orm';
import { auditLog, configState, type Database } from '@tollgate/db';
import type { AuditInput } from './config-store.js';
import { redact } from './redact.js';

/** The channel every committed config change is announced on; the payload is the new version. */
export const CONFIG_CHANNEL = 'tollgate_config';

/** A drizzle transaction over either driver. */
export type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/** Reads the config version; `forUpdate` locks the single row, serializing every writer. */
export async function readVersion(db: Database | Tx, forUpdate = false): Promise<number> {
  const query = db.select({ version: configState.version }).from(configState).where(eq(configState.id, 1));
  const rows = forUpdate ? await query.for('update') : await query;
  const row = rows[0];
  if (!row) throw new Error('config_state row missing: run the migrations');
  return Number(row.version);
}

/**
 * Sets the version to `next` and NOTIFYs it inside the caller's transaction: Postgres delivers
 * the notification only at commit, so listeners never hear of a change that rolled back.
 */
export async function bumpVersion(tx: Tx, next: number): Promise<void> {
  await tx.update(configState).set({ version: next, updatedAt: sql`now()` }).where(eq(configState.id, 1));
  await tx.execute(sql`SELECT pg_notify(${CONFIG_CHANNEL}, ${String(next)})`);
}

/** Writes one audit entry (before/after redacted) with `db`, which may be the change's own transaction. */
export async function writeAudit(db: Database | Tx, entry: AuditInput): Promise<void> {
  await db.insert(auditLog).values({
    actorId: entry.actor?.id ?? null,
    actorName: entry.actor?.name ?? null,
    actorRole: entry.actor?.role ?? null,
    action: entry.action,
    resourceKind: entry.resourceKind ?? null,
    resourceName: entry.resourceName ?? null,
    requestId: entry.requestId ?? null,
    clientAddress: entry.clientAddress ?? null,
    outcome: entry.outcome,
    status: entry.status ?? null,
    detail: entry.detail ?? null,
    before: entry.before === undefined ? null : redact(entry.before),
    after: entry.after === undefined ? null : redact(entry.after),
  });
}

/**
 * Rows (or values) per statement when writing many at once. Postgres caps a statement at 65,535
 * bind parameters (the Bind message counts them in an Int16); a resource row binds 6, an API-key
 * row 7, so 1,000 rows keep every statement near 7,000 parameters, well below the cap, and keep
 * each statement's text small. The batches of one change all run in its one transaction.
 */
export const WRITE_BATCH = 1_000;

/** `items` cut into consecutive slices of at most `size`. */
export function batches<T>(items: readonly T[], size = WRITE_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
