import { canonicalJson, canonicallyEqual } from '@tollgate/model';
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
 * The current state of what one compile read (see readStateOf): equal element by element (the
 * same texts, in the same order) exactly when reading again would read the same.
 */
export type ReadState = readonly (string | undefined)[];

/** Whether two read states are equal element by element. */
function sameState(a: ReadState, b: ReadState): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One compile's use of a {@link CompileCache}: begun by {@link CompileCache.begin}. */
export interface CompileCacheRun {
  /** Units this compile reused and compiled so far, and the Api texts it wrote (not reused). */
  readonly hits: number;
  readonly misses: number;
  readonly texts: number;
  /**
   * The unit compiled for `api` from `text` (its canonical text, usually the one {@link text}
   * returned: the same string, compared by reference) under `key` (the rest of its own inputs)
   * whose reads still read the
   * same (`readState` gives the current state of the names a compile read), or compiles it with
   * `build` and remembers it with what it read. So an Upstream change recompiles only the Apis
   * that name it (#16), and a stale unit is never served.
   */
  unit(api: string, text: string, key: string, readState: (reads: ApiReads) => ReadState, build: () => { unit: ApiUnit; reads: ApiReads }): ApiUnit;
  /**
   * `canonicalJson(resource)` of the Api named `api`: the text an earlier compile wrote when the
   * document it wrote it for is canonically equal to this one (compared without writing a text),
   * else written now and remembered. The reload after an apply meets, read back from the
   * database, the documents the apply's validation just compiled, and an apply of one route on
   * top of 10,000 Apis meets the 10,000 it compiled before: writing every text again allocated
   * about 165 MB per apply of 10,000 Apis (#16).
   */
  text(api: string, resource: object): string;
  /**
   * Ends the compile. The last of overlapping compiles to end forgets the units of Apis that none
   * of them looked up (deleted or renamed): one still running may yet look any unit up.
   */
  end(): void;
}

/**
 * What one Api compiled to last time, keyed by the Api's text and everything its compile reads
 * (the Upstreams and ProtoDescriptors it named, its lifecycle plan, its generated subscription
 * policy; see compile.ts).
 * A process that compiles again and again (a gateway on every change, the admin on every apply)
 * keeps one, so an apply of one route on top of 10,000 APIs compiles one Api, not 10,000 (#16).
 * One process that validates and serves (`tollgate start all`) shares one between its admin's
 * validator and its data plane: the reload after an apply then finds every Api the validation
 * compiled, instead of compiling them all again and keeping a second copy of every unit.
 *
 * A hit needs the text and the whole key to be equal, so a stale unit is never reused: at worst a key spelled
 * differently for the same content costs a recompile. Compiles may overlap (a validation while
 * the data plane reloads): what none of them looked up is forgotten once they have all ended.
 */
export class CompileCache {
  #units = new Map<string, { readonly text: string; readonly key: string; readonly reads: ApiReads; readonly state: ReadState; readonly unit: ApiUnit; seen: number }>();
  /** The document each Api's canonical text was written for (kept to compare the next one with) and the text. */
  #texts = new Map<string, { readonly source: object; readonly text: string; seen: number }>();
  /** Number of the newest compile begun: a unit looked up is stamped with it. */
  #generation = 0;
  /** Compiles begun and not ended. */
  #running = 0;
  /** Number of the first compile since none was running: units not looked up since are forgotten when none runs again. */
  #busySince = 0;
  /** Units reused and compiled by the last compile that ended (for tests and benchmarks). */
  hits = 0;
  misses = 0;
  /** Canonical texts of Apis the last compile that ended wrote (not reused). */
  texts = 0;

  /** Starts a compile (see {@link CompileCacheRun.end} for what is forgotten when). */
  begin(): CompileCacheRun {
    const generation = ++this.#generation;
    if (this.#running++ === 0) this.#busySince = generation;
    let ended = false;
    const run = {
      hits: 0,
      misses: 0,
      texts: 0,
      unit: (api: string, text: string, key: string, readState: (reads: ApiReads) => ReadState, build: () => { unit: ApiUnit; reads: ApiReads }): ApiUnit => {
        const hit = this.#units.get(api);
        if (hit !== undefined && hit.text === text && hit.key === key && sameState(readState(hit.reads), hit.state)) {
          hit.seen = this.#generation;
          run.hits++;
          return hit.unit;
        }
        run.misses++;
        const { unit, reads } = build();
        this.#units.set(api, { text, key, reads, state: readState(reads), unit, seen: this.#generation });
        return unit;
      },
      text: (api: string, resource: object): string => {
        const known = this.#texts.get(api);
        if (known !== undefined && (known.source === resource || canonicallyEqual(known.source, resource))) {
          known.seen = this.#generation;
          return known.text;
        }
        const text = canonicalJson(resource);
        run.texts++;
        this.#texts.set(api, { source: resource, text, seen: this.#generation });
        return text;
      },
      end: () => {
        if (ended) return;
        ended = true;
        this.hits = run.hits;
        this.misses = run.misses;
        this.texts = run.texts;
        if (--this.#running > 0) return;
        for (const [api, u] of this.#units) if (u.seen < this.#busySince) this.#units.delete(api);
        for (const [api, t] of this.#texts) if (t.seen < this.#busySince) this.#texts.delete(api);
      },
    };
    return run;
  }

  /** Number of Apis remembered. */
  get size(): number {
    return this.#units.size;
  }
}
