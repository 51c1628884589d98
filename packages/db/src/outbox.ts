import { sql } from 'drizzle-orm';
import type { Database } from './client.js';
import { events, eventStates } from './schema/events.js';

/** A drizzle transaction over either driver. */
type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/** One outbox row to write (the typed builders live in @tollgate/model `outboxEvent`). */
export interface OutboxInsert {
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly dedupeKey?: string;
}

/**
 * Inserts events into the outbox with `db`, which should be the transaction of the change that
 * raised them. An event whose dedupe key is already stored is dropped (`ON CONFLICT DO NOTHING`),
 * which is how a condition seen on several gateway nodes becomes one event. Returns the ids written.
 */
export async function writeEvents(db: Database | Tx, list: readonly OutboxInsert[]): Promise<string[]> {
  if (list.length === 0) return [];
  const rows = await db
    .insert(events)
    .values(list.map((e) => ({ id: e.id, type: e.type, data: e.data, dedupeKey: e.dedupeKey ?? null })))
    .onConflictDoNothing()
    .returning({ id: events.id });
  return rows.map((r) => r.id);
}

/**
 * Sets a latched condition (`upstream:api/target` → `down`) and says whether this call changed it:
 * only the node that flips the stored state raises the event, so a condition every node sees is
 * announced once. A key never seen before counts as a change only to a state other than `initial`.
 */
export async function flipState(db: Database | Tx, key: string, state: string, initial: string): Promise<boolean> {
  if (state === initial) {
    const rows = await db.update(eventStates).set({ state, changedAt: sql`now()` }).where(sql`${eventStates.key} = ${key} AND ${eventStates.state} <> ${state}`).returning({ key: eventStates.key });
    return rows.length > 0;
  }
  const rows = await db
    .insert(eventStates)
    .values({ key, state })
    .onConflictDoUpdate({ target: eventStates.key, set: { state, changedAt: sql`now()` }, where: sql`${eventStates.state} <> ${state}` })
    .returning({ key: eventStates.key });
  return rows.length > 0;
}
