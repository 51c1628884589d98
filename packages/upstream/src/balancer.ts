/** A target offered to the balancer with its relative weight. */
export interface Weighted<T> {
  readonly value: T;
  readonly weight: number;
}

/**
 * Smooth weighted round robin (nginx `ngx_http_upstream_get_peer`): each pick adds every
 * target's weight to its running score, takes the highest score and subtracts the total from
 * it. Over any window of `sum(weights)` picks each target is chosen exactly `weight` times, and
 * picks of a heavy target are spread out rather than bunched (5,1,1 gives a a b a c a a).
 * Targets with weight 0 are out of rotation.
 */
export class SmoothWeightedRoundRobin<T> {
  readonly #values: T[];
  readonly #weights: number[];
  readonly #current: number[];
  readonly #total: number;

  /** Throws when no target has a weight above 0 (the model refuses such upstreams). */
  constructor(targets: readonly Weighted<T>[]) {
    const live = targets.filter((t) => t.weight > 0);
    if (live.length === 0) throw new Error('no target with a weight above 0');
    this.#values = live.map((t) => t.value);
    this.#weights = live.map((t) => t.weight);
    this.#current = live.map(() => 0);
    this.#total = this.#weights.reduce((a, b) => a + b, 0);
  }

  /** Number of targets in rotation. */
  get size(): number {
    return this.#values.length;
  }

  /** The next target. */
  pick(): T {
    const values = this.#values;
    if (values.length === 1) return values[0] as T;
    const weights = this.#weights;
    const current = this.#current;
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const score = (current[i] as number) + (weights[i] as number);
      current[i] = score;
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    current[best] = bestScore - this.#total;
    return values[best] as T;
  }
}
