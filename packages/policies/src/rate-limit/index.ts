import type { PolicyContext, PolicyDefinition, PolicyDeps, PolicyReply, PolicyResponse } from '../types.js';
import { MonthCalendar } from './calendar.js';
import { COUNTERS_UNSEEDED, ipBucket, type LimitCounters, type LimitWindow, type LocalReason } from './counters.js';
import { parseWindow } from '@tollgate/model';
import { rateLimitSchema, type RateLimitConfig } from './schema.js';
import { reseededCounters, usageEpochKey } from './usage-shards.js';
import { rateLimitDefinition, LIMIT_ERRORS } from './definition.js';
import { problemReply } from '../errors.js';

interface Outcome {
  allowed: boolean;
  counts: readonly number[];
  resetMs: readonly number[];
}

/** In-process counters used when no shared store is configured and as the fail-open fallback. */
let processFallback: LimitCounters | null = null;

function localCounters(): LimitCounters {
  if (processFallback !== null) return processFallback;
  const windows = new Map<string, { count: number; expiresAt: number }>();
  const sweep = setInterval(() => {
    const t = Date.now();
    for (const [k, w] of windows) if (w.expiresAt <= t) windows.delete(k);
  }, 1_000);
  sweep.unref();
  const live = (k: string, t: number) => {
    const w = windows.get(k);
    return w && w.expiresAt > t ? w : undefined;
  };
  processFallback = {
    async consume(tag, checks, cost) {
      const t = Date.now();
      const cur = checks.map((c) => live(`${tag}:${c.key}`, t));
      const allowed = checks.every((c, i) => c.limit < 0 || (cur[i]?.count ?? 0) + cost <= c.limit);
      const counts: number[] = [];
      const resetMs: number[] = [];
      checks.forEach((c, i) => {
        let w = cur[i];
        if (allowed) {
          if (!w) windows.set(`${tag}:${c.key}`, (w = { count: 0, expiresAt: t + c.ttlMs }));
          w.count += cost;
        }
        counts.push(w?.count ?? 0);
        resetMs.push(w ? w.expiresAt - t : c.ttlMs);
      });
      return { allowed, counts, resetMs };
    },
    async peek(tag, keys) {
      const t = Date.now();
      return keys.map((k) => live(`${tag}:${k}`, t)?.count ?? 0);
    },
  };
  return processFallback;
}

/** Most counter tags a rate-limit instance keeps made (see `tagOf` in {@link rateLimit}). */
const MAX_CACHED_TAGS = 10_000;

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/** Structured-field string (RFC 8941 §3.3.3): the policy names are plain tokens, quoted. */
const sfString = (s: string) => `"${s}"`;

/** What a limiter enforces: a rate-limit policy's config, or a subscription's plan. */
export interface LimiterSpec {
  readonly name: string;
  readonly limits: readonly { readonly limit: number; readonly window: string }[];
  readonly quota?: { readonly limit: number; readonly timeZone: string; readonly overage: 'hard' | 'allow' } | undefined;
  readonly cost: number;
  readonly failMode: 'open' | 'closed';
  /**
   * A plan quota the meter re-seeds after Redis lost its data (the subscription policy): counted
   * under the seed guard, charged on the request context, and decided per node from the last
   * count Redis reported (plus what this node granted since) while Redis cannot decide it.
   */
  readonly reseeded?: boolean;
}

/** Current usage of one bucket set, as the usage endpoints report it. */
export interface LimitUsage {
  readonly limits: readonly { window: string; limit: number; used: number; remaining: number; resetSeconds: number }[];
  readonly quota: { period: string; timeZone: string; overage: 'hard' | 'allow'; limit: number; used: number; remaining: number; resetSeconds: number } | null;
}

/**
 * Checks and counts one request against the buckets of `tag`: a reply (429/503) or undefined.
 * `usage` reads the same buckets without counting (one round trip).
 */
export type Limiter = ((ctx: PolicyContext, tag: string, cost?: number) => Promise<PolicyReply | undefined>) & { usage(tag: string): Promise<LimitUsage> };

/**
 * Builds a limiter (once per snapshot): fixed windows aligned to the epoch plus an optional
 * calendar-month quota, checked and counted in ONE atomic call to the shared counter store. The
 * headers of a passed request are applied by {@link applyLimitHeaders} in the response phase.
 */
export function createLimiter(config: LimiterSpec, deps: PolicyDeps): Limiter {
  const now = deps.now ?? Date.now;
  const shared = deps.counters ?? null;
  const fallback = deps.fallbackCounters ?? localCounters();
  // `index`/`key`: the counter name of the current window, rebuilt only when the window turns
  // (not per request).
  const windows = config.limits.map((l) => ({ limit: l.limit, limitText: String(l.limit), ms: parseWindow(l.window) as number, label: `${config.name}-${l.window}`, item: sfString(`${config.name}-${l.window}`), index: -1, key: '' }));
  const quota = config.quota ? { ...config.quota, limitText: String(config.quota.limit), calendar: new MonthCalendar(config.quota.timeZone) } : null;
  // The quoted names of the RateLimit field's items, made once.
  const quotaItem = sfString(`${config.name}-month`);
  // Static per instance (compiled at snapshot install, not per request).
  const policyField = [
    ...windows.map((w) => `${sfString(w.label)};q=${w.limit};w=${w.ms / 1000}`),
    ...(quota ? [`${sfString(`${config.name}-month`)};q=${quota.limit}`] : []),
  ].join(', ');
  /** Decisions taken without the shared store since it last answered (logged when it answers again). */
  let localSince = 0;
  let degraded = false;
  const events = deps.limitEvents;
  // A re-seeded quota: guarded calls; per subscription tag, the last count Redis reported minus
  // what the fallback store held for it then (the base of a per-node decision), for the current period.
  const tracked = quota !== null && config.reseeded === true;
  const guard = tracked ? deps.quotaGuard : undefined;
  const seen = new Map<string, number>();
  const touched = new Set<string>();
  let seenPeriod = '';

  const checksAt = (t: number): LimitWindow[] => {
    const list: LimitWindow[] = windows.map((w) => {
      const index = Math.floor(t / w.ms);
      if (index !== w.index) {
        w.index = index;
        w.key = `${w.ms}:${index}`;
      }
      return { key: w.key, limit: w.limit, ttlMs: (index + 1) * w.ms - t };
    });
    if (quota) {
      const p = quota.calendar.periodAt(t);
      list.push({ key: `q:${p.key}`, limit: quota.overage === 'hard' ? quota.limit : -1, ttlMs: Math.max(1, p.end - t) });
    }
    return list;
  };

  /**
   * Appends the fields of an outcome to `out` as name/value pairs. Per request: plain loops, one
   * string built in place, the limits' own texts made once (no closure, no item array, no object).
   */
  const pushFields = (o: Outcome, out: string[]): void => {
    let field = '';
    let tightest = -1;
    let tightestRemaining = Infinity;
    for (let i = 0; i < windows.length; i++) {
      const w = windows[i] as (typeof windows)[number];
      const remaining = Math.max(0, w.limit - (o.counts[i] ?? 0));
      field += `${i === 0 ? '' : ', '}${w.item};r=${remaining};t=${seconds(o.resetMs[i] ?? 0)}`;
      if (remaining < tightestRemaining) {
        tightestRemaining = remaining;
        tightest = i;
      }
    }
    if (quota) {
      const i = windows.length;
      const remaining = Math.max(0, quota.limit - (o.counts[i] ?? 0));
      const reset = String(seconds(o.resetMs[i] ?? 0));
      field += `${i === 0 ? '' : ', '}${quotaItem};r=${remaining};t=${reset}`;
      out.push('x-quota-limit', quota.limitText, 'x-quota-remaining', String(remaining), 'x-quota-reset', reset);
    }
    out.push('ratelimit-policy', policyField, 'ratelimit', field);
    if (tightest >= 0) {
      out.push('x-ratelimit-limit', (windows[tightest] as (typeof windows)[number]).limitText, 'x-ratelimit-remaining', String(tightestRemaining), 'x-ratelimit-reset', String(seconds(o.resetMs[tightest] ?? 0)));
    }
  };

  /** The fields of an outcome as a header object (a refusal's). */
  const headersOf = (o: Outcome): Record<string, string> => {
    const pairs: string[] = [];
    pushFields(o, pairs);
    const h: Record<string, string> = {};
    for (let i = 0; i < pairs.length; i += 2) h[pairs[i] as string] = pairs[i + 1] as string;
    return h;
  };

  const refusal = (o: Outcome, cost: number): PolicyReply => {
    const h = headersOf(o);
    // Retry-After (RFC 9110 §10.2.3): the latest reset among the windows that have no room.
    let wait = 0;
    let quotaHit = false;
    windows.forEach((w, i) => {
      if ((o.counts[i] ?? 0) + cost > w.limit) wait = Math.max(wait, o.resetMs[i] ?? 0);
    });
    if (quota && quota.overage === 'hard' && (o.counts[windows.length] ?? 0) + cost > quota.limit) {
      wait = Math.max(wait, o.resetMs[windows.length] ?? 0);
      quotaHit = true;
    }
    h['retry-after'] = String(Math.max(1, seconds(wait)));
    return quotaHit
      ? problemReply(LIMIT_ERRORS.QUOTA_EXCEEDED, `The monthly quota of ${quota?.limit} is used up; it resets at the start of the next month (${quota?.timeZone}).`, { headers: h })
      : problemReply(LIMIT_ERRORS.RATE_LIMITED, 'A rate limit was reached; retry after the number of seconds in Retry-After.', { headers: h });
  };

  const unavailable: PolicyReply = Object.freeze(problemReply(LIMIT_ERRORS.LIMITS_UNAVAILABLE, 'Limits cannot be checked right now; retry shortly.', { headers: Object.freeze({ 'retry-after': '1' }) }));

  /** Where the shared store keeps `tag`'s windows: a re-seeded quota's in its usage shard (see usage-shards.ts). */
  const sharedPlace = (tag: string, checks: readonly LimitWindow[]): { tag: string; checks: LimitWindow[] } => {
    if (!tracked) return { tag, checks: checks as LimitWindow[] };
    const place = reseededCounters(tag);
    return { tag: place.tag, checks: checks.map((c) => ({ key: place.keyPrefix + c.key, limit: c.limit, ttlMs: c.ttlMs })) };
  };

  const usage = async (tag: string): Promise<LimitUsage> => {
    const t = now();
    const checks = checksAt(t);
    const keys = checks.map((c) => c.key);
    let counts: number[];
    try {
      const place = sharedPlace(tag, checks);
      counts = shared === null ? await fallback.peek(tag, keys) : await shared.peek(place.tag, place.checks.map((c) => c.key));
    } catch {
      // Store unreachable: report what this node counted while failing open.
      counts = await fallback.peek(tag, keys);
    }
    const limits = windows.map((w, i) => ({ window: w.label.slice(config.name.length + 1), limit: w.limit, used: counts[i] ?? 0, remaining: Math.max(0, w.limit - (counts[i] ?? 0)), resetSeconds: seconds(checks[i]?.ttlMs ?? 0) }));
    if (!quota) return { limits, quota: null };
    const i = windows.length;
    const used = counts[i] ?? 0;
    return { limits, quota: { period: quota.calendar.periodAt(t).key, timeZone: quota.timeZone, overage: quota.overage, limit: quota.limit, used, remaining: Math.max(0, quota.limit - used), resetSeconds: seconds(checks[i]?.ttlMs ?? 0) } };
  };

  return Object.assign(check, { usage });

  /** `cost` overrides the spec's (a subscription charges the route's metering units). */
  function check(ctx: PolicyContext, tag: string, cost: number = config.cost): Promise<PolicyReply | undefined> {
    const t = now();
    const checks = checksAt(t);
    // The common case, a plain limit on the shared store: one `then` on the store's answer, no
    // async frame (issue #16: every promise layer is paid per request).
    if (shared !== null && !tracked) {
      let answer: ReturnType<LimitCounters['consume']>;
      try {
        answer = shared.consume(tag, checks, cost);
      } catch (err) {
        return withoutStore(ctx, tag, cost, t, checks, err);
      }
      return answer.then(
        (o) => {
          if (degraded) recovered();
          return decided(ctx, tag, cost, t, checks, o, null);
        },
        (err: unknown) => withoutStore(ctx, tag, cost, t, checks, err),
      );
    }
    return checkAsync(ctx, tag, cost, t, checks);
  }

  async function checkAsync(ctx: PolicyContext, tag: string, cost: number, t: number, checks: LimitWindow[]): Promise<PolicyReply | undefined> {
    const qi = windows.length;
    let epoch: string | null = null;
    if (tracked) {
      const period = (checks[qi] as LimitWindow).key;
      if (period !== seenPeriod) {
        seen.clear();
        touched.clear();
        seenPeriod = period;
      }
    }
    if (shared === null) return decided(ctx, tag, cost, t, checks, await fallback.consume(tag, checks, cost), null);
    let o: Outcome;
    try {
      const place = sharedPlace(tag, checks);
      // A re-seeded quota is guarded by its shard's seed marker, in the same hash slot.
      const r = await shared.consume(place.tag, place.checks, cost, guard !== undefined ? usageEpochKey(place.tag) : undefined);
      o = r;
      if (guard !== undefined) epoch = r.epoch ?? null;
      if (tracked) {
        const local = touched.has(tag) ? ((await fallback.peek(tag, [(checks[qi] as LimitWindow).key]))[0] ?? 0) : 0;
        seen.set(tag, (r.counts[qi] ?? 0) - local);
      }
      if (degraded) recovered();
    } catch (err) {
      return withoutStore(ctx, tag, cost, t, checks, err);
    }
    return decided(ctx, tag, cost, t, checks, o, epoch);
  }

  /** The shared store answers again after decisions taken without it. */
  function recovered(): void {
    degraded = false;
    deps.logger.warn({ policy: 'rate-limit', name: config.name, failMode: config.failMode, decidedLocally: localSince }, `counter store reachable again; limits are shared across nodes again (${localSince} requests were decided without it)`);
    localSince = 0;
  }

  /** The shared store could not decide: refused (fail closed) or decided by this node (fail open). */
  async function withoutStore(ctx: PolicyContext, tag: string, cost: number, t: number, checks: LimitWindow[], err: unknown): Promise<PolicyReply | undefined> {
    const code = (err as { code?: unknown } | null)?.code;
    const reason: LocalReason = code === COUNTERS_UNSEEDED ? 'unseeded' : code === 'COMMAND_TIMEOUT' ? 'timeout' : 'error';
    if (reason === 'unseeded') guard?.unseeded();
    localSince += 1;
    events?.local(config.failMode, reason);
    if (!degraded) {
      degraded = true;
      const what = reason === 'unseeded' ? 'quota counters not re-seeded yet after Redis lost its data' : 'counter store unreachable';
      deps.logger.error({ err, reason, policy: 'rate-limit', name: config.name, failMode: config.failMode }, `${what}; limiting per node (fail open) or refusing (fail closed)`);
    }
    if (config.failMode === 'closed') return unavailable;
    return decided(ctx, tag, cost, t, checks, await localConsume(tag, checks, cost), null);
  }

  /** A refusal, or undefined with the passed request's headers recorded (and its quota charge). */
  function decided(ctx: PolicyContext, tag: string, cost: number, t: number, checks: readonly LimitWindow[], o: Outcome, epoch: string | null): PolicyReply | undefined {
    if (!o.allowed) return refusal(o, cost);
    // Charged also without Redis (no guard, epoch null): the rollups' quota units then still say what
    // the plan quota counted, which quota alerts (quota.threshold events) read.
    if (tracked && quota !== null) {
      const q = checks[windows.length] as LimitWindow;
      const place = guard !== undefined ? reseededCounters(tag) : { tag, keyPrefix: '' };
      ctx.quotaCharge = { tag: place.tag, key: place.keyPrefix + q.key, units: cost, expiresAt: t + q.ttlMs, epoch };
    }
    // On the request's context (not a WeakMap by context): the runtime builds a separate instance
    // per phase, the access instance records, the response instance applies.
    const own: string[] = [];
    pushFields(o, own);
    const earlier = ctx.limitFields;
    if (earlier == null) ctx.limitFields = own;
    else {
      // A second limit policy passed the request too: its values replace the first's, one pair per name.
      for (let i = 0; i < own.length; i += 2) {
        let j = 0;
        while (j < earlier.length && earlier[j] !== own[i]) j += 2;
        if (j < earlier.length) earlier[j + 1] = own[i + 1] as string;
        else earlier.push(own[i] as string, own[i + 1] as string);
      }
    }
    return undefined;
  }

  /**
   * Fail open: the request decided by this node alone. A re-seeded quota is not counted from zero:
   * its window allows what is left after the last count Redis reported (see `seen`).
   */
  async function localConsume(tag: string, checks: LimitWindow[], cost: number): Promise<Outcome> {
    if (!tracked || quota === null) return fallback.consume(tag, checks, cost);
    const qi = windows.length;
    const base = seen.get(tag) ?? 0;
    const q = checks[qi] as LimitWindow;
    checks[qi] = { key: q.key, limit: quota.overage === 'hard' ? Math.max(0, quota.limit - base) : -1, ttlMs: q.ttlMs };
    touched.add(tag);
    const r = await fallback.consume(tag, checks, cost);
    const counts = [...r.counts];
    counts[qi] = (counts[qi] ?? 0) + base;
    return { allowed: r.allowed, counts, resetMs: r.resetMs };
  }
}

/** Response phase of limit policies: adds the headers recorded for a request that passed. */
export function applyLimitHeaders(ctx: PolicyContext, res: PolicyResponse): void {
  const f = ctx.limitFields;
  if (f == null) return;
  for (let i = 0; i < f.length; i += 2) res.headers[f[i] as string] = f[i + 1] as string;
}

/**
 * {@link applyLimitHeaders} for a flat head: the recorded fields as name/value pairs. Their values
 * are digits, commas, `;=` and the quoted names of policies and plans (`[a-z0-9.-]`), valid field values.
 */
export function pushLimitFields(ctx: PolicyContext, head: (string | string[])[]): void {
  const f = ctx.limitFields;
  if (f == null) return;
  for (let i = 0; i < f.length; i++) head.push(f[i] as string);
}

/**
 * `rate-limit`: route/API-level limits independent of plans, keyed by consumer, client IP (IPv6 by
 * /64), a header, or the route. Answers 429 `RATE_LIMITED` / `QUOTA_EXCEEDED` with `Retry-After`;
 * every limited response carries `RateLimit` / `RateLimit-Policy`
 * (draft-ietf-httpapi-ratelimit-headers-10), `X-RateLimit-*` and `X-Quota-*`.
 */
export const rateLimit: PolicyDefinition<typeof rateLimitSchema> = {
  ...rateLimitDefinition,
  build(config: RateLimitConfig, deps) {
    const check = createLimiter(config, deps);
    const subject = (ctx: PolicyContext): string => {
      switch (config.by) {
        case 'route':
          return `r:${ctx.route}`;
        case 'ip':
          return `ip:${ipBucket(ctx.clientIp)}`;
        case 'credential':
          return ctx.credential !== null ? ctx.credential : `ip:${ipBucket(ctx.clientIp)}`;
        case 'header': {
          const v = ctx.headers[config.header as string];
          const value = Array.isArray(v) ? v[0] : v;
          return value === undefined || value === '' ? `ip:${ipBucket(ctx.clientIp)}` : `h:${value.slice(0, 256)}`;
        }
        default:
          return ctx.consumer !== null ? `c:${ctx.consumer.name}` : `ip:${ipBucket(ctx.clientIp)}`;
      }
    };

    const prefix = `rl:${config.name}:`;
    // Tags by Api, then by the snapshot's own string of the subject (see `tagOf`).
    const tags = new Map<string, Map<string, string>>();
    let cached = 0;
    /**
     * The counter tag of a request, made once per consumer, credential or route (and Api) rather
     * than per request (issue #16): a tag concatenated per request is a new string that every Map
     * lookup downstream (the consume batcher's) must flatten and hash again. The cache is keyed by
     * strings that outlive the request (consumer and route names of the snapshot, credential ids of
     * the key-digest cache), so a lookup hashes nothing new; client IPs and header values, chosen
     * by the caller, are not cached. Bounded: emptied at {@link MAX_CACHED_TAGS}.
     */
    const tagOf = (ctx: PolicyContext): string => {
      let raw: string | null;
      switch (config.by) {
        case 'route':
          raw = ctx.route;
          break;
        case 'credential':
          raw = ctx.credential;
          break;
        case 'consumer':
          raw = ctx.consumer !== null ? ctx.consumer.name : null;
          break;
        default:
          raw = null;
      }
      if (raw === null) return `${prefix}${ctx.api}:${subject(ctx)}`;
      let byRaw = tags.get(ctx.api);
      if (byRaw === undefined) tags.set(ctx.api, (byRaw = new Map()));
      let tag = byRaw.get(raw);
      if (tag === undefined) {
        if (cached >= MAX_CACHED_TAGS) {
          tags.clear();
          tags.set(ctx.api, (byRaw = new Map()));
          cached = 0;
        }
        tag = `${prefix}${ctx.api}:${subject(ctx)}`;
        byRaw.set(raw, tag);
        cached += 1;
      }
      return tag;
    };

    return {
      access: (ctx) => check(ctx, tagOf(ctx)),
      response: applyLimitHeaders,
      responseFields: pushLimitFields,
    };
  },
};
