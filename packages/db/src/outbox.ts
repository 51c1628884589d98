import { sql } from 'drizzle-orm';
import type { Database } from './client.js';
import { eventDedupeKeys, events, eventStates } from './schema/events.js';

/** A drizzle transaction over either driver. */
type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/** One outbox row to write (the typed builders live in @tollgate/model `outboxEvent`). */
export interface OutboxInsert {
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly dedupeKey?: string;
}

/** Options of {@link writeEvents}. */
export interface WriteEventsOptions {
  /**
   * When the events occurred, as a `timestamptz` text of the same transaction (default: its
   * `now()`). A transaction that creates a webhook stamps its events with the webhook's creation
   * time, so the webhook receives them (see webhook-lock.ts).
   */
  readonly occurredAt?: string;
}

/**
 * Inserts events into the outbox with `db`, which should be the transaction of the change that
 * raised them. An event whose dedupe key was claimed before is dropped, which is how a condition
 * seen on several gateway nodes becomes one event. The keys are claimed in `event_dedupe_keys`
 * (`ON CONFLICT DO NOTHING`), not only by the unique index of `events`, so the event retention can
 * delete an old event without its key firing again (see that table). Returns the ids written.
 */
export async function writeEvents(db: Database | Tx, list: readonly OutboxInsert[], options: WriteEventsOptions = {}): Promise<string[]> {
  if (list.length === 0) return [];
  // Sorted: two writers claiming overlapping keys lock them in the same order (no deadlock).
  const keys = [...new Set(list.flatMap((e) => (e.dedupeKey === undefined ? [] : [e.dedupeKey])))].sort();
  if (keys.length === 0) return insertEvents(db, list, options);
  // A savepoint inside the caller's transaction (a transaction of its own on a bare database):
  // a key is never claimed without its event being written.
  return db.transaction(async (tx) => {
    const claimed = new Set((await tx.insert(eventDedupeKeys).values(keys.map((key) => ({ key }))).onConflictDoNothing().returning({ key: eventDedupeKeys.key })).map((r) => r.key));
    const seen = new Set<string>();
    const kept = list.filter((e) => {
      if (e.dedupeKey === undefined) return true;
      if (!claimed.has(e.dedupeKey) || seen.has(e.dedupeKey)) return false;
      seen.add(e.dedupeKey);
      return true;
    });
    return insertEvents(tx, kept, options);
  });
}

async function insertEvents(db: Database | Tx, list: readonly OutboxInsert[], options: WriteEventsOptions): Promise<string[]> {
  if (list.length === 0) return [];
  const at = options.occurredAt === undefined ? {} : { occurredAt: sql`${options.occurredAt}::timestamptz` };
  // ON CONFLICT DO NOTHING stays as a backstop: the unique index on dedupe_key still holds every
  // key of a stored event (migration 0013 copied those into event_dedupe_keys).
  const rows = await db
    .insert(events)
    .values(list.map((e) => ({ id: e.id, type: e.type, data: e.data, dedupeKey: e.dedupeKey ?? null, ...at })))
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
