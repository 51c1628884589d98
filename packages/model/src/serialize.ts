import { stringify } from 'yaml';
import { sortResources, type Resource } from './resources.js';

/** Writes resources as multi-document YAML in dependency order, ready for `tollgate apply -f`. */
export function toYaml(resources: readonly Resource[]): string {
  return sortResources(resources)
    .map((r) => stringify({ apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.spec }, { aliasDuplicateObjects: false }))
    .map((doc) => `---\n${doc}`)
    .join('');
}

/**
 * Canonical JSON of a resource (keys sorted), so two equal resources compare equal as strings.
 * The same text as `JSON.stringify` with every plain object's keys sorted (code-unit order), written
 * directly instead of through a replacer that copies each object: every reload hashes and keys
 * every resource with it, 10,000 APIs at a time (#16).
 *
 * The pieces are collected and joined once, not appended with `+=`: V8 represents each `a + b` of
 * longer strings as a concatenation node pointing at both parts, and a text built from a few hundred
 * appends stays a tree of a few hundred nodes (about 20 times the size of its characters) until
 * something flattens it. The compile caches keep these texts as keys, 10,000 Apis of them per
 * cache: a heap snapshot after an embedded apply of 10,000 Apis held 3.5 million concatenation
 * nodes (106 MB, with 70 MB of the small strings they pointed at), which every major GC marked
 * and every scavenge during the apply copied. `join` writes one flat string.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  return write(value, parts) ? parts.join('') : 'undefined';
}

/**
 * Appends the JSON text of `v` to `out`; false (nothing appended) where JSON.stringify omits the
 * value (undefined, a function, a symbol).
 */
function write(v: unknown, out: string[]): boolean {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'function' || typeof v === 'symbol' || v === undefined) return false;
    out.push(JSON.stringify(v));
    return true;
  }
  if (Array.isArray(v)) {
    out.push('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(',');
      if (!write(v[i], out)) out.push('null');
    }
    out.push(']');
    return true;
  }
  const o = v as Record<string, unknown>;
  // Object.keys lists integer-like keys first, in numeric order, as any object re-created from
  // sorted entries would also list them: only the other keys are sorted.
  const keys = Object.keys(o);
  let ints = 0;
  while (ints < keys.length && isArrayIndex(keys[ints] as string)) ints++;
  sortFrom(keys, ints);
  out.push('{');
  let first = true;
  for (const k of keys) {
    const mark = out.length;
    if (!first) out.push(',');
    out.push(quotedKey(k));
    // A value JSON.stringify omits takes its key with it.
    if (write(o[k], out)) first = false;
    else out.length = mark;
  }
  out.push('}');
  return true;
}

/**
 * `"key":`, remembered for the first {@link MAX_QUOTED_KEYS} keys seen: the objects of resources
 * use a few dozen field names over and over, and quoting each again allocated a string per field
 * of every resource (with the cache the whole text costs less CPU than the `+=` version before it).
 * Bounded, because keys of maps (labels, headers) are the operator's and unbounded.
 */
function quotedKey(k: string): string {
  let q = QUOTED_KEYS.get(k);
  if (q === undefined) {
    q = `${JSON.stringify(k)}:`;
    if (QUOTED_KEYS.size < MAX_QUOTED_KEYS) QUOTED_KEYS.set(k, q);
  }
  return q;
}
const MAX_QUOTED_KEYS = 4096;
const QUOTED_KEYS = new Map<string, string>();

/**
 * Sorts `keys[from..]` in place in code-unit order (as `Array.prototype.sort` without a
 * comparator). Objects of a resource have a handful of keys, often in order already: an insertion
 * sort there allocates nothing, where `sort` allocated a work copy per object (a sixth of what a
 * compile of 10,000 Apis allocated, in a sampling heap profile).
 */
function sortFrom(keys: string[], from: number): void {
  const n = keys.length - from;
  if (n < 2) return;
  if (n > 16) {
    if (from === 0) keys.sort();
    else keys.splice(from, n, ...keys.slice(from).sort());
    return;
  }
  for (let i = from + 1; i < keys.length; i++) {
    const k = keys[i] as string;
    let j = i - 1;
    while (j >= from && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = k;
  }
}

/** Whether a property key is an array index (ECMA-262 §6.1.7: a canonical numeric string below 2^32 - 1). */
function isArrayIndex(k: string): boolean {
  return /^(?:0|[1-9][0-9]{0,9})$/.test(k) && Number(k) < 4294967295;
}

/**
 * Whether `canonicalJson(a) === canonicalJson(b)`, decided without writing either text where both
 * are plain JSON values (what parsed documents and stored rows are): a walk of both trees that
 * allocates nothing. A compile that meets an Api it compiled before (the reload after an apply
 * reads back from the database what the apply's validation compiled, #16) reuses the text it wrote
 * then instead of writing 10,000 texts again. Anything else (a value JSON.stringify omits or
 * converts: undefined, a function, a `toJSON` object) is compared by the texts themselves.
 */
export function canonicallyEqual(a: unknown, b: unknown): boolean {
  const r = plainEqual(a, b);
  return r === undefined ? canonicalJson(a) === canonicalJson(b) : r;
}

/** true / false for two plain JSON values; undefined when either holds something else. */
function plainEqual(a: unknown, b: unknown): boolean | undefined {
  if (a === b) return typeof a === 'function' || typeof a === 'symbol' || a === undefined ? undefined : true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    const ta = typeof a;
    const tb = typeof b;
    const json = (t: string) => t === 'string' || t === 'number' || t === 'boolean' || t === 'object';
    if (!json(ta) || !json(tb)) return undefined;
    // An object against a primitive differs only if the object's text is its own (not a Date's string).
    if ((a !== null && ta === 'object' && !isPlain(a as object)) || (b !== null && tb === 'object' && !isPlain(b as object))) return undefined;
    // -0 and 0 are `===`; NaN and ±Infinity are written as null, so only two finite numbers (or
    // different types, or different strings) are known to differ without their text.
    if (ta === 'number' && !Number.isFinite(a as number)) return undefined;
    if (tb === 'number' && !Number.isFinite(b as number)) return undefined;
    return false;
  }
  if (!isPlain(a) || !isPlain(b)) return undefined;
  const arr = Array.isArray(a);
  if (arr !== Array.isArray(b)) return false;
  if (arr) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) {
      const r = plainEqual(x[i], y[i]);
      if (r !== true) return r;
    }
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!Object.prototype.hasOwnProperty.call(x, k)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(y, k)) return omittable(x[k]) ? undefined : false;
    const r = plainEqual(x[k], y[k]);
    if (r !== true) return r;
    n++;
  }
  let m = 0;
  for (const k in y) {
    // A key whose value the text may omit: counting keys would not tell.
    if (!Object.prototype.hasOwnProperty.call(y, k) || omittable(y[k])) return undefined;
    m++;
  }
  return n === m;
}

/** Whether a field's text may be left out (undefined, a function, a symbol, or an object whose `toJSON` decides). */
function omittable(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol' || (typeof v === 'object' && v !== null && !isPlain(v));
}

/** An array or an object made by `{}` / JSON.parse (no prototype chain of its own, no `toJSON`). */
function isPlain(v: object): boolean {
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}
