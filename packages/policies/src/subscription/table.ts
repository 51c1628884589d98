import type { PlanSpec } from '@tollgate/model';
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

/** A subscription ready for the hot path: times parsed, the context's record built, once per snapshot. */
export interface IndexedSubscription {
  /** Position in the order given (resource order): of several active ones, the first wins. */
  readonly seq: number;
  readonly name: string;
  readonly plan: string;
  readonly start: number;
  readonly end: number;
  /** What the request context carries for metering. */
  readonly info: ActiveSubscription;
}

/** One consumer's subscriptions by scope, each list in `seq` order; null when the scope has none. */
interface ConsumerSubscriptions {
  all: IndexedSubscription[] | null;
  byApi: Map<string, IndexedSubscription[]> | null;
  byProduct: Map<string, IndexedSubscription[]> | null;
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

/**
 * Every subscription of a config snapshot, indexed ONCE by consumer and scope (all APIs, one Api
 * version, one product), shared by the `subscription` policy of every route. A route's policy
 * holds a reference and its API's name and product; a request looks up its consumer (one map
 * read) and at most three short lists. Copying the subscriber table into every API's (and every
 * route's) policy cost O(APIs x subscribers) to compile and to hold (issue #16).
 *
 * Immutable once built (class instances are not deep-frozen by the compiler: nothing here is
 * exposed for writing).
 */
export class SubscriptionTable {
  readonly #byConsumer = new Map<string, ConsumerSubscriptions>();
  readonly #plans = new Map<string, PlanSpec>();
  readonly #apis = new Set<string>();
  readonly #products = new Set<string>();
  #anyAll = false;
  /** Number of subscriptions indexed. */
  readonly size: number;

  constructor(entries: Iterable<SubscriptionEntry>) {
    let seq = 0;
    for (const e of entries) {
      // One frozen record per subscription (not per route): the plan spec is shared by reference.
      const info: ActiveSubscription = Object.freeze({ name: e.name, plan: e.plan.name, planSpec: e.plan.spec });
      const s: IndexedSubscription = Object.freeze({ seq: seq++, name: e.name, plan: e.plan.name, start: Date.parse(e.start), end: e.end === undefined ? Infinity : Date.parse(e.end), info });
      if (!this.#plans.has(e.plan.name)) this.#plans.set(e.plan.name, e.plan.spec);
      let c = this.#byConsumer.get(e.consumer);
      if (c === undefined) this.#byConsumer.set(e.consumer, (c = { all: null, byApi: null, byProduct: null }));
      if (e.api !== undefined) {
        push((c.byApi ??= new Map()), e.api, s);
        this.#apis.add(e.api);
      } else if (e.product !== undefined) {
        push((c.byProduct ??= new Map()), e.product, s);
        this.#products.add(e.product);
      } else {
        (c.all ??= []).push(s);
        this.#anyAll = true;
      }
    }
    this.size = seq;
    Object.freeze(this);
  }

  /** True when some subscription applies to the Api version `api` of product `product`. */
  appliesTo(api: string, product: string): boolean {
    return this.#anyAll || this.#apis.has(api) || this.#products.has(product);
  }

  /** The plans the subscriptions name, by plan name (the spec of the first subscription naming it). */
  get plans(): ReadonlyMap<string, PlanSpec> {
    return this.#plans;
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

  /** Names of the subscriptions that apply to Api `api` of product `product`, in resource order (inspection, tests). */
  namesFor(api: string, product: string): string[] {
    const out: IndexedSubscription[] = [];
    for (const c of this.#byConsumer.values()) {
      out.push(...(c.all ?? []), ...(c.byApi?.get(api) ?? []), ...(c.byProduct?.get(product) ?? []));
    }
    return out.sort((a, b) => a.seq - b.seq).map((s) => s.name);
  }
}
