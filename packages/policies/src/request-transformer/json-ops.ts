import type { PolicyContext } from '../types.js';
import { parseTemplate, render, type Template } from './template.js';

/** A JSON field path: `a.b.c` reaches into nested objects (arrays are not indexed). */
export type FieldPath = readonly string[];

/** A value for `add` / `set`: a template (for strings) or a JSON constant. */
export type FieldValue = { readonly template: Template } | { readonly constant: unknown };

/** Compiled JSON body operations, applied in Kong's order: remove, rename, set, add. */
export interface JsonOps {
  readonly remove: readonly FieldPath[];
  readonly rename: ReadonlyArray<{ readonly from: FieldPath; readonly to: FieldPath }>;
  readonly set: ReadonlyArray<{ readonly path: FieldPath; readonly value: FieldValue }>;
  readonly add: ReadonlyArray<{ readonly path: FieldPath; readonly value: FieldValue }>;
}

/** What the schema accepts for the body operations. */
export interface JsonOpsConfig {
  readonly remove: readonly string[];
  readonly rename: ReadonlyArray<{ readonly from: string; readonly to: string }>;
  readonly set: Readonly<Record<string, unknown>>;
  readonly add: Readonly<Record<string, unknown>>;
}

export function fieldPath(s: string): FieldPath {
  return s.split('.');
}

function value(v: unknown): FieldValue {
  return typeof v === 'string' ? { template: parseTemplate(v) } : { constant: v };
}

/** Compiles validated body operations (templates parsed here; the schema already checked them). */
export function compileJsonOps(c: JsonOpsConfig): JsonOps {
  return {
    remove: c.remove.map(fieldPath),
    rename: c.rename.map((r) => ({ from: fieldPath(r.from), to: fieldPath(r.to) })),
    set: Object.entries(c.set).map(([k, v]) => ({ path: fieldPath(k), value: value(v) })),
    add: Object.entries(c.add).map(([k, v]) => ({ path: fieldPath(k), value: value(v) })),
  };
}

export function hasJsonOps(c: JsonOpsConfig): boolean {
  return c.remove.length + c.rename.length + Object.keys(c.set).length + Object.keys(c.add).length > 0;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The object holding the last segment of `path`, creating intermediate objects when `create`. */
function parent(root: Obj, path: FieldPath, create: boolean): Obj | undefined {
  let o = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i] as string;
    const cur = Object.hasOwn(o, k) ? o[k] : undefined;
    let next: Obj;
    if (isObj(cur)) next = cur;
    else {
      if (!create || cur !== undefined) return undefined;
      next = {};
      o[k] = next;
    }
    o = next;
  }
  return o;
}

function has(o: Obj, k: string): boolean {
  return Object.hasOwn(o, k);
}

function resolve(v: FieldValue, ctx: PolicyContext): unknown {
  return 'constant' in v ? structuredClone(v.constant) : render(v.template, ctx, ctx.query);
}

/**
 * Applies the operations to a parsed JSON body. Only a top-level object is changed; any other JSON
 * (an array, a string) is returned as is. An `add` whose template resolves to nothing (no
 * consumer, absent header) is skipped; a `set` then removes the field (it owns it). A path through a non-object (`a.b` where `a` is a string)
 * is left alone rather than overwritten.
 */
export function applyJsonOps(ops: JsonOps, body: unknown, ctx: PolicyContext): unknown {
  if (!isObj(body)) return body;
  for (const p of ops.remove) {
    const o = parent(body, p, false);
    if (o !== undefined) delete o[p[p.length - 1] as string];
  }
  for (const r of ops.rename) {
    const from = parent(body, r.from, false);
    const k = r.from[r.from.length - 1] as string;
    if (from === undefined || !has(from, k)) continue;
    const v = from[k];
    delete from[k];
    const to = parent(body, r.to, true);
    if (to !== undefined) to[r.to[r.to.length - 1] as string] = v;
  }
  for (const s of ops.set) {
    const v = resolve(s.value, ctx);
    const k = s.path[s.path.length - 1] as string;
    // `set` owns the field: without a value, the sender's copy is removed rather than passed on.
    if (v === undefined) {
      const o = parent(body, s.path, false);
      if (o !== undefined) delete o[k];
      continue;
    }
    const o = parent(body, s.path, true);
    if (o !== undefined) o[k] = v;
  }
  for (const a of ops.add) {
    const o = parent(body, a.path, true);
    const k = a.path[a.path.length - 1] as string;
    if (o === undefined || has(o, k)) continue;
    const v = resolve(a.value, ctx);
    if (v !== undefined) o[k] = v;
  }
  return body;
}
