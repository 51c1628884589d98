import type { IncomingHttpHeaders } from 'node:http';
import { LeastRequestsPicker, RandomPicker, RingHashPicker, RoundRobinPicker, type PickEntry, type Picker } from './pickers.js';
import type { TargetState } from './target-state.js';

/** Load-balancing algorithms of an upstream. */
export type LoadBalancingAlgorithm = 'round-robin' | 'least-requests' | 'random' | 'consistent-hash';

/** What the consistent hash is computed from. */
export type HashOn = { readonly kind: 'header' | 'cookie' | 'query'; readonly name: string } | { readonly kind: 'clientIp' };

/** Passive health checking (outlier ejection) settings. */
export interface OutlierSettings {
  readonly consecutiveErrors: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
}

/** The parts of a request a target choice may depend on. */
export interface PickRequest {
  readonly headers: IncomingHttpHeaders;
  readonly clientIp: string;
  /** Raw query string without `?`, or null. */
  readonly query: string | null;
}

/** A target value the runtime balances: anything carrying its shared state. */
export interface StatefulTarget {
  readonly origin: string;
  readonly state: TargetState;
}

/** Settings of one upstream's runtime. */
export interface UpstreamRuntimeSettings {
  readonly name: string;
  readonly algorithm: LoadBalancingAlgorithm;
  readonly hashOn: HashOn | null;
  /** Target indices of each named subset. */
  readonly subsets: Readonly<Record<string, readonly number[]>>;
  readonly outlier: OutlierSettings | null;
  /** Connections + pending requests allowed per target; more is refused as overloaded. */
  readonly maxInflightPerTarget: number;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function hashKey(on: HashOn | null, req: PickRequest): string | undefined {
  if (on === null) return undefined;
  switch (on.kind) {
    case 'clientIp':
      return req.clientIp === '' ? undefined : req.clientIp;
    case 'header': {
      const v = req.headers[on.name];
      return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : v;
    }
    case 'cookie':
      return cookieValue(req.headers.cookie, on.name);
    case 'query':
      return req.query === null ? undefined : (new URLSearchParams(req.query).get(on.name) ?? undefined);
  }
}

/**
 * One upstream as the hot path uses it: a picker per subset (and one over all targets) sharing
 * the targets' {@link TargetState}, admission against the circuit-breaker limit, and passive
 * health (outlier ejection) from reported outcomes. Built once per snapshot.
 */
export class UpstreamRuntime<T extends StatefulTarget> {
  readonly name: string;
  readonly #all: Picker<T>;
  readonly #subsets = new Map<string, Picker<T>>();
  readonly #targets: readonly T[];
  readonly #hashOn: HashOn | null;
  readonly #outlier: OutlierSettings | null;
  readonly #maxInflight: number;

  constructor(settings: UpstreamRuntimeSettings, targets: readonly { value: T; weight: number }[]) {
    this.name = settings.name;
    this.#targets = targets.map((t) => t.value);
    this.#hashOn = settings.hashOn;
    this.#outlier = settings.outlier;
    this.#maxInflight = settings.maxInflightPerTarget;
    const make = (indices: readonly number[]): Picker<T> => {
      const entries: PickEntry<T>[] = [];
      for (const i of indices) {
        const t = targets[i];
        if (t !== undefined && t.weight > 0) entries.push({ value: t.value, weight: t.weight, state: t.value.state });
      }
      if (entries.length === 0) throw new Error(`upstream ${settings.name}: a target set has no target with a weight above 0`);
      switch (settings.algorithm) {
        case 'round-robin':
          return new RoundRobinPicker(entries);
        case 'random':
          return new RandomPicker(entries);
        case 'least-requests':
          return new LeastRequestsPicker(entries);
        case 'consistent-hash':
          return new RingHashPicker(entries, (v) => v.origin);
      }
    };
    this.#all = make(targets.map((_, i) => i));
    for (const [name, indices] of Object.entries(settings.subsets)) this.#subsets.set(name, make(indices));
  }

  /** Every target of the upstream, in declared order. */
  get targets(): readonly T[] {
    return this.#targets;
  }

  /** Requests in flight a target may have before it refuses more (the circuit breaker's limit). */
  get maxInflightPerTarget(): number {
    return this.#maxInflight;
  }

  /** Names of the subsets. */
  get subsetNames(): string[] {
    return [...this.#subsets.keys()];
  }

  /**
   * Chooses a target for a request among the available (healthy, not ejected) targets of the
   * subset (null = all targets). Returns undefined when none is available. Throws for an unknown
   * subset (the compiler refuses those, so it is a bug).
   */
  pick(subset: string | null, req: PickRequest, now = Date.now()): T | undefined {
    const picker = subset === null ? this.#all : this.#subsets.get(subset);
    if (picker === undefined) throw new Error(`upstream ${this.name} has no subset ${subset}`);
    return picker.pick(now, hashKey(this.#hashOn, req));
  }

  /**
   * Admits a request to `target` (counts it in flight) unless the target already has its
   * connections busy and its pending queue full (circuit breaking). Every admitted request must
   * be finished with {@link end}.
   */
  begin(target: T): boolean {
    const s = target.state;
    if (s.inflight >= this.#maxInflight) return false;
    s.inflight++;
    return true;
  }

  /** The request admitted by {@link begin} is over (its response body finished or failed). */
  end(target: T): void {
    if (target.state.inflight > 0) target.state.inflight--;
  }

  /**
   * Reports an outcome for passive health: `failed` = a 5xx response or a connection failure.
   * After `consecutiveErrors` failures in a row the target is ejected for
   * `min(n × baseEjectionMs, maxEjectionMs)` (n = how many times it was ejected, lowered by one for
   * every base ejection time it went without one), unless `maxEjectionPercent` of the targets
   * already are.
   */
  observe(target: T, failed: boolean, now = Date.now()): boolean {
    const o = this.#outlier;
    if (o === null) return false;
    const s = target.state;
    if (!failed) {
      s.consecutiveErrors = 0;
      return false;
    }
    s.consecutiveErrors++;
    if (s.consecutiveErrors < o.consecutiveErrors || s.ejected(now)) return false;
    let ejectedNow = 0;
    for (const t of this.#targets) if (t.state.ejected(now)) ejectedNow++;
    if ((ejectedNow / this.#targets.length) * 100 >= o.maxEjectionPercent) return false;
    const quietFor = s.ejectedUntil === 0 ? 0 : now - s.ejectedUntil;
    s.ejections = Math.max(0, s.ejections - Math.floor(quietFor / o.baseEjectionMs)) + 1;
    s.ejectedUntil = now + Math.min(o.baseEjectionMs * s.ejections, o.maxEjectionMs);
    s.consecutiveErrors = 0;
    return true;
  }
}
