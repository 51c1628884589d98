import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database } from '@tollgate/db';
import type { PlanSpec } from '@tollgate/model';
import { Accumulator, PeriodCache, periodTimeZone, type UsageEvent, type UsageRow } from './accumulator.js';
import { EPOCH_KEY, LIVE_TTL_MS, LiveIncrements, liveKey, quotaKey, SEEDED_KEY, type MeterRedis, type MeterRedisCommands } from './live-counters.js';
import { pruneBatches, quotaTotals, quotaUnitsBetween, seedSnapshot, writeBatch, type UsageBatch } from './rollups.js';

/** Minimal logger (pino-compatible). */
export interface MeterLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Options of {@link Meter}. */
export interface MeterOptions {
  /** Postgres or PGlite (drizzle) holding `usage_rollups` and `usage_batches`. */
  readonly db: Database;
  /** Redis for live counters and quota re-seeding; null = no Redis (embedded counters). */
  readonly redis?: MeterRedis | null;
  /** Prefix of the Redis keys, the same as the counter store's (default `tollgate:`). */
  readonly keyPrefix?: string;
  /** Flush interval (ms), `USAGE_FLUSH_MS`; default 1000. */
  readonly intervalMs?: number;
  /** Longest wait between retries while a store is down (ms); default 5000. */
  readonly maxBackoffMs?: number;
  /** How long `close()` keeps retrying the final flush (ms); default 5000. */
  readonly closeTimeoutMs?: number;
  /** Readable prefix of the node id (host name by default); a random suffix makes it unique per start. */
  readonly nodeName?: string;
  readonly logger: MeterLogger;
  /** Clock (tests inject one). */
  readonly now?: () => number;
  /** Subscriptions of the serving config with their plans, for re-seeding quota counters (see {@link Meter.setSubscriptionSource}). */
  readonly subscriptions?: SubscriptionSource;
}

/** The subscriptions of the serving config: name → plan name and spec. */
export type SubscriptionSource = () => ReadonlyMap<string, { readonly plan: string; readonly spec: PlanSpec }>;

/** The store a flush failed on (label of `tollgate_usage_flush_failures_total`). */
export type FlushStore = 'postgres' | 'redis';

/** What the gateway's metrics read at scrape time. */
export interface UsageStats {
  /** Seconds since the oldest request not yet committed to Postgres was recorded (0 when none). */
  flushLagSeconds(): number;
  /** Requests counted but not yet committed to Postgres. */
  backlogRequests(): number;
  /** Failed flush attempts since start, by store. */
  flushFailures(): Readonly<Record<FlushStore, number>>;
}

/** What the proxy needs: record one answered request (synchronous, no I/O). */
export interface UsageRecorder {
  record(event: UsageEvent): void;
  /** The meter's clock. */
  now(): number;
}

const DAY_MS = 86_400_000;

/** How long `usage_batches` rows are kept (a retried batch must find its row), and how often they are pruned. */
export const BATCH_RETENTION_MS = 7 * DAY_MS;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Counts usage in memory and flushes it every interval: first a batch (node id + sequence) into
 * the Postgres rollups, idempotently, then the committed increments into the Redis live counters
 * (one pipeline of atomic Lua calls, which Redis skips for batches a re-seed already holds). While
 * a batch is unacknowledged it is retried with the SAME sequence, and new usage gathers in a fresh
 * accumulator that is not cut into a batch until the pending one commits, so memory stays bounded
 * by the distinct keys of the outage and nothing is counted twice.
 */
export class Meter implements UsageRecorder, UsageStats {
  readonly nodeId: string;
  readonly #db: Database;
  readonly #redis: MeterRedis | null;
  readonly #prefix: string;
  readonly #intervalMs: number;
  readonly #maxBackoffMs: number;
  readonly #closeTimeoutMs: number;
  readonly #log: MeterLogger;
  readonly #now: () => number;
  #acc = new Accumulator();
  #seq = 0;
  #pending: (UsageBatch & { oldestAt: number }) | null = null;
  readonly #live: LiveIncrements;
  /** Plans of the subscriptions seen, for re-seeding their quota counters. */
  readonly #plans = new Map<string, { plan: string; spec: PlanSpec }>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #closed = false;
  #prunedAt = 0;
  readonly #failures: Record<FlushStore, number> = { postgres: 0, redis: 0 };
  readonly #down: Record<FlushStore, number> = { postgres: 0, redis: 0 };
  readonly #retryAt: Record<FlushStore, number> = { postgres: 0, redis: 0 };
  readonly #quotaPeriods = new Map<string, PeriodCache>();
  #subscriptions: SubscriptionSource | null;

  constructor(options: MeterOptions) {
    this.#db = options.db;
    this.#redis = options.redis ?? null;
    this.#prefix = options.keyPrefix ?? 'tollgate:';
    this.#intervalMs = options.intervalMs ?? 1_000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
    this.#live = new LiveIncrements(this.#prefix);
    this.#subscriptions = options.subscriptions ?? null;
    // Unique per process start, so a restarted node never reuses a (node, seq) of its previous life.
    this.nodeId = `${options.nodeName ?? hostname()}/${process.pid}/${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  }

  now(): number {
    return this.#now();
  }

  /** Adds one answered request to the in-memory accumulator: synchronous, no I/O. */
  record(event: UsageEvent): void {
    if (this.#closed) return;
    const s = event.subscription;
    if (s !== null && this.#plans.get(s.name)?.spec !== s.planSpec) this.#plans.set(s.name, { plan: s.plan, spec: s.planSpec });
    this.#acc.record(event, this.#now());
  }

  /**
   * Where the re-seed finds the subscriptions of the serving config (the gateway's config manager),
   * so quota counters are re-seeded also for subscriptions this node has not served yet.
   */
  setSubscriptionSource(source: SubscriptionSource): void {
    this.#subscriptions = source;
  }

  /** Starts the flush timer. */
  start(): void {
    if (this.#timer !== null || this.#closed) return;
    const tick = () => {
      this.#timer = null;
      void this.flush().finally(() => {
        if (!this.#closed) {
          this.#timer = setTimeout(tick, this.#intervalMs);
          this.#timer.unref();
        }
      });
    };
    this.#timer = setTimeout(tick, this.#intervalMs);
    this.#timer.unref();
  }

  flushLagSeconds(): number {
    const a = this.#pending?.oldestAt ?? 0;
    const b = this.#acc.oldestAt;
    const oldest = a === 0 ? b : b === 0 ? a : Math.min(a, b);
    return oldest === 0 ? 0 : Math.max(0, (this.#now() - oldest) / 1000);
  }

  backlogRequests(): number {
    return (this.#pending?.requests ?? 0) + this.#acc.requests;
  }

  flushFailures(): Readonly<Record<FlushStore, number>> {
    return { ...this.#failures };
  }

  /** The batch waiting for Postgres (tests read its sequence), or null. */
  get pendingBatch(): { seq: number; requests: number } | null {
    return this.#pending === null ? null : { seq: this.#pending.seq, requests: this.#pending.requests };
  }

  /** One flush now (serialized with the timer's). `force` ignores the retry backoff. */
  flush(force = false): Promise<void> {
    const run = async (): Promise<void> => {
      await this.#flushPostgres(force);
      await this.#flushRedis(force);
    };
    const next = (this.#running ?? Promise.resolve()).then(run, run);
    this.#running = next;
    return next;
  }

  #failed(store: FlushStore, err: unknown, extra: object): void {
    this.#failures[store] += 1;
    const n = ++this.#down[store];
    this.#retryAt[store] = this.#now() + Math.min(this.#maxBackoffMs, this.#intervalMs * 2 ** Math.min(n - 1, 10));
    // Once per outage, not once per second.
    if (n === 1) this.#log.error({ err, store, ...extra }, `usage flush to ${store} failed; counting in memory and retrying`);
  }

  #recovered(store: FlushStore): void {
    if (this.#down[store] > 0) this.#log.warn({ store, failedAttempts: this.#down[store] }, `usage flush to ${store} succeeded again`);
    this.#down[store] = 0;
    this.#retryAt[store] = 0;
  }

  async #flushPostgres(force: boolean): Promise<void> {
    if (this.#pending === null) {
      if (this.#acc.requests === 0) return;
      const cut = this.#acc.cut();
      this.#pending = { nodeId: this.nodeId, seq: ++this.#seq, rows: cut.rows, requests: cut.requests, oldestAt: cut.oldestAt };
    }
    if (!force && this.#now() < this.#retryAt.postgres) return;
    const batch = this.#pending;
    try {
      const outcome = await writeBatch(this.#db, batch);
      if (outcome === 'duplicate') this.#log.warn({ nodeId: batch.nodeId, seq: batch.seq }, 'usage batch was already committed by an earlier attempt; not counted again');
      this.#pending = null;
      this.#recovered('postgres');
      if (this.#now() - this.#prunedAt >= PRUNE_EVERY_MS) {
        this.#prunedAt = this.#now();
        await pruneBatches(this.#db, new Date(this.#now() - BATCH_RETENTION_MS)).catch((err: unknown) => this.#log.warn({ err }, 'pruning old usage batches failed'));
      }
      // Only what Postgres holds goes to the live counters, tagged with its batch so a seed and the
      // increment never both count it.
      if (this.#redis !== null) this.#live.addBatch(batch.seq, batch.rows);
    } catch (err) {
      // Outcome unknown (maybe committed): the same batch, same seq, is retried.
      this.#failed('postgres', err, { seq: batch.seq, requests: batch.requests, backlog: this.backlogRequests() });
    }
  }

  async #flushRedis(force: boolean): Promise<void> {
    const redis = this.#redis;
    if (redis === null) return;
    if (!force && this.#now() < this.#retryAt.redis) return;
    try {
      let applied = await this.#applyLive(redis);
      if (applied === 'unseeded') {
        // Redis lost its data (or was never seeded): seed from Postgres (or find that another node
        // just did), then apply what is newer than the seed.
        await this.#seed(redis);
        applied = await this.#applyLive(redis);
        if (applied === 'unseeded') throw new Error('live usage counters are still not seeded');
      }
      this.#recovered('redis');
    } catch (err) {
      this.#failed('redis', err, { pendingBatches: this.#live.size });
    }
  }

  /**
   * Applies the waiting live increments, one Lua call per batch run, in one pipeline: each is
   * skipped by Redis when the current seed already holds it. Stops at the first run that finds the
   * counters unseeded.
   */
  async #applyLive(redis: MeterRedis): Promise<'done' | 'unseeded'> {
    const entries = this.#live.entries();
    const epochKey = `${this.#prefix}${EPOCH_KEY}`;
    const seededKey = `${this.#prefix}${SEEDED_KEY}`;
    if (entries.length === 0) {
      // Nothing to add, but a Redis that lost its data is noticed (and its quotas re-seeded) now.
      return (await redis.exists(epochKey)) === 1 ? 'done' : 'unseeded';
    }
    const pipeline = redis.pipeline();
    for (const e of entries) {
      const keys = [epochKey, seededKey, ...e.byKey.keys()];
      const args: Array<string | number> = [this.nodeId, e.lo, e.hi, LIVE_TTL_MS];
      for (const fields of e.byKey.values()) {
        args.push(fields.size);
        for (const [field, n] of fields) args.push(field, n);
      }
      (pipeline as unknown as MeterRedisCommands).tollgateApplyUsage(keys.length, ...keys, ...args);
    }
    const results = (await pipeline.exec()) ?? [];
    let done = 0;
    for (const [err, out] of results) {
      if (err) {
        this.#live.dropFirst(done);
        throw err;
      }
      if (Number(out) === -1) break;
      done += 1;
    }
    this.#live.dropFirst(done);
    return done === entries.length ? 'done' : 'unseeded';
  }

  /**
   * Seeds the live counters from one Postgres snapshot (atomically, unless another node already
   * did) and, when this node seeded, raises the quota counters of the current periods to at least
   * the rolled-up counts (Lua: max(current, rolled up)), for every subscription of the serving config.
   */
  async #seed(redis: MeterRedis): Promise<void> {
    const t = this.#now();
    const snapshot = await seedSnapshot(this.#db, new Date(t - 35 * DAY_MS));
    const byKey = new Map<string, Map<string, number>>();
    for (const r of snapshot.live) {
      const key = liveKey(this.#prefix, r.consumer, r.period);
      let f = byKey.get(key);
      if (f === undefined) byKey.set(key, (f = new Map()));
      // Requests and billable requests are summed over metrics.
      f.set('requests', (f.get('requests') ?? 0) + r.requests);
      f.set('billable_requests', (f.get('billable_requests') ?? 0) + r.billableRequests);
      f.set(`units:${r.metric}`, r.units);
      f.set(`billable_units:${r.metric}`, r.billableUnits);
    }
    const keys = [`${this.#prefix}${EPOCH_KEY}`, `${this.#prefix}${SEEDED_KEY}`, ...byKey.keys()];
    const args: Array<string | number> = [`${this.nodeId}@${t}`, LIVE_TTL_MS, snapshot.nodes.length];
    for (const n of snapshot.nodes) args.push(n.node, n.seq);
    for (const fields of byKey.values()) {
      // Zero fields are left out, as increments of 0 are.
      const nonZero = [...fields].filter(([, n]) => n !== 0);
      args.push(nonZero.length);
      for (const [field, n] of nonZero) args.push(field, n);
    }
    const won = (await redis.tollgateSeedUsage(keys.length, ...keys, ...args)) === 1;
    if (!won) return;
    const quotas = await this.#seedQuotas(redis, t);
    this.#log.info({ liveCounters: byKey.size, quotaCounters: quotas }, 're-seeded usage counters in Redis from the Postgres rollups');
  }

  async #seedQuotas(redis: MeterRedis, t: number): Promise<number> {
    const known = new Map(this.#plans);
    if (this.#subscriptions !== null) for (const [name, p] of this.#subscriptions()) known.set(name, p);
    const withQuota = [...known].filter(([, p]) => p.spec.quota !== undefined);
    if (withQuota.length === 0) return 0;
    const current = new Map<string, { key: string; start: number; end: number; sameZone: boolean }>();
    for (const [sub, p] of withQuota) {
      const tz = p.spec.quota?.timeZone ?? 'UTC';
      let cache = this.#quotaPeriods.get(tz);
      if (cache === undefined) this.#quotaPeriods.set(tz, (cache = new PeriodCache(tz)));
      current.set(sub, { ...cache.periodAt(t), sameZone: periodTimeZone(p.spec) === tz });
    }
    const totals = await quotaTotals(this.#db, [...new Set([...current.values()].map((c) => c.key))]);
    const units = new Map<string, number>();
    for (const q of totals) if (current.get(q.subscription)?.key === q.period) units.set(q.subscription, q.units);
    const seeds: Array<Promise<unknown>> = [];
    for (const [sub, c] of current) {
      const n = c.sameZone ? (units.get(sub) ?? 0) : await quotaUnitsBetween(this.#db, sub, c.start - (c.start % 3_600_000), c.end);
      if (n <= 0) continue;
      seeds.push(redis.tollgateRaiseCounter(quotaKey(this.#prefix, sub, c.key), n, Math.max(1, c.end - t)));
    }
    await Promise.all(seeds);
    return seeds.length;
  }

  /**
   * Final flush (SIGTERM): stops the timer and retries until everything counted is committed or
   * `closeTimeoutMs` passes, also when an attempt is still waiting for a database that does not
   * answer; then what is still unflushed is logged as lost. An attempt left running may still
   * commit: it is the same batch (node, seq), so it counts at most once.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const deadline = Date.now() + this.#closeTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#closeTimeoutMs);
      // Not unref()ed: while shutdown waits on it, it is what keeps the process alive to finish.
    });
    try {
      for (;;) {
        if ((await Promise.race([this.flush(true), timedOut])) === 'timeout') break;
        // Redis is not waited for: its live counters are re-seeded from Postgres.
        if (this.backlogRequests() === 0) break;
        if (Date.now() >= deadline) break;
        await Promise.race([new Promise((r) => setTimeout(r, Math.min(200, this.#intervalMs))), timedOut]);
      }
    } finally {
      clearTimeout(timer);
    }
    const left = this.backlogRequests();
    if (left > 0) this.#log.error({ requests: left }, 'usage not written to Postgres before shutdown; these requests are not metered');
  }
}

export type { UsageRow };
