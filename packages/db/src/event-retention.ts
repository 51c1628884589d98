import { sql } from 'drizzle-orm';
import type { Database } from './client.js';
import { rowsOf } from './raw-rows.js';

/** How long events (and their webhook deliveries) are kept by default: 30 days. */
export const DEFAULT_EVENT_RETENTION_MS = 30 * 86_400_000;

/**
 * How long a claimed dedupe key is remembered (or the event retention, if longer): 400 days, past
 * the longest scope of a key family: a calendar month (`quota.*`), a UTC day
 * (`api_key.used_after_revocation`), an event window (`consumer.rate_limited`), a billing report
 * revision, and a certificate fingerprint, whose warnings stop when the certificate is replaced
 * (publicly trusted TLS certificates live at most 398 days, CA/Browser Forum Baseline
 * Requirements 6.3.2).
 */
export const DEDUPE_KEY_HORIZON_MS = 400 * 86_400_000;

/** Rows one statement deletes at most: a short statement and short row locks however big the backlog. */
export const DEFAULT_PRUNE_BATCH = 1_000;

/**
 * First key of the transaction-scoped advisory lock a batch takes (`pg_try_advisory_xact_lock(k1, k2)`):
 * several admin processes run the retention, one deletes at a time and the others skip the round.
 */
export const RETENTION_LOCK_KEY = 0x7467_6576; // 'tgev'

export interface PruneOptions {
  /** Events that occurred longer ago than this are deleted (with their deliveries), ms. */
  readonly retentionMs: number;
  /** Most rows one statement deletes (default {@link DEFAULT_PRUNE_BATCH}). */
  readonly batch?: number;
  /** How long claimed dedupe keys are remembered, ms (default {@link DEDUPE_KEY_HORIZON_MS}; the retention when longer). */
  readonly dedupeHorizonMs?: number;
  /** Awaited between batches, so a backlog does not hold the event loop (embedded PGlite shares it with the data plane). */
  readonly pause?: () => Promise<void>;
  /** Stop before the next batch when it says so (a process shutting down). */
  readonly stopped?: () => boolean;
}

/** What one {@link pruneEvents} round did. */
export interface PruneOutcome {
  /** Events deleted (their deliveries went with them, `ON DELETE CASCADE`). */
  readonly events: number;
  /** Dedupe keys forgotten. */
  readonly dedupeKeys: number;
  /** Statements that deleted something. */
  readonly batches: number;
  /** Another process held the retention lock: this round did nothing. */
  readonly locked: boolean;
}

const interval = (ms: number) => `${Math.max(0, Math.floor(ms))} milliseconds`;

/**
 * Deletes at most `batch` events older than `retentionMs`, in one transaction: first events that
 * were never fanned out (see {@link pruneUnfanned}), then fanned-out ones, but not one with a
 * delivery still pending or leased, whatever its age (the dispatcher still needs it; it goes in a
 * later round once settled). Those are left out of the candidates, so they never fill a batch;
 * that check is on `status` alone, which the
 * (status, next_attempt_at) index serves in proportion to the pending deliveries, not to the
 * table (a lease is only taken on a pending delivery and cleared with its outcome). The
 * deliveries of the candidates are then locked (`FOR UPDATE`, by the event_seq index) and checked
 * again on their latest version, leases included, so a redelivery racing with the deletion either
 * commits first (the event stays) or waits and then finds nothing (404). The delete joins the
 * candidates by primary key: every part of the statement is proportional to the batch.
 * Returns how many events it deleted, or `null` when another process holds the retention lock.
 */
export async function pruneEventBatch(db: Database, retentionMs: number, batch = DEFAULT_PRUNE_BATCH): Promise<number | null> {
  const limit = Math.max(1, Math.floor(batch));
  return db.transaction(async (tx) => {
    if (!(await tryLock(tx))) return null;
    const unfanned = await pruneUnfanned(tx, retentionMs, limit);
    if (unfanned >= limit) return unfanned;
    const r = await tx.execute(sql`
      WITH candidate AS MATERIALIZED (
        SELECT seq FROM events
        WHERE occurred_at < now() - ${interval(retentionMs)}::interval AND fanned_out_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = events.seq AND d.status = 'pending')
        ORDER BY occurred_at
        LIMIT ${limit - unfanned}
        FOR UPDATE SKIP LOCKED
      ),
      delivery AS MATERIALIZED (
        SELECT event_seq, status, locked_until FROM webhook_deliveries
        WHERE event_seq IN (SELECT seq FROM candidate)
        FOR UPDATE
      ),
      gone AS (
        DELETE FROM events e USING candidate c
        WHERE e.seq = c.seq
          AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.event_seq = c.seq AND (d.status = 'pending' OR d.locked_until > now()))
        RETURNING e.seq
      )
      SELECT count(*)::int AS n FROM gone`);
    return unfanned + Number(rowsOf<{ n: number }>(r)[0]?.n ?? 0);
  });
}

/**
 * Deletes at most `limit` events older than `retentionMs` that no dispatcher has fanned out. Such
 * an event has no deliveries, and with WEBHOOKS=false on every admin process none will ever be
 * made: kept until fanned out, the table grew without bound. A dispatcher fans out within
 * seconds, so an event unfanned past the retention (a day at least) means none ran that long, and
 * one starting later does not send events past their retention. The scan is the partial index of
 * unfanned events (`events_pending_idx`, by seq: the oldest first). A fan-out claims the same rows
 * `FOR UPDATE SKIP LOCKED`: an event it holds is skipped here, and the delete re-checks
 * `fanned_out_at IS NULL` on the row's latest version, so an event fanned out meanwhile stays,
 * with its deliveries, for the settled-event path.
 */
async function pruneUnfanned(tx: Tx, retentionMs: number, limit: number): Promise<number> {
  const r = await tx.execute(sql`
    WITH stale AS MATERIALIZED (
      SELECT seq FROM events
      WHERE fanned_out_at IS NULL AND occurred_at < now() - ${interval(retentionMs)}::interval
      ORDER BY seq
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ),
    gone AS (DELETE FROM events e USING stale s WHERE e.seq = s.seq AND e.fanned_out_at IS NULL RETURNING e.seq)
    SELECT count(*)::int AS n FROM gone`);
  return Number(rowsOf<{ n: number }>(r)[0]?.n ?? 0);
}

/** Forgets at most `batch` dedupe keys claimed longer ago than `horizonMs`; `null` when another process holds the lock. */
export async function pruneDedupeKeyBatch(db: Database, horizonMs: number, batch = DEFAULT_PRUNE_BATCH): Promise<number | null> {
  return db.transaction(async (tx) => {
    if (!(await tryLock(tx))) return null;
    const r = await tx.execute(sql`
      WITH old AS MATERIALIZED (
        SELECT key FROM event_dedupe_keys WHERE claimed_at < now() - ${interval(horizonMs)}::interval
        ORDER BY claimed_at LIMIT ${Math.max(1, Math.floor(batch))}
      ),
      gone AS (DELETE FROM event_dedupe_keys k USING old WHERE k.key = old.key RETURNING k.key)
      SELECT count(*)::int AS n FROM gone`);
    return Number(rowsOf<{ n: number }>(r)[0]?.n ?? 0);
  });
}

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

async function tryLock(tx: Tx): Promise<boolean> {
  const r = await tx.execute(sql`SELECT pg_try_advisory_xact_lock(${RETENTION_LOCK_KEY}::int4, 1) AS locked`);
  return rowsOf<{ locked: boolean }>(r)[0]?.locked === true;
}

/**
 * One retention round: deletes old events in batches of `batch` until none is left, then old
 * dedupe keys the same way, pausing between batches. Each batch is its own short transaction, so a
 * large backlog never holds a long lock or a long statement.
 */
export async function pruneEvents(db: Database, options: PruneOptions): Promise<PruneOutcome> {
  const batch = options.batch ?? DEFAULT_PRUNE_BATCH;
  const horizon = Math.max(options.retentionMs, options.dedupeHorizonMs ?? DEDUPE_KEY_HORIZON_MS);
  let events = 0;
  let dedupeKeys = 0;
  let batches = 0;
  for (const [step, add] of [
    [() => pruneEventBatch(db, options.retentionMs, batch), (n: number) => (events += n)],
    [() => pruneDedupeKeyBatch(db, horizon, batch), (n: number) => (dedupeKeys += n)],
  ] as const) {
    for (;;) {
      if (options.stopped?.() === true) return { events, dedupeKeys, batches, locked: false };
      const n = await step();
      if (n === null) return { events, dedupeKeys, batches, locked: true };
      if (n === 0) break;
      add(n);
      batches++;
      // A short batch means the backlog is done: no empty statement just to find out.
      if (n < batch) break;
      await options.pause?.();
    }
  }
  return { events, dedupeKeys, batches, locked: false };
}
