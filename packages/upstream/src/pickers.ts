import { hash32 } from './hash.js';
import type { TargetState } from './target-state.js';

/** A target as a picker sees it: a value, its weight (> 0) and its shared state. */
export interface PickEntry<T> {
  readonly value: T;
  readonly weight: number;
  readonly state: TargetState;
}

/** Chooses one available entry, or undefined when none is available. */
export interface Picker<T> {
  /** `key` is the consistent-hash key (ignored by other algorithms; undefined = no key). */
  pick(now: number, key: string | undefined): T | undefined;
}

/**
 * Smooth weighted round robin (nginx) over the entries available at pick time: an unavailable
 * entry neither scores nor counts in the total, so the others share its traffic by weight.
 */
export class RoundRobinPicker<T> implements Picker<T> {
  readonly #entries: readonly PickEntry<T>[];
  readonly #current: number[];

  constructor(entries: readonly PickEntry<T>[]) {
    this.#entries = entries;
    this.#current = entries.map(() => 0);
  }

  pick(now: number): T | undefined {
    const entries = this.#entries;
    const current = this.#current;
    let best = -1;
    let bestScore = -Infinity;
    let total = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as PickEntry<T>;
      if (!e.state.available(now)) continue;
      total += e.weight;
      const score = (current[i] as number) + e.weight;
      current[i] = score;
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    if (best === -1) return undefined;
    current[best] = bestScore - total;
    return (entries[best] as PickEntry<T>).value;
  }
}

/** Weighted random choice among available entries. */
export class RandomPicker<T> implements Picker<T> {
  constructor(
    readonly entries: readonly PickEntry<T>[],
    private readonly random: () => number = Math.random,
  ) {}

  pick(now: number): T | undefined {
    let total = 0;
    for (const e of this.entries) if (e.state.available(now)) total += e.weight;
    if (total === 0) return undefined;
    let r = this.random() * total;
    let last: PickEntry<T> | undefined;
    for (const e of this.entries) {
      if (!e.state.available(now)) continue;
      last = e;
      r -= e.weight;
      if (r < 0) return e.value;
    }
    return last?.value;
  }
}

/**
 * Least requests by "power of two choices" (Envoy's LEAST_REQUEST): two distinct random available
 * entries, the one with fewer in-flight requests per unit of weight wins. With two targets this
 * always compares both.
 */
export class LeastRequestsPicker<T> implements Picker<T> {
  readonly #scratch: PickEntry<T>[] = [];

  constructor(
    readonly entries: readonly PickEntry<T>[],
    private readonly random: () => number = Math.random,
  ) {}

  pick(now: number): T | undefined {
    const live = this.#scratch;
    live.length = 0;
    for (const e of this.entries) if (e.state.available(now)) live.push(e);
    const n = live.length;
    if (n === 0) return undefined;
    if (n === 1) return (live[0] as PickEntry<T>).value;
    const i = Math.floor(this.random() * n);
    let j = Math.floor(this.random() * (n - 1));
    if (j >= i) j++;
    const a = live[i] as PickEntry<T>;
    const b = live[j] as PickEntry<T>;
    const sa = (a.state.inflight + 1) / a.weight;
    const sb = (b.state.inflight + 1) / b.weight;
    return (sb < sa ? b : a).value;
  }
}

/** Ring points per unit of weight: the default weight 100 gives 160 points, as ketama does. */
export const RING_POINTS_PER_WEIGHT = 1.6;

/**
 * Consistent hashing on a ring (ketama / Envoy RING_HASH). Each entry owns
 * `max(1, round(weight × 1.6))` points hashed from its origin, independent of the other entries,
 * so adding or removing a target only moves the keys that land on that target's points: every
 * other key keeps its target (the minimal remapping bound, tested). A key whose target is
 * unavailable walks clockwise to the next available one; it returns when the target does.
 * Requests without a key fall back to round robin.
 */
export class RingHashPicker<T> implements Picker<T> {
  readonly #hashes: Uint32Array;
  readonly #owners: Uint32Array;
  readonly #entries: readonly PickEntry<T>[];
  readonly #fallback: RoundRobinPicker<T>;

  constructor(entries: readonly PickEntry<T>[], id: (value: T) => string) {
    this.#entries = entries;
    this.#fallback = new RoundRobinPicker(entries);
    const points: Array<[number, number]> = [];
    entries.forEach((e, owner) => {
      const n = Math.max(1, Math.round(e.weight * RING_POINTS_PER_WEIGHT));
      const name = id(e.value);
      for (let k = 0; k < n; k++) points.push([hash32(`${name}#${k}`), owner]);
    });
    // Ties broken by owner index so the ring does not depend on insertion order of equal hashes.
    points.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    this.#hashes = Uint32Array.from(points, (p) => p[0]);
    this.#owners = Uint32Array.from(points, (p) => p[1]);
  }

  pick(now: number, key: string | undefined): T | undefined {
    if (key === undefined) return this.#fallback.pick(now);
    const hashes = this.#hashes;
    const n = hashes.length;
    if (n === 0) return undefined;
    const h = hash32(key);
    // First point with hash >= h (binary search), wrapping to 0.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((hashes[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    for (let step = 0; step < n; step++) {
      const e = this.#entries[this.#owners[(lo + step) % n] as number] as PickEntry<T>;
      if (e.state.available(now)) return e.value;
    }
    return undefined;
  }
}
