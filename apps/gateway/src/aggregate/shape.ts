/**
 * Shaping of backend JSON bodies (extract, allow, deny, rename) and their combination into one
 * object, as KrakenD's `target`, `allow`/`deny`, `mapping` and `group` do. Pure functions on
 * parsed JSON; every object built here has keys set with `defineProperty`, so a body with a
 * `__proto__` key stays data and never changes a prototype.
 */

/** A plain JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets an own enumerable property, whatever the key (including `__proto__`). */
export function put(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function own(o: Record<string, unknown>, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** The value at a dot path (array elements by index), or undefined. */
export function fieldAt(v: unknown, path: readonly string[]): unknown {
  let cur = v;
  for (const k of path) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(k)) return undefined;
      cur = cur[Number(k)];
    } else if (isObject(cur) && own(cur, k)) cur = cur[k];
    else return undefined;
  }
  return cur;
}

/** Applies `fn` to an object, or to each element of an array (other values pass through). */
function eachObject(v: unknown, fn: (o: Record<string, unknown>) => unknown): unknown {
  if (Array.isArray(v)) return v.map((e) => (isObject(e) ? fn(e) : e));
  return isObject(v) ? fn(v) : v;
}

/** Keeps only the listed fields (dot paths keep nested fields with their parents' shape). */
export function allowFields(o: Record<string, unknown>, fields: ReadonlyArray<readonly string[]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of fields) {
    let src: unknown = o;
    let dst = out;
    for (let i = 0; i < path.length; i++) {
      const k = path[i] as string;
      if (!isObject(src) || !own(src, k)) break;
      const v = src[k];
      if (i === path.length - 1) {
        put(dst, k, v);
        break;
      }
      // Descend: create (or reuse) the nested object in the output.
      if (!isObject(v)) break;
      if (!own(dst, k) || !isObject(dst[k])) put(dst, k, {});
      dst = dst[k] as Record<string, unknown>;
      src = v;
    }
  }
  return out;
}

/** Removes the listed fields (dot paths reach nested ones); returns a copy, the input is untouched. */
export function denyFields(o: Record<string, unknown>, fields: ReadonlyArray<readonly string[]>): Record<string, unknown> {
  const copy = (x: Record<string, unknown>): Record<string, unknown> => {
    const c: Record<string, unknown> = {};
    for (const k of Object.keys(x)) put(c, k, x[k]);
    return c;
  };
  const out = copy(o);
  for (const path of fields) {
    let cur = out;
    for (let i = 0; i < path.length; i++) {
      const k = path[i] as string;
      if (!own(cur, k)) break;
      if (i === path.length - 1) {
        delete cur[k];
        break;
      }
      const next = cur[k];
      if (!isObject(next)) break;
      const c = copy(next);
      put(cur, k, c);
      cur = c;
    }
  }
  return out;
}

/** Renames top-level fields, keeping their order; a missing source field is ignored. */
export function renameFields(o: Record<string, unknown>, renames: ReadonlyArray<readonly [string, string]>): Record<string, unknown> {
  if (renames.length === 0) return o;
  const map = new Map(renames);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) put(out, map.get(k) ?? k, o[k]);
  return out;
}

/** How one backend's body is shaped. */
export interface Shaping {
  readonly extract: readonly string[] | null;
  readonly allow: ReadonlyArray<readonly string[]> | null;
  readonly deny: ReadonlyArray<readonly string[]>;
  readonly rename: ReadonlyArray<readonly [string, string]>;
  readonly merge: boolean;
}

/**
 * Shapes a parsed body: extract, then allow, deny and rename on the object (or on each object of
 * an array). Fails when the extract path is absent, or when a body to merge is not an object.
 */
export function shapeBody(body: unknown, s: Shaping): { ok: true; value: unknown } | { ok: false; reason: string } {
  let v = body;
  if (s.extract !== null) {
    v = fieldAt(v, s.extract);
    if (v === undefined) return { ok: false, reason: `the body has no field ${s.extract.join('.')}` };
  }
  if (s.allow !== null) {
    const allow = s.allow;
    v = eachObject(v, (o) => allowFields(o, allow));
  }
  if (s.deny.length > 0) v = eachObject(v, (o) => denyFields(o, s.deny));
  if (s.rename.length > 0) v = eachObject(v, (o) => renameFields(o, s.rename));
  if (s.merge && !isObject(v)) return { ok: false, reason: `the body is ${Array.isArray(v) ? 'an array' : v === null ? 'null' : `a ${typeof v}`}, not an object to merge` };
  return { ok: true, value: v };
}

/** One backend's part of the answer: grouped under a key, or merged at the top level. */
export interface Part {
  readonly group: string | null;
  readonly value: unknown;
}

/** Combines the parts in declared order; on equal merged keys the later part wins. */
export function combine(parts: readonly Part[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of parts) {
    if (p.group !== null) put(out, p.group, p.value);
    else for (const [k, v] of Object.entries(p.value as Record<string, unknown>)) put(out, k, v);
  }
  return out;
}
