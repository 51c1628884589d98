import { randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { awaitWebhookCreations, events, rowsOf, resources, webhookDeliveries, type Database } from '@tollgate/db';
import { eventMatches, type WebhookSpec } from '@tollgate/model';
import type { OutboundPolicy } from './outbound-policy.js';
import { sendAttempt, type AttemptResult } from './send.js';

/** Retry schedule of failed deliveries. */
export interface RetryOptions {
  /** Delay after the first failed attempt, ms (WEBHOOK_RETRY_BASE_MS, default 5 s); doubled per attempt. */
  readonly baseMs: number;
  /** Longest delay between attempts, ms (WEBHOOK_RETRY_MAX_MS, default 1 h). */
  readonly maxMs: number;
  /** How long a message is retried before it is dead-lettered, ms (WEBHOOK_RETRY_HORIZON_MS, default 24 h). */
  readonly horizonMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { baseMs: 5_000, maxMs: 3_600_000, horizonMs: 86_400_000 };

/** Options of {@link WebhookDispatcher}. */
export interface DispatcherOptions {
  readonly db: Database;
  readonly policy: OutboundPolicy;
  readonly retry?: RetryOptions;
  /** How often the outbox is polled, ms (WEBHOOK_POLL_MS, default 1000). */
  readonly pollMs?: number;
  /** Deadline of one attempt, ms (WEBHOOK_TIMEOUT_MS, default 10 s). */
  readonly timeoutMs?: number;
  /** Most attempts in flight at once. */
  readonly concurrency?: number;
  readonly log: { info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void };
}

/** A Standard Webhooks message id: `msg_` + 16 random bytes. */
export function newMessageId(): string {
  return `msg_${randomBytes(16).toString('hex')}`;
}

/**
 * Delay before attempt `n + 1` after `n` failed attempts: exponential (base × 2^(n-1), capped)
 * with "equal jitter" (half fixed, half random), so receivers that come back are not hit by every
 * pending message at the same instant and the delay never collapses to zero.
 */
export function backoffMs(failedAttempts: number, retry: RetryOptions, random: () => number = Math.random): number {
  const exp = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.min(30, Math.max(0, failedAttempts - 1)));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** The body of a message: the Standard Webhooks payload shape. */
export function messageBody(type: string, occurredAt: Date, data: unknown): string {
  return JSON.stringify({ type, timestamp: occurredAt.toISOString(), data });
}

/**
 * How long a leased delivery is someone's: one attempt's deadline plus room to record its outcome.
 * A dispatcher that died mid-attempt releases its deliveries by letting the lease run out.
 */
const LEASE_MARGIN_MS = 5_000;

/**
 * Delivers outbox events to webhooks, in the admin process, never on the data plane. Each tick:
 * 1. fan-out: events not yet fanned out are claimed (`FOR UPDATE SKIP LOCKED`, so several admin
 *    processes share the work) and one delivery row per matching enabled webhook that existed when
 *    the event was raised is inserted in the same transaction that marks the event fanned out;
 * 2. delivery: due pending deliveries are leased (`locked_until`, claimed with SKIP LOCKED), sent
 *    outside any transaction, and their outcome recorded. A process killed mid-send leaves a lease
 *    that expires, and the message is sent again with the same `webhook-id` (at-least-once).
 */
export class WebhookDispatcher {
  readonly #db: Database;
  readonly #policy: OutboundPolicy;
  readonly #retry: RetryOptions;
  readonly #pollMs: number;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #log: DispatcherOptions['log'];
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;

  constructor(options: DispatcherOptions) {
    this.#db = options.db;
    this.#policy = options.policy;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#pollMs = options.pollMs ?? 1_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#concurrency = options.concurrency ?? 16;
    this.#log = options.log;
  }

  start(): void {
    if (this.#timer !== null || this.#stopped) return;
    const tick = () => {
      this.#running = this.tick()
        .catch((err: unknown) => this.#log.warn({ err }, 'webhook dispatch failed; retrying'))
        .finally(() => {
          this.#running = null;
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#pollMs);
        });
    };
    this.#timer = setTimeout(tick, 0);
  }

  /** Stops polling and waits for the attempts in flight (their outcomes are recorded). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** One fan-out and one round of due deliveries. */
  async tick(): Promise<void> {
    while ((await this.fanOut()) > 0 && !this.#stopped);
    while ((await this.deliverDue()) > 0 && !this.#stopped);
  }

  /** Creates the deliveries of up to 200 events; returns how many events it fanned out. */
  async fanOut(): Promise<number> {
    return this.#db.transaction(async (tx) => {
      const rows = rowsOf<{ seq: string | number; type: string; data: unknown }>(await tx.execute(sql`SELECT seq, type, data FROM events WHERE fanned_out_at IS NULL ORDER BY seq LIMIT 200 FOR UPDATE SKIP LOCKED`));
      if (rows.length === 0) return 0;
      const seqs = rows.map((r) => Number(r.seq));
      const inBatch = sql.join(seqs.map((s) => sql`${s}`), sql`, `);
      // Webhooks being created wait for their commit, so none appears later with a time at or
      // before these events' (the invariant is in @tollgate/db webhook-lock.ts). This transaction
      // must stay READ COMMITTED: the webhooks are read with a snapshot taken after the lock.
      await awaitWebhookCreations(tx);
      // One query: every webhook with the events of the batch raised at or after its creation
      // (docs/events.md), not every event still waiting for its fan-out. The times are compared in
      // SQL at their microsecond precision, which a JS Date would truncate.
      const hooks = rowsOf<{ name: string; spec: WebhookSpec; seqs: Array<string | number> }>(
        await tx.execute(sql`SELECT r.name, r.spec, ARRAY(SELECT e.seq FROM events e WHERE e.seq IN (${inBatch}) AND e.occurred_at >= r.created_at) AS seqs FROM resources r WHERE r.kind = 'Webhook'`),
      ).map((r) => ({ name: r.name, spec: r.spec, since: new Set(r.seqs.map(Number)) }));
      const deliveries: Array<{ id: string; webhook: string; eventSeq: number }> = [];
      for (const e of rows) {
        for (const h of hooks) {
          if (h.spec.disabled || !h.since.has(Number(e.seq))) continue;
          // A test event goes only to the webhook it tests.
          if (e.type === 'webhook.test' ? (e.data as { webhook?: string }).webhook !== h.name : !eventMatches(h.spec.events, e.type)) continue;
          deliveries.push({ id: newMessageId(), webhook: h.name, eventSeq: Number(e.seq) });
        }
      }
      for (let i = 0; i < deliveries.length; i += 1000) await tx.insert(webhookDeliveries).values(deliveries.slice(i, i + 1000)).onConflictDoNothing();
      await tx.update(events).set({ fannedOutAt: sql`now()` }).where(sql`${events.seq} IN (${inBatch})`);
      return rows.length;
    });
  }

  /** Leases and sends up to `concurrency` due deliveries; returns how many it sent. */
  async deliverDue(): Promise<number> {
    const leased = await this.#db.execute(sql`
      WITH due AS (
        SELECT id FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
        ORDER BY next_attempt_at, event_seq
        LIMIT ${this.#concurrency}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE webhook_deliveries d SET locked_until = now() + ${`${this.#timeoutMs + LEASE_MARGIN_MS} milliseconds`}::interval
      FROM due, events e
      WHERE d.id = due.id AND e.seq = d.event_seq
      RETURNING d.id, d.webhook, d.attempts, d.created_at, e.type, e.data, e.occurred_at`);
    const rows = rowsOf<{ id: string; webhook: string; attempts: number; created_at: string | Date; type: string; data: unknown; occurred_at: string | Date }>(leased);
    if (rows.length === 0) return 0;
    const names = [...new Set(rows.map((r) => r.webhook))];
    const hooks = new Map(
      (await this.#db.select({ name: resources.name, spec: resources.spec }).from(resources).where(and(eq(resources.kind, 'Webhook'), sql`${resources.name} IN (${sql.join(names.map((n) => sql`${n}`), sql`, `)})`))).map((r) => [r.name, r.spec as WebhookSpec] as const),
    );
    await Promise.all(
      rows.map(async (r) => {
        const spec = hooks.get(r.webhook);
        const result: AttemptResult =
          spec === undefined
            ? { ok: false, status: null, detail: `webhook ${r.webhook} no longer exists` }
            : await sendAttempt({ url: spec.url, msgId: r.id, body: messageBody(r.type, new Date(r.occurred_at), r.data), secret: spec.secret, ...(spec.headers ? { headers: spec.headers } : {}) }, this.#policy, this.#timeoutMs);
        await this.#record(r.id, Number(r.attempts) + 1, new Date(r.created_at), result, spec === undefined);
      }),
    );
    return rows.length;
  }

  async #record(id: string, attempts: number, createdAt: Date, result: AttemptResult, gone: boolean): Promise<void> {
    const common = { attempts, lastStatus: result.status, lastResponse: result.ok || result.status !== null ? result.detail : null, lastError: result.ok || result.status !== null ? null : result.detail, lastAttemptAt: sql`now()`, lockedUntil: null };
    if (result.ok) {
      await this.#db.update(webhookDeliveries).set({ ...common, status: 'delivered', deliveredAt: sql`now()` }).where(eq(webhookDeliveries.id, id));
      return;
    }
    const wait = backoffMs(attempts, this.#retry);
    // Dead-lettered when an attempt fails `horizonMs` or more after the delivery was created: the
    // retries span at least the horizon (and at most one more `maxMs` past it).
    const dead = gone || Date.now() - createdAt.getTime() >= this.#retry.horizonMs;
    await this.#db
      .update(webhookDeliveries)
      .set({ ...common, status: dead ? 'dead' : 'pending', nextAttemptAt: sql`now() + ${`${wait} milliseconds`}::interval` })
      .where(eq(webhookDeliveries.id, id));
    if (dead) this.#log.warn({ delivery: id, attempts, status: result.status, detail: result.detail.slice(0, 200) }, 'webhook delivery dead-lettered');
  }
}
