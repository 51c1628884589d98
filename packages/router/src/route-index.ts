/**
 * The path index of one host tier of the route table (#16): given a request path, it yields the
 * tier positions of every entry whose path rule *can* match (a superset of those that do, usually
 * a handful), in ascending tier order. The route table then runs its usual precedence loop over
 * just those positions, so the answer is the one a scan of the whole tier gives: an entry left
 * out could not have matched its path, and the scan skips such an entry anyway.
 *
 * Per path view (an API's `pathMatching` decides which spelling of the path its entries match) a
 * trie on `/`-separated segments holds each entry under a key that must be a prefix of the path
 * ending on a segment boundary (or the whole path, for exact rules):
 * - exact: the path itself (collected only where the walk ends on the last segment);
 * - prefix: the prefix without trailing slash (`prefixMatches` needs exactly that boundary);
 * - template: base + the template's literal segments before its first `{capture}` (a template
 *   match implies the path starts with them followed by `/`);
 * - regex: its base (`below` needs that boundary); a regex with no base is always a candidate.
 * Entries that fit no key (a template starting with a capture) are always candidates.
 */

/** What the index needs of an entry (the route table's candidate). */
export interface Indexable {
  /** The path view the entry is matched against. */
  readonly view: number;
  /** The trie key, or null for an entry that is always a candidate. */
  readonly indexKey: string | null;
  /** Whether the key must equal the whole path (exact rules) rather than be a prefix of it. */
  readonly indexWhole: boolean;
}

class TrieNode {
  readonly children = new Map<string, TrieNode>();
  /** Positions of entries whose key ends here and may match any path below (prefix, template, regex). */
  along: number[] | null = null;
  /** Positions of exact entries whose path is this node's key. */
  whole: number[] | null = null;
}

interface ViewTrie {
  readonly view: number;
  readonly root: TrieNode;
}

/** Receives candidate positions; `view(v)` gives the request path under view `v`. */
export interface CandidateSink {
  view(v: number): string;
}

/**
 * Reusable buffer for candidate positions. A lookup is synchronous and never re-entered (matching
 * runs no user code), so one module-level buffer serves every table without per-request arrays.
 */
let buffer = new Int32Array(64);

/** The buffer the last {@link PathIndex.collect} filled. */
export function collected(): Int32Array {
  return buffer;
}

interface IndexParts {
  readonly tries: readonly ViewTrie[];
  readonly always: readonly number[];
}

/** Parts built by {@link PathIndex.steps}, handed to the constructor (set and used synchronously). */
let prebuilt: IndexParts | null = null;

function drain<R>(steps: Generator<void, R>): R {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

export class PathIndex {
  readonly #tries: readonly ViewTrie[];
  readonly #always: readonly number[];

  constructor(entries: readonly Indexable[]) {
    const built = prebuilt;
    prebuilt = null;
    const parts = built ?? drain(PathIndex.#partsSteps(entries));
    this.#tries = parts.tries;
    this.#always = parts.always;
    if (buffer.length < entries.length) buffer = new Int32Array(Math.max(entries.length, buffer.length * 2));
  }

  /** Builds the same index as the constructor in steps of a few hundred entries (a sliced build, #16). */
  static *steps(entries: readonly Indexable[]): Generator<void, PathIndex> {
    prebuilt = yield* PathIndex.#partsSteps(entries);
    return new PathIndex(entries);
  }

  static *#partsSteps(entries: readonly Indexable[]): Generator<void, IndexParts> {
    const tries = new Map<number, TrieNode>();
    const always: number[] = [];
    for (let pos = 0; pos < entries.length; pos++) {
      if ((pos & 255) === 255) yield;
      const e = entries[pos] as Indexable;
      if (e.indexKey === null) {
        always.push(pos);
        continue;
      }
      let root = tries.get(e.view);
      if (root === undefined) tries.set(e.view, (root = new TrieNode()));
      let node = root;
      for (const seg of e.indexKey.split('/')) {
        let next = node.children.get(seg);
        if (next === undefined) node.children.set(seg, (next = new TrieNode()));
        node = next;
      }
      if (e.indexWhole) (node.whole ??= []).push(pos);
      else (node.along ??= []).push(pos);
    }
    return { tries: [...tries].map(([view, root]) => ({ view, root })), always };
  }

  /**
   * Collects the positions of the entries that may match into the shared buffer
   * ({@link collected}), sorted ascending; returns their count. Valid until the next call on any index.
   */
  collect(sink: CandidateSink): number {
    let n = 0;
    const out = buffer;
    for (const p of this.#always) out[n++] = p;
    for (let t = 0; t < this.#tries.length; t++) {
      const trie = this.#tries[t] as ViewTrie;
      const path = sink.view(trie.view);
      // Walk the path's segments: after the segment ending at `end`, the node's key is
      // path.slice(0, end), a prefix of the path ending on a `/` or at the end.
      let node: TrieNode | undefined = trie.root;
      let start = 0;
      for (;;) {
        let end = path.indexOf('/', start);
        const last = end === -1;
        if (last) end = path.length;
        node = node.children.get(path.slice(start, end));
        if (node === undefined) break;
        if (node.along !== null) for (const p of node.along) out[n++] = p;
        if (last) {
          if (node.whole !== null) for (const p of node.whole) out[n++] = p;
          break;
        }
        start = end + 1;
      }
    }
    sortPrefix(out, n);
    return n;
  }
}

/** Sorts out[0..n) ascending: insertion sort for the usual handful, the typed-array sort beyond. */
function sortPrefix(out: Int32Array, n: number): void {
  if (n > 24) {
    out.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const v = out[i] as number;
    let j = i - 1;
    while (j >= 0 && (out[j] as number) > v) {
      out[j + 1] = out[j] as number;
      j--;
    }
    out[j + 1] = v;
  }
}
