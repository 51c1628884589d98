import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The event outbox: one row per raised event (see @tollgate/model `EVENT_TYPES` for the catalogue).
 * Admin-side events are inserted in the transaction of the change that caused them; gateway-side
 * events with the usage flush. `dedupe_key` makes a condition seen by several nodes one event:
 * writers use `INSERT … ON CONFLICT DO NOTHING`.
 */
export const events = pgTable(
  'events',
  {
    // Identity column: grows with insertion, so it is the dispatcher's fan-out order.
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** `evt_…`, stable, shown to receivers as the payload's `id`. */
    id: text('id').notNull(),
    /** Stable event name, e.g. `quota.threshold`. */
    type: text('type').notNull(),
    /** Unique when present: the same condition raised twice (two nodes, a retried flush) is stored once. */
    dedupeKey: text('dedupe_key'),
    /** The event's data, valid against its type's JSON schema. */
    data: jsonb('data').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    /** When the dispatcher created this event's deliveries (null: not yet). */
    fannedOutAt: timestamp('fanned_out_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('events_id_key').on(t.id),
    uniqueIndex('events_dedupe_key').on(t.dedupeKey),
    index('events_pending_idx').on(t.seq).where(sql`${t.fannedOutAt} IS NULL`),
    // The retention's age scan (oldest first, a bounded batch at a time).
    index('events_occurred_at_idx').on(t.occurredAt),
  ],
);

/**
 * The dedupe keys ever claimed, kept apart from the events so the event retention can delete
 * events without forgetting them: `writeEvents` claims a key here first (`ON CONFLICT DO
 * NOTHING`) and writes only the events whose key it claimed. Several key families are not scoped
 * to less than the retention (`quota.*` to a calendar month, which can outlast a 30-day
 * retention; `certificate.expiring` to a certificate fingerprint, raised again at every gateway
 * start while the certificate is past the threshold), so losing a key with its event would fire
 * the event again. A key is a short string; the keys go after `DEDUPE_KEY_HORIZON_MS`
 * (@tollgate/db `pruneEvents`).
 */
export const eventDedupeKeys = pgTable(
  'event_dedupe_keys',
  {
    key: text('key').primaryKey(),
    claimedAt: timestamp('claimed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('event_dedupe_keys_claimed_at_idx').on(t.claimedAt)],
);

/**
 * Latched conditions (an upstream target down, an API's error rate high): a node raises the event
 * only when it flips the stored state, so a condition seen by every node is announced once.
 */
export const eventStates = pgTable('event_states', {
  key: text('key').primaryKey(),
  state: text('state').notNull(),
  changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * One delivery of one event to one webhook. `id` (`msg_…`) is the Standard Webhooks `webhook-id`,
 * the same on every attempt. `status`: `pending` (waiting or being retried), `delivered`, `dead`
 * (dead-lettered after the retry horizon). `locked_until` is the lease of the dispatcher sending it.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    webhook: text('webhook').notNull(),
    eventSeq: bigint('event_seq', { mode: 'number' })
      .notNull()
      .references(() => events.seq, { onDelete: 'cascade' }),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    lastStatus: integer('last_status'),
    lastResponse: text('last_response'),
    lastError: text('last_error'),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_event_key').on(t.webhook, t.eventSeq),
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_webhook_idx').on(t.webhook, t.createdAt),
    // Deleting an event cascades to its deliveries by event_seq, which the (webhook, event_seq)
    // key cannot serve: without this index each pruned event would scan the deliveries table.
    index('webhook_deliveries_event_seq_idx').on(t.eventSeq),
  ],
);

export type EventRow = typeof events.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
