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
 */
export function canonicalJson(value: unknown): string {
  return write(value) ?? 'undefined';
}

/** The JSON text of `v`, or undefined where JSON.stringify omits it (undefined, a function, a symbol). */
function write(v: unknown): string | undefined {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
  if (v === null || typeof v !== 'object') return typeof v === 'function' || typeof v === 'symbol' || v === undefined ? undefined : JSON.stringify(v);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i === 0 ? '' : ',') + (write(v[i]) ?? 'null');
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  // Object.keys lists integer-like keys first, in numeric order, as any object re-created from
  // sorted entries would also list them: only the other keys are sorted.
  const keys = Object.keys(o);
  let ints = 0;
  while (ints < keys.length && isArrayIndex(keys[ints] as string)) ints++;
  const ordered = ints === 0 ? keys.sort() : [...keys.slice(0, ints), ...keys.slice(ints).sort()];
  let out = '{';
  for (const k of ordered) {
    const x = write(o[k]);
    if (x === undefined) continue;
    out += (out.length === 1 ? '' : ',') + JSON.stringify(k) + ':' + x;
  }
  return `${out}}`;
}

/** Whether a property key is an array index (ECMA-262 §6.1.7: a canonical numeric string below 2^32 - 1). */
function isArrayIndex(k: string): boolean {
  return /^(?:0|[1-9][0-9]{0,9})$/.test(k) && Number(k) < 4294967295;
}
