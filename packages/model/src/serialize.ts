import { stringify } from 'yaml';
import { sortResources, type Resource } from './resources.js';

/** Writes resources as multi-document YAML in dependency order, ready for `tollgate apply -f`. */
export function toYaml(resources: readonly Resource[]): string {
  return sortResources(resources)
    .map((r) => stringify({ apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.spec }, { aliasDuplicateObjects: false }))
    .map((doc) => `---\n${doc}`)
    .join('');
}

/** Canonical JSON of a resource (keys sorted), so two equal resources compare equal as strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}
