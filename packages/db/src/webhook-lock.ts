import { sql } from 'drizzle-orm';
import type { Database } from './client.js';
import { rowsOf } from './raw-rows.js';

/** A drizzle transaction over either driver. */
type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/**
 * Key of the transaction-scoped advisory lock that orders webhook creations against fan-outs
 * (taken exclusively by a transaction that creates a webhook, shared by a fan-out).
 */
export const WEBHOOK_CREATION_LOCK_KEY = 0x7467_7768; // 'tgwh'

/*
 * The rule (docs/events.md): an event goes to the webhooks created at or before it occurred,
 * `resources.created_at <= events.occurred_at`, and an event is fanned out once. For that to lose
 * nothing, a fan-out must see every webhook that will ever carry a `created_at` at or before the
 * `occurred_at` of an event it fans out. A transaction's `now()` cannot be that `created_at`: it
 * is the transaction's start, and the transaction may commit after a fan-out that could not see
 * it, with a time before events that fan-out marked done (the webhook then never got them).
 *
 * Invariant: `created_at` is `clock_timestamp()` read after taking this lock exclusively, held
 * until the creating transaction commits; a fan-out takes it shared after claiming its events and
 * only then reads the webhooks (READ COMMITTED: that statement's snapshot is taken after the lock
 * was granted). For a webhook W and an event E fanned out by fan-out F, either
 * - W took the lock first: F waits for W's commit and then sees W (Postgres makes a commit visible
 *   before releasing its locks), so E goes to W if `created_at <= occurred_at`; or
 * - F took it first: W's stamp is read after F committed, so after E committed (F claims only
 *   committed events), so after E's `occurred_at` (its transaction's start): W's `created_at` is
 *   later and E correctly does not go to W.
 * The event side needs no lock: an event's `occurred_at` is its transaction's start, and an event
 * whose transaction began before a webhook's stamp counts as raised before that webhook even when
 * it commits (and is fanned out) later, which is the documented rule as both times read it. An
 * event not yet committed is not lost either: it stays unfanned until a later fan-out claims it.
 * The events the creating transaction itself writes (its `config.applied`) are stamped with the
 * same time, so a webhook receives the event of its own creation.
 * Times come from the one database server's clock (a step back of that clock between a fan-out and
 * a creation could still misorder them; a sequence watermark would not depend on it, but needs a
 * per-webhook column and a backfill, and webhook creations are rare next to clock steps).
 */

/**
 * Takes the webhook-creation lock exclusively in `tx` (held until it ends) and returns the time
 * its webhooks are created at, as text that `::timestamptz` reads back at full (microsecond)
 * precision; a JS Date would truncate it to milliseconds.
 */
export async function lockWebhookCreation(tx: Tx): Promise<string> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${WEBHOOK_CREATION_LOCK_KEY}::int8)`);
  return rowsOf<{ at: string }>(await tx.execute(sql`SELECT clock_timestamp()::text AS at`))[0]!.at;
}

/** Waits, in `tx`, for the webhook creations in flight to commit (the shared side of the lock). */
export async function awaitWebhookCreations(tx: Tx): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock_shared(${WEBHOOK_CREATION_LOCK_KEY}::int8)`);
}
