import type { PlanSpec, SubscriptionResource } from '@tollgate/model';
import type { ActiveSubscription } from '../types.js';

/** One subscription as the compiler hands it over (a validated Subscription with its plan). */
export interface SubscriptionEntry {
  readonly name: string;
  readonly consumer: string;
  /** RFC 3339 times (validated by the model); `end` is exclusive, absent for open-ended. */
  readonly start: string;
  readonly end?: string | undefined;
  readonly plan: { readonly name: string; readonly spec: PlanSpec };
  /** The one Api version subscribed to; with neither `api` nor `product`, every API. */
  readonly api?: string | undefined;
  readonly product?: string | undefined;
}

/** A subscription ready for the hot path: times parsed, the context's record built, once per change. */
export interface IndexedSubscription {
  /** Rank among its consumer's subscriptions (resource order): of several active ones, the lowest wins. */
  readonly seq: number;
  readonly name: string;
  readonly plan: string;
  readonly start: number;
  readonly end: number;
  /** What the request context carries for metering. */
  readonly info: ActiveSubscription;
}

/** A Subscription changed on the change feed, in its current state (`null`: deleted). */
export interface SubscriptionDelta {
  readonly name: string;
  readonly resource: SubscriptionResource | null;
}

/** One consumer's subscriptions by scope, each list in `seq` order; null when the scope has none. */
interface ConsumerSubscriptions {
  all: IndexedSubscription[] | null;
  byApi: Map<string, IndexedSubscription[]> | null;
  byProduct: Map<string, IndexedSubscription[]> | null;
  /** The entries behind the lists, in `seq` order (to rebuild them after a change). */
  entries: SubscriptionEntry[];
}

/** The first subscription of `list` active at `t` (lists are short: one consumer, one scope). */
function firstActive(list: readonly IndexedSubscription[] | null | undefined, t: number): IndexedSubscription | undefined {
  if (list == null) return undefined;
  for (let i = 0; i < list.length; i++) {
    const s = list[i] as IndexedSubscription;
    if (s.start <= t && t < s.end) return s;
  }
  return undefined;
}

function push<K>(map: Map<K, IndexedSubscription[]>, key: K, s: IndexedSubscription): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [s]);
  else list.push(s);
}

/** The scope lists of one consumer's entries, ranked in the order given. */
function indexConsumer(entries: SubscriptionEntry[]): ConsumerSubscriptions {
  const c: ConsumerSubscriptions = { all: null, byApi: null, byProduct: null, entries };
  entries.forEach((e, seq) => {
    // One frozen record per subscription (not per route): the plan spec is shared by reference.
    const info: ActiveSubscription = Object.freeze({ name: e.name, plan: e.plan.name, planSpec: e.plan.spec });
    const s: IndexedSubscription = Object.freeze({ seq, name: e.name, plan: e.plan.name, start: Date.parse(e.start), end: e.end === undefined ? Infinity : Date.parse(e.end), info });
    if (e.api !== undefined) push((c.byApi ??= new Map()), e.api, s);
    else if (e.product !== undefined) push((c.byProduct ??= new Map()), e.product, s);
    else (c.all ??= []).push(s);
  });
  return c;
}

const byName = (a: SubscriptionEntry, b: SubscriptionEntry) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Every subscription of a config snapshot, indexed by consumer and scope (all APIs, one Api
 * version, one product), shared by the `subscription` policy of every route. A route's policy
 * reads the serving table and holds its API's name and product; a request looks up its consumer
 * (one map read) and at most three short lists. Copying the subscriber table into every API's
 * (and every route's) policy cost O(APIs x subscribers) to compile and to hold (issue #16).
 *
 * Built by the compiler in resource order (by name), then changed IN PLACE from the change feed
 * ({@link applySubscriptions}): a Subscription created, changed or deleted costs its consumer's
 * lists, not a snapshot. Every change is synchronous, so a request sees a consumer's lists
 * before or after it, never half-changed.
 */
export class SubscriptionTable {
  /** A table with no subscriptions and no plans (never changed in place). */
  static readonly EMPTY = new SubscriptionTable([]);

  readonly #byConsumer = new Map<string, ConsumerSubscriptions>();
  /** Every plan of the snapshot (a subscription created later resolves its plan here). */
  readonly #plans = new Map<string, PlanSpec>();
  /** Each subscription's consumer and plan, by subscription name (the meter re-seeds quotas from it). */
  readonly #byName = new Map<string, { readonly consumer: string; readonly plan: string; readonly spec: PlanSpec }>();

  /**
   * @param entries the subscriptions, in resource order (of a consumer's active ones, the first wins).
   * @param plans every plan of the snapshot, validated; plans of `entries` are added to it.
   */
  constructor(entries: Iterable<SubscriptionEntry>, plans: ReadonlyMap<string, PlanSpec> = new Map()) {
    for (const [name, spec] of plans) this.#plans.set(name, spec);
    const grouped = new Map<string, SubscriptionEntry[]>();
    for (const e of entries) {
      if (!this.#plans.has(e.plan.name)) this.#plans.set(e.plan.name, e.plan.spec);
      this.#byName.set(e.name, { consumer: e.consumer, plan: e.plan.name, spec: e.plan.spec });
      const list = grouped.get(e.consumer);
      if (list === undefined) grouped.set(e.consumer, [e]);
      else list.push(e);
    }
    for (const [consumer, list] of grouped) this.#byConsumer.set(consumer, indexConsumer(list));
  }

  /** Number of subscriptions indexed. */
  get size(): number {
    return this.#byName.size;
  }

  /** The plans subscriptions may name, by plan name. */
  get plans(): ReadonlyMap<string, PlanSpec> {
    return this.#plans;
  }

  /** Consumer and plan of every subscription, by subscription name (live: changes in place). */
  get subscriptions(): ReadonlyMap<string, { readonly consumer: string; readonly plan: string; readonly spec: PlanSpec }> {
    return this.#byName;
  }

  /**
   * Applies change-feed deltas in place: a Subscription is added or replaced (its consumer's
   * lists rebuilt in name order, the compiler's resource order), a deleted one removed. A
   * subscription whose plan this table does not know (the Plan came with a config version not
   * installed yet) is left out and named in `unresolved`: the snapshot that brings the plan has
   * it. Returns how many deltas were applied.
   */
  applySubscriptions(deltas: Iterable<SubscriptionDelta>): { applied: number; unresolved: string[] } {
    if (this === SubscriptionTable.EMPTY) throw new Error('the empty subscription table is shared and never changed');
    const touched = new Set<string>();
    const unresolved: string[] = [];
    let applied = 0;
    for (const d of deltas) {
      applied += 1;
      const before = this.#byName.get(d.name);
      if (before !== undefined) {
        const c = this.#byConsumer.get(before.consumer);
        if (c !== undefined) c.entries = c.entries.filter((e) => e.name !== d.name);
        this.#byName.delete(d.name);
        touched.add(before.consumer);
      }
      const r = d.resource;
      if (r === null) continue;
      const spec = this.#plans.get(r.spec.plan);
      if (spec === undefined) {
        unresolved.push(d.name);
        continue;
      }
      const entry: SubscriptionEntry = { name: d.name, consumer: r.spec.consumer, start: r.spec.start, end: r.spec.end, plan: { name: r.spec.plan, spec }, api: r.spec.api, product: r.spec.product };
      let c = this.#byConsumer.get(entry.consumer);
      if (c === undefined) this.#byConsumer.set(entry.consumer, (c = indexConsumer([])));
      c.entries.push(entry);
      this.#byName.set(d.name, { consumer: entry.consumer, plan: entry.plan.name, spec });
      touched.add(entry.consumer);
    }
    for (const consumer of touched) {
      const entries = this.#byConsumer.get(consumer)?.entries ?? [];
      // A new object per consumer, assigned in one statement: a lookup sees the old lists or the new.
      if (entries.length === 0) this.#byConsumer.delete(consumer);
      else this.#byConsumer.set(consumer, indexConsumer([...entries].sort(byName)));
    }
    return { applied, unresolved };
  }

  /**
   * The subscription of `consumer` for Api `api` (of product `product`) active at `t`: of several,
   * the first in resource order, whatever their scopes (the first active of each scope's list,
   * then the lowest `seq`). Undefined when none is active.
   */
  active(consumer: string, api: string, product: string, t: number): IndexedSubscription | undefined {
    const c = this.#byConsumer.get(consumer);
    if (c === undefined) return undefined;
    let best = firstActive(c.all, t);
    if (c.byApi !== null) {
      const s = firstActive(c.byApi.get(api), t);
      if (s !== undefined && (best === undefined || s.seq < best.seq)) best = s;
    }
    if (c.byProduct !== null) {
      const s = firstActive(c.byProduct.get(product), t);
      if (s !== undefined && (best === undefined || s.seq < best.seq)) best = s;
    }
    return best;
  }

  /** Names of the subscriptions that apply to Api `api` of product `product`, by consumer, each in resource order (inspection, tests). */
  namesFor(api: string, product: string): string[] {
    const out: string[] = [];
    for (const c of this.#byConsumer.values()) {
      const mine = [...(c.all ?? []), ...(c.byApi?.get(api) ?? []), ...(c.byProduct?.get(product) ?? [])];
      for (const s of mine.sort((a, b) => a.seq - b.seq)) out.push(s.name);
    }
    return out;
  }
}
