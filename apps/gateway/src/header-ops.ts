import type { HeaderOperations } from '@tollgate/model';

/** Header operations precompiled into arrays (remove, then set, then add). */
export interface HeaderOps {
  readonly remove: readonly string[];
  readonly set: ReadonlyArray<readonly [string, string]>;
  readonly add: ReadonlyArray<readonly [string, string]>;
}

/** Precompiles a route's header operations, or null when there are none. */
export function headerOps(ops: HeaderOperations | null): HeaderOps | null {
  if (ops === null) return null;
  const set = Object.entries(ops.set);
  const add = Object.entries(ops.add);
  if (ops.remove.length === 0 && set.length === 0 && add.length === 0) return null;
  return Object.freeze({ remove: Object.freeze([...ops.remove]), set: Object.freeze(set), add: Object.freeze(add) });
}

/** Applies header operations in place (names are lower-case, as Node gives them). */
export function applyHeaderOps(h: Record<string, string | string[] | undefined>, ops: HeaderOps): void {
  for (let i = 0; i < ops.remove.length; i++) delete h[ops.remove[i] as string];
  for (let i = 0; i < ops.set.length; i++) {
    const [n, v] = ops.set[i] as readonly [string, string];
    h[n] = v;
  }
  for (let i = 0; i < ops.add.length; i++) {
    const [n, v] = ops.add[i] as readonly [string, string];
    const cur = h[n];
    h[n] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
}
