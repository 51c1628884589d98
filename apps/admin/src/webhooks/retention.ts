import { setImmediate as yieldLoop } from 'node:timers/promises';
import { pruneEvents, type Database, type PruneOutcome } from '@tollgate/db';

/** Options of {@link EventRetention}. */
export interface EventRetentionOptions {
  readonly db: Database;
  /** Events older than this go, with their deliveries, ms (EVENT_RETENTION_MS, default 30 days). */
  readonly retentionMs: number;
  /** How often a round runs, ms (default 10 minutes; the first one shortly after start). */
  readonly intervalMs?: number;
  /** Rows one statement deletes at most (default 1000). */
  readonly batch?: number;
  readonly log: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

/** Delay of the first round: after start-up work, not in the middle of it. */
const FIRST_ROUND_MS = 30_000;

/**
 * Runs the event retention (@tollgate/db `pruneEvents`) in the admin process on its own timer.
 * Every admin process runs one; a transaction-scoped advisory lock per batch lets one delete at a
 * time and the others skip the round. Between batches it yields to the event loop
 * (`setImmediate`), so with embedded PGlite, which shares the loop with the data plane, a large
 * backlog is deleted in short slices.
 */
export class EventRetention {
  readonly #options: EventRetentionOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<PruneOutcome | undefined> | null = null;
  #stopped = false;

  constructor(options: EventRetentionOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#timer !== null || this.#stopped) return;
    const tick = () => {
      void this.run().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, this.#options.intervalMs ?? 600_000).unref();
      });
    };
    this.#timer = setTimeout(tick, Math.min(FIRST_ROUND_MS, this.#options.intervalMs ?? FIRST_ROUND_MS)).unref();
  }

  /** One round now (joined when one is already running); failures are logged, the next round retries. */
  run(): Promise<PruneOutcome | undefined> {
    this.#running ??= this.#round().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #round(): Promise<PruneOutcome | undefined> {
    try {
      const out = await pruneEvents(this.#options.db, {
        retentionMs: this.#options.retentionMs,
        ...(this.#options.batch !== undefined ? { batch: this.#options.batch } : {}),
        pause: () => yieldLoop(),
        stopped: () => this.#stopped,
      });
      if (out.events > 0 || out.dedupeKeys > 0) this.#options.log.info({ events: out.events, dedupeKeys: out.dedupeKeys, batches: out.batches }, 'event retention pruned old events');
      return out;
    } catch (err) {
      this.#options.log.warn({ err }, 'event retention failed; retrying at the next round');
      return undefined;
    }
  }

  /** Stops the timer; a round in progress ends after its current batch. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
