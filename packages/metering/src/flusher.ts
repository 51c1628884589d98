import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { and, inArray, isNotNull } from 'drizzle-orm';
import { apiKeys, flipState, writeEvents, type Database } from '@tollgate/db';
import { outboxEvent, type OutboxEvent, type PlanSpec } from '@tollgate/model';
import { Accumulator, PeriodCache, periodTimeZone, type UsageEvent, type UsageRow } from './accumulator.js';
import { shardOfTag, usageShardOf, USAGE_SHARDS } from '@tollgate/policies';
import { checkRedisKeyPrefix } from '@tollgate/stores';
import { addCharge, counterKey, LIVE_TTL_MS, liveKey, liveShard, quotaKey, shardKeys, ShardedLiveIncrements, type MeterRedis, type MeterRedisCommands, type QuotaCharges } from './live-counters.js';
import { ConditionDetectors, type DetectorOptions } from './condition-detectors.js';
import { chargedSubscriptions, raiseQuotaEvents, type QuotaPeriod } from './quota-events.js';
import { pruneBatches, quotaTotals, quotaUnitsBetween, seedSnapshot, writeBatch, type Tx, type UsageBatch } from './rollups.js';

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
  /**
   * How long after a re-seed the plan quotas stay unavailable, so that every node has applied what
   * it counted before the seed (ms); default max(2000, 3 × intervalMs).
   */
  readonly quotaHoldMs?: number;
  /** Readable prefix of the node id (host name by default); a random suffix makes it unique per start. */
  readonly nodeName?: string;
  readonly logger: MeterLogger;
  /** Clock (tests inject one). */
  readonly now?: () => number;
  /** Subscriptions of the serving config with their plans, for re-seeding quota counters (see {@link Meter.setSubscriptionSource}). */
  readonly subscriptions?: SubscriptionSource;
  /** Traffic conditions turned into events (consumer rate-limited, API error rate); null = none. */
  readonly detectors?: DetectorOptions | null;
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

/** Unknown API key digests noted per flush at most (a flood of random keys costs one bounded query). */
const MAX_UNKNOWN_KEYS = 1_000;

/** Gateway events queued at most while Postgres is down (the oldest are kept; later ones dropped). */
const MAX_QUEUED_EVENTS = 10_000;

/** A latched condition an event announces a change of (see {@link Meter.raise}). */
export interface EventLatch {
  readonly key: string;
  readonly state: string;
  /** The state a never-seen key is in (a first `up` of a target announces nothing). */
  readonly initial: string;
}

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
  readonly #quotaHoldMs: number;
  readonly #log: MeterLogger;
  readonly #now: () => number;
  #acc = new Accumulator();
  /** Plan quota charges of the requests in `#acc` (cut with it). */
  #charges: QuotaCharges = new Map();
  #seq = 0;
  #pending: (UsageBatch & { oldestAt: number; charges: QuotaCharges }) | null = null;
  /** A seed asked for by a limiter that found the quota counters unseeded is under way. */
  #seedAsked = 0;
  readonly #live: ShardedLiveIncrements;
  /** Plans of the subscriptions seen, for re-seeding their quota counters. */
  readonly #plans = new Map<string, { plan: string; spec: PlanSpec }>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #closed = false;
  #prunedAt = 0;
  readonly #failures: Record<FlushStore, number> = { postgres: 0, redis: 0 };
  readonly #down: Record<FlushStore, number> = { postgres: 0, redis: 0 };
  readonly #retryAt: Record<FlushStore, number> = { postgres: 0, redis: 0 };
  readonly #quotaPeriodCache = new Map<string, PeriodCache>();
  #subscriptions: SubscriptionSource | null;
  readonly #nodeEvents: Array<{ event: OutboxEvent; latch?: EventLatch }> = [];
  #onEvents: ((events: readonly OutboxEvent[]) => void) | null = null;
  readonly #detectors: ConditionDetectors | null;
  readonly #unknownKeys = new Set<string>();

  constructor(options: MeterOptions) {
    this.#db = options.db;
    this.#redis = options.redis ?? null;
    this.#prefix = checkRedisKeyPrefix(options.keyPrefix ?? 'tollgate:', 'keyPrefix');
    this.#intervalMs = options.intervalMs ?? 1_000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.#quotaHoldMs = options.quotaHoldMs ?? Math.max(2_000, 3 * this.#intervalMs);
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
    this.#live = new ShardedLiveIncrements(this.#prefix);
    this.#subscriptions = options.subscriptions ?? null;
    this.#detectors = options.detectors === null ? null : new ConditionDetectors(options.detectors);
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
    this.#detectors?.record(event);
    const c = event.quotaCharge;
    if (c != null && this.#redis !== null) {
      // A re-seeded limiter counts in a usage shard: its tag is the shard's.
      const shard = shardOfTag(c.tag);
      if (shard >= 0) addCharge(this.#charges, counterKey(this.#prefix, c.tag, c.key), shard, c.epoch ?? '', c.units, c.expiresAt);
    }
  }

  /**
   * The guard of the plan quota counters for the limiters (they pass their usage shard's seed
   * marker to the counter store), or null without Redis. A limiter that finds its marker absent
   * calls `unseeded`, which runs the Redis flush (and so the seed) now instead of at the next tick
   * or retry.
   */
  quotaGuard(): { unseeded: () => void } | null {
    if (this.#redis === null) return null;
    return { unseeded: () => this.#seedNow() };
  }

  #seedNow(): void {
    // One at a time, at most every 100 ms: every request of an unseeded quota calls this.
    const t = this.#now();
    if (this.#closed || t - this.#seedAsked < 100) return;
    this.#seedAsked = t;
    const run = () => this.#flushRedis(true);
    this.#running = (this.#running ?? Promise.resolve()).then(run, run);
  }

  /**
   * Where the re-seed finds the subscriptions of the serving config (the gateway's config manager),
   * so quota counters are re-seeded also for subscriptions this node has not served yet.
   */
  setSubscriptionSource(source: SubscriptionSource): void {
    this.#subscriptions = source;
  }

  /** Hears the events this node wrote to the outbox, after their commit (the gateway counts quota alerts in a metric). */
  onEventsWritten(listener: (events: readonly OutboxEvent[]) => void): void {
    this.#onEvents = listener;
  }

  /**
   * Notes the digest of an API key that matched no active key (synchronous, no I/O; at most
   * MAX_UNKNOWN_KEYS per flush). The next flush looks the digests up among revoked keys and raises
   * `api_key.used_after_revocation` for those it finds, once per key and UTC day across nodes.
   */
  noteUnknownKey(sha256Hex: string): void {
    if (this.#closed || this.#unknownKeys.size >= MAX_UNKNOWN_KEYS) return;
    this.#unknownKeys.add(sha256Hex);
  }

  /** Looks the noted digests up among revoked keys (one indexed query per flush) and queues the events. */
  async #checkUnknownKeys(): Promise<void> {
    if (this.#unknownKeys.size === 0) return;
    const hashes = [...this.#unknownKeys];
    this.#unknownKeys.clear();
    try {
      const rows = await this.#db.select({ id: apiKeys.id, consumer: apiKeys.consumer, revokedAt: apiKeys.revokedAt }).from(apiKeys).where(and(inArray(apiKeys.hash, hashes), isNotNull(apiKeys.revokedAt)));
      const day = new Date(this.#now()).toISOString().slice(0, 10);
      for (const r of rows) {
        const revokedAt = r.revokedAt === null ? '' : r.revokedAt.toISOString();
        this.raise(outboxEvent('api_key.used_after_revocation', { keyId: r.id, consumer: r.consumer, revokedAt, node: this.nodeId }, `api_key.used_after_revocation:${r.id}:${day}`));
      }
    } catch (err) {
      // Best effort: a digest seen again is noted again.
      this.#log.warn({ err }, 'looking up unknown API keys among revoked ones failed');
    }
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

  /**
   * Queues a gateway-side event (an upstream target down, …) for the outbox; written with the next
   * flush, in its own transaction, retried like usage. `latch` makes it conditional: the event is
   * written only by the node that flips the stored state (see @tollgate/db `flipState`), so a
   * condition every node sees is one event. Synchronous, no I/O.
   */
  raise(event: OutboxEvent, latch?: EventLatch): void {
    if (this.#closed || this.#nodeEvents.length >= MAX_QUEUED_EVENTS) return;
    this.#nodeEvents.push({ event, ...(latch ? { latch } : {}) });
  }

  /** Writes the queued node events; on failure they stay queued (each is deduplicated or latched, so a retry is harmless). */
  async #flushEvents(): Promise<void> {
    if (this.#nodeEvents.length === 0) return;
    const queued = this.#nodeEvents.splice(0);
    let written: OutboxEvent[] = [];
    try {
      await this.#db.transaction(async (tx) => {
        const out: OutboxEvent[] = [];
        for (const q of queued) if (q.latch === undefined || (await flipState(tx, q.latch.key, q.latch.state, q.latch.initial))) out.push(q.event);
        const ids = new Set(await writeEvents(tx, out));
        written = out.filter((e) => ids.has(e.id));
      });
      if (written.length > 0) this.#onEvents?.(written);
    } catch (err) {
      this.#nodeEvents.unshift(...queued.slice(0, MAX_QUEUED_EVENTS - this.#nodeEvents.length));
      this.#log.warn({ err, events: queued.length }, 'writing gateway events to the outbox failed; retrying with the next flush');
    }
  }

  /** The current quota period of the subscriptions of a batch that charged quota units. */
  #chargedQuotas(rows: readonly UsageRow[]): Map<string, QuotaPeriod> {
    const charged = chargedSubscriptions(rows);
    const out = new Map<string, QuotaPeriod>();
    if (charged.size === 0) return out;
    const periods = this.#quotaPeriods(this.#now());
    const serving = this.#subscriptions?.();
    for (const [sub, consumer] of charged) {
      const p = this.#plans.get(sub) ?? serving?.get(sub);
      const c = periods.get(sub);
      if (p === undefined || c === undefined || p.spec.quota === undefined) continue;
      out.set(sub, { consumer, plan: p.plan, spec: p.spec, ...c });
    }
    return out;
  }

  async #flushPostgres(force: boolean): Promise<void> {
    this.#detectors?.evaluate(this.#now(), this.nodeId, (event, latch) => this.raise(event, latch));
    // Node events ride on the usage batch's success below; alone, they wait out the same backoff.
    if (force || this.#now() >= this.#retryAt.postgres) await this.#checkUnknownKeys();
    if (this.#pending === null && (force || this.#now() >= this.#retryAt.postgres)) await this.#flushEvents();
    if (this.#pending === null) {
      if (this.#acc.requests === 0) return;
      const cut = this.#acc.cut();
      this.#pending = { nodeId: this.nodeId, seq: ++this.#seq, rows: cut.rows, requests: cut.requests, oldestAt: cut.oldestAt, charges: this.#charges };
      this.#charges = new Map();
    }
    if (!force && this.#now() < this.#retryAt.postgres) return;
    const batch = this.#pending;
    try {
      const quotas = this.#chargedQuotas(batch.rows);
      let raised: OutboxEvent[] = [];
      const outcome = await writeBatch(this.#db, batch, async (tx) => {
        raised = await raiseQuotaEvents(tx, quotas);
      });
      if (raised.length > 0) this.#onEvents?.(raised);
      if (outcome === 'duplicate') this.#log.warn({ nodeId: batch.nodeId, seq: batch.seq }, 'usage batch was already committed by an earlier attempt; not counted again');
      this.#pending = null;
      this.#recovered('postgres');
      if (this.#now() - this.#prunedAt >= PRUNE_EVERY_MS) {
        this.#prunedAt = this.#now();
        await pruneBatches(this.#db, new Date(this.#now() - BATCH_RETENTION_MS)).catch((err: unknown) => this.#log.warn({ err }, 'pruning old usage batches failed'));
      }
      // Only what Postgres holds goes to the live counters, tagged with its batch so a seed and the
      // increment never both count it.
      if (this.#redis !== null) this.#live.addBatch(batch.seq, batch.rows, batch.charges);
      await this.#flushEvents();
    } catch (err) {
      // Outcome unknown (maybe committed): the same batch, same seq, is retried.
      this.#failed('postgres', err, { seq: batch.seq, requests: batch.requests, backlog: this.backlogRequests() });
    }
  }

  async #flushRedis(force: boolean): Promise<void> {
    const redis = this.#redis;
    if (redis === null) return;
    if (!force && this.#now() < this.#retryAt.redis) return;
    const all = Array.from({ length: USAGE_SHARDS }, (_, i) => i);
    // Shards are independent (on a cluster, on different primaries): one failing shard does not
    // keep the others from being applied.
    let failure: unknown = null;
    const applyAll = async (shards: number[]): Promise<number[]> => {
      const outcomes = await Promise.allSettled(shards.map((n) => this.#applyShard(redis, n)));
      const unseeded: number[] = [];
      outcomes.forEach((o, i) => {
        if (o.status === 'rejected') failure ??= o.reason;
        else if (o.value === 'unseeded') unseeded.push(shards[i] as number);
      });
      return unseeded;
    };
    try {
      let unseeded = await applyAll(all);
      if (unseeded.length > 0) {
        // Redis lost these shards' data (or never had it): seed them from Postgres (or find that
        // another node just did), then apply what is newer than the seed.
        await this.#seed(redis, unseeded);
        unseeded = await applyAll(unseeded);
        if (unseeded.length > 0) throw new Error(`live usage counters of ${unseeded.length} shard(s) are still not seeded`);
      }
      if (failure !== null) throw failure;
      this.#recovered('redis');
    } catch (err) {
      this.#failed('redis', err, { pendingBatches: this.#live.size });
    }
  }

  /**
   * Applies the live increments waiting for usage shard `n`, one Lua call per batch run, in one
   * pipeline (one hash slot, so one cluster node): each is skipped by Redis when the current seed
   * already holds it. Stops at the first run that finds the shard unseeded.
   */
  async #applyShard(redis: MeterRedis, n: number): Promise<'done' | 'unseeded'> {
    const queue = this.#live.shards[n];
    if (queue === undefined) return 'done';
    const entries = queue.entries();
    const { epoch: epochKey, seeded: seededKey } = shardKeys(this.#prefix, n);
    if (entries.length === 0) {
      // Nothing to add, but a shard that lost its data is noticed (and its quotas re-seeded) now.
      return (await redis.exists(epochKey)) === 1 ? 'done' : 'unseeded';
    }
    const pipeline = redis.pipeline();
    const t = this.#now();
    for (const e of entries) {
      const keys = [epochKey, seededKey, ...e.byKey.keys(), ...e.quota.keys()];
      const args: Array<string | number> = [this.nodeId, e.lo, e.hi, LIVE_TTL_MS, e.byKey.size];
      for (const fields of e.byKey.values()) {
        args.push(fields.size);
        for (const [field, v] of fields) args.push(field, v);
      }
      for (const q of e.quota.values()) {
        args.push(Math.max(1, Math.ceil(q.expiresAt - t)), q.byEpoch.size);
        for (const [epoch, units] of q.byEpoch) args.push(epoch, units);
      }
      (pipeline as unknown as MeterRedisCommands).tollgateApplyUsage(keys.length, ...keys, ...args);
    }
    const results = (await pipeline.exec()) ?? [];
    let done = 0;
    for (const [err, out] of results) {
      if (err) {
        queue.dropFirst(done);
        throw err;
      }
      if (Number(out) === -1) break;
      done += 1;
    }
    queue.dropFirst(done);
    return done === entries.length ? 'done' : 'unseeded';
  }

  /**
   * Seeds the live counters and the plan quota counters of the current periods of every
   * subscription of the serving config, in the given usage shards, from one Postgres snapshot:
   * one atomic script per shard, each skipped when another node already seeded that shard (see
   * SEED_LUA and docs/metering.md).
   */
  async #seed(redis: MeterRedis, shards: readonly number[]): Promise<void> {
    const t = this.#now();
    const periods = this.#quotaPeriods(t);
    const snapshot = await seedSnapshot(this.#db, new Date(t - 35 * DAY_MS), (tx) => this.#quotaUnits(tx, periods));
    const wanted = new Set(shards);
    const live = new Map<number, Map<string, Map<string, number>>>();
    for (const r of snapshot.live) {
      const shard = liveShard(r.consumer);
      if (!wanted.has(shard)) continue;
      let byKey = live.get(shard);
      if (byKey === undefined) live.set(shard, (byKey = new Map()));
      const key = liveKey(this.#prefix, r.consumer, r.period);
      let f = byKey.get(key);
      if (f === undefined) byKey.set(key, (f = new Map()));
      // Requests and billable requests are summed over metrics.
      f.set('requests', (f.get('requests') ?? 0) + r.requests);
      f.set('billable_requests', (f.get('billable_requests') ?? 0) + r.billableRequests);
      f.set(`units:${r.metric}`, r.units);
      f.set(`billable_units:${r.metric}`, r.billableUnits);
    }
    const quotas = snapshot.extra ?? new Map<string, { units: number; end: number; shard: number }>();
    const seedOne = async (shard: number): Promise<{ won: boolean; live: number; quota: number }> => {
      const sk = shardKeys(this.#prefix, shard);
      const byKey = live.get(shard) ?? new Map<string, Map<string, number>>();
      const shardQuotas = [...quotas].filter(([, q]) => q.shard === shard);
      const keys = [sk.epoch, sk.seeded, sk.hold, ...byKey.keys(), ...shardQuotas.map(([k]) => k)];
      const args: Array<string | number> = [`${this.nodeId}@${t}#${shard}`, LIVE_TTL_MS, this.#quotaHoldMs, snapshot.nodes.length];
      for (const n of snapshot.nodes) args.push(n.node, n.seq);
      args.push(byKey.size);
      for (const fields of byKey.values()) {
        // Zero fields are left out, as increments of 0 are.
        const nonZero = [...fields].filter(([, v]) => v !== 0);
        args.push(nonZero.length);
        for (const [field, v] of nonZero) args.push(field, v);
      }
      for (const [, q] of shardQuotas) args.push(q.units, Math.max(1, q.end - t));
      const won = (await redis.tollgateSeedUsage(keys.length, ...keys, ...args)) === 1;
      return { won, live: byKey.size, quota: shardQuotas.length };
    };
    const results = await Promise.all(shards.map(seedOne));
    const won = results.filter((r) => r.won);
    if (won.length > 0) this.#log.info({ shards: won.length, liveCounters: won.reduce((a, r) => a + r.live, 0), quotaCounters: won.reduce((a, r) => a + r.quota, 0) }, 're-seeded usage and quota counters in Redis from the Postgres rollups');
  }

  /** The current quota period of every subscription with a quota (serving config, and those seen in traffic). */
  #quotaPeriods(t: number): Map<string, { key: string; start: number; end: number; sameZone: boolean }> {
    const known = new Map(this.#plans);
    if (this.#subscriptions !== null) for (const [name, p] of this.#subscriptions()) known.set(name, p);
    const current = new Map<string, { key: string; start: number; end: number; sameZone: boolean }>();
    for (const [sub, p] of known) {
      if (p.spec.quota === undefined) continue;
      const tz = p.spec.quota.timeZone ?? 'UTC';
      let cache = this.#quotaPeriodCache.get(tz);
      if (cache === undefined) this.#quotaPeriodCache.set(tz, (cache = new PeriodCache(tz)));
      current.set(sub, { ...cache.periodAt(t), sameZone: periodTimeZone(p.spec) === tz });
    }
    return current;
  }

  /** Rolled-up quota units of those periods (Redis key → units, period end, usage shard), read inside the seed's snapshot. */
  async #quotaUnits(tx: Tx, current: Map<string, { key: string; start: number; end: number; sameZone: boolean }>): Promise<Map<string, { units: number; end: number; shard: number }>> {
    const out = new Map<string, { units: number; end: number; shard: number }>();
    if (current.size === 0) return out;
    const totals = await quotaTotals(tx, [...new Set([...current.values()].map((c) => c.key))]);
    const units = new Map<string, number>();
    for (const q of totals) if (current.get(q.subscription)?.key === q.period) units.set(q.subscription, q.units);
    for (const [sub, c] of current) {
      const n = c.sameZone ? (units.get(sub) ?? 0) : await quotaUnitsBetween(tx, sub, c.start - (c.start % 3_600_000), c.end);
      out.set(quotaKey(this.#prefix, sub, c.key), { units: n, end: c.end, shard: usageShardOf(`sub:${sub}`) });
    }
    return out;
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
