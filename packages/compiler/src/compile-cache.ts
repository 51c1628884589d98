import type { ApiUnit } from './compile-api.js';

/**
 * The Upstreams and ProtoDescriptors one Api's compile read, by name (a name read but absent
 * counts too: creating it must recompile the Api); `'all'` when it enumerated them.
 */
export interface ApiReads {
  readonly upstreams: ReadonlySet<string> | 'all';
  readonly protos: ReadonlySet<string> | 'all';
}

/**
 * What one Api compiled to last time, keyed by the Api's text and everything its compile reads
 * (the Upstreams and ProtoDescriptors it named, its lifecycle plan, its generated subscription
 * policy; see compile.ts).
 * A process that compiles again and again (a gateway on every change, the admin on every apply)
 * keeps one, so an apply of one route on top of 10,000 APIs compiles one Api, not 10,000 (#16).
 *
 * A hit needs the whole key to be equal, so a stale unit is never reused: at worst a key spelled
 * differently for the same content costs a recompile.
 */
export class CompileCache {
  #units = new Map<string, { readonly key: string; readonly reads: ApiReads; readonly readKey: string; readonly unit: ApiUnit }>();
  #seen = new Set<string>();
  /** Units reused and compiled by the last compile (for tests and benchmarks). */
  hits = 0;
  misses = 0;

  /** Starts a compile: counters reset; Apis not looked up until {@link end} are forgotten then. */
  begin(): void {
    this.hits = 0;
    this.misses = 0;
    this.#seen = new Set();
  }

  /**
   * The unit compiled for `api` under `key` (the Api's own inputs) whose reads still read the
   * same (`readKey` renders the current state of the names a compile read), or compiles it with
   * `build` and remembers it with what it read. So an Upstream change recompiles only the Apis
   * that name it (#16), and a stale unit is never served.
   */
  unit(api: string, key: string, readKey: (reads: ApiReads) => string, build: () => { unit: ApiUnit; reads: ApiReads }): ApiUnit {
    this.#seen.add(api);
    const hit = this.#units.get(api);
    if (hit !== undefined && hit.key === key && readKey(hit.reads) === hit.readKey) {
      this.hits++;
      return hit.unit;
    }
    this.misses++;
    const { unit, reads } = build();
    this.#units.set(api, { key, reads, readKey: readKey(reads), unit });
    return unit;
  }

  /** Ends a compile: drops the units of Apis that are gone (deleted or renamed). */
  end(): void {
    for (const api of this.#units.keys()) if (!this.#seen.has(api)) this.#units.delete(api);
  }

  /** Number of Apis remembered. */
  get size(): number {
    return this.#units.size;
  }
}
