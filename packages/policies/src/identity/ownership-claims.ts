/** Marks an ambiguous entry (two owners claim it): it authenticates nobody. */
const AMBIGUOUS = Symbol('ambiguous');

/**
 * Values claimed under a key (a key hash, a custom id, an issuer+subject) by owners (a key id, a
 * consumer name). One owner's claim is served; two owners' claims make the key ambiguous until
 * one of them is removed. Lookups are one map read; the claimant lists exist only for clashes.
 */
export class Claims<V> {
  readonly #served = new Map<string, V | typeof AMBIGUOUS>();
  /** Every claimant of a key claimed by two or more owners. */
  readonly #clashes = new Map<string, V[]>();

  constructor(
    private readonly ownerOf: (v: V) => string,
    private readonly onClash: (key: string) => void,
  ) {}

  get(key: string): V | undefined {
    const v = this.#served.get(key);
    return v === AMBIGUOUS ? undefined : v;
  }

  /** Whether two or more owners claim `key` (so it serves nobody). */
  ambiguous(key: string): boolean {
    return this.#served.get(key) === AMBIGUOUS;
  }

  /** Adds (or, for the same owner, replaces) a claim. */
  add(key: string, value: V): void {
    const prev = this.#served.get(key);
    if (prev === undefined) {
      this.#served.set(key, value);
      return;
    }
    const owner = this.ownerOf(value);
    if (prev !== AMBIGUOUS && this.ownerOf(prev) === owner) {
      this.#served.set(key, value);
      return;
    }
    const claims = (this.#clashes.get(key) ?? [prev as V]).filter((c) => this.ownerOf(c) !== owner);
    claims.push(value);
    if (claims.length === 1) {
      this.#served.set(key, value);
      this.#clashes.delete(key);
      return;
    }
    this.#clashes.set(key, claims);
    this.#served.set(key, AMBIGUOUS);
    this.onClash(key);
  }

  /** Removes `owner`'s claim on `key`; a key left with one claimant serves it again. */
  remove(key: string, owner: string): void {
    const prev = this.#served.get(key);
    if (prev === undefined) return;
    if (prev !== AMBIGUOUS) {
      if (this.ownerOf(prev) === owner) this.#served.delete(key);
      return;
    }
    const left = (this.#clashes.get(key) ?? []).filter((c) => this.ownerOf(c) !== owner);
    if (left.length > 1) this.#clashes.set(key, left);
    else {
      this.#clashes.delete(key);
      if (left.length === 1) this.#served.set(key, left[0] as V);
      else this.#served.delete(key);
    }
  }
}
