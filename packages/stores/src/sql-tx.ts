import { eq, sql } from 'drizzle-orm';
import { auditLog, configState, type Database } from '@tollgate/db';
import type { AuditInput } from './config-store.js';
import { redact } from './redact.js';

/**
 * The channel every committed change is announced on. The payload is the new config version (a
 * plain integer) for a config change, or a JSON change-feed entry `{"seq":N,"changes":[...]}`
 * for a change of API keys, Consumers or Subscriptions (see {@link bumpChangeSeq}).
 */
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

/** One entry of the change feed: what changed (never the secret or its digest). */
export type ChangeRef = { kind: 'ApiKey'; id: string; op: 'create' | 'revoke' } | { kind: 'Consumer' | 'Subscription'; name: string; op: 'create' | 'update' | 'delete' };

/**
 * Largest NOTIFY payload sent with the change list. Postgres refuses payloads of 8000 bytes or
 * more (`pg_notify`, "payload string too long"); past this the payload names only the new
 * position and listeners read what changed from the table (they do so on any gap anyway).
 */
const MAX_CHANGE_PAYLOAD = 7_000;

/** The feed's notification text: `{"seq":N,"changes":[...]}`, or `{"seq":N}` when the list is too long. */
export function changePayload(seq: number, changes: readonly ChangeRef[]): string {
  const full = JSON.stringify({ seq, changes });
  return full.length <= MAX_CHANGE_PAYLOAD ? full : JSON.stringify({ seq });
}

/**
 * Advances the change-feed position (the caller holds the `config_state` lock: readVersion with
 * `forUpdate`). The config version is NOT bumped: a feed change recompiles nothing. Returns
 * the new position, which the caller stamps on the rows it changes (`change_seq`), then announces
 * with {@link notifyChanges} in the same transaction.
 */
export async function nextChangeSeq(tx: Tx): Promise<number> {
  const rows = await tx
    .update(configState)
    .set({ changeSeq: sql`${configState.changeSeq} + 1` })
    .where(eq(configState.id, 1))
    .returning({ seq: configState.changeSeq });
  const seq = Number(rows[0]?.seq);
  if (!Number.isSafeInteger(seq)) throw new Error('config_state row missing: run the migrations');
  return seq;
}

/** NOTIFYs the change-feed entry: delivered at commit only, like a config version (see bumpVersion). */
export async function notifyChanges(tx: Tx, seq: number, changes: readonly ChangeRef[]): Promise<void> {
  await tx.execute(sql`SELECT pg_notify(${CONFIG_CHANNEL}, ${changePayload(seq, changes)})`);
}

/** {@link nextChangeSeq} then {@link notifyChanges}, when the changes are known up front. */
export async function bumpChangeSeq(tx: Tx, changes: readonly ChangeRef[]): Promise<number> {
  const seq = await nextChangeSeq(tx);
  await notifyChanges(tx, seq, changes);
  return seq;
}

/** The change-feed position (read without locking). */
export async function readChangeSeq(db: Database | Tx): Promise<number> {
  const rows = await db.select({ seq: configState.changeSeq }).from(configState).where(eq(configState.id, 1));
  const row = rows[0];
  if (!row) throw new Error('config_state row missing: run the migrations');
  return Number(row.seq);
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
