import { canonicalJson } from '@tollgate/model';
import { OpenApiMapper } from './map.js';
import { parseOpenApi } from './parse.js';
import type { OpenApiImportOptions, OpenApiImportResult } from './types.js';

export * from './types.js';
export { EXTENSIONS as OPENAPI_EXTENSIONS } from './map.js';
export { parseOpenApi, type ParsedOpenApi } from './parse.js';
export { RequestSchemas } from './schemas.js';
export { kebab, routeName } from './names.js';

/**
 * Imports an OpenAPI 3.0 / 3.1 document (YAML or JSON text, or a parsed object) into an `Api`
 * with one route per operation and, unless `x-tollgate-upstream` names an existing one, an
 * `Upstream` from the first server. Pure apart from parsing: the same document and options give
 * the same resources, so a re-import updates in place. See docs/openapi.md.
 */
export async function importOpenApi(input: string | Record<string, unknown>, options: OpenApiImportOptions = {}): Promise<OpenApiImportResult> {
  const parsed = await parseOpenApi(input);
  if (!parsed.ok) return { ok: false, errors: parsed.errors, warnings: [] };
  return new OpenApiMapper(parsed.parsed, options).run();
}

/** What an import does to an Api's routes, by route name (route ids are `api/name`). */
export interface RouteChanges {
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
}

/** Compares the routes of the stored Api (if any) with the imported one, both after model defaults (key order ignored). */
export function diffRoutes(before: readonly { name: string }[] | undefined, after: readonly { name: string }[]): RouteChanges {
  const old = new Map((before ?? []).map((r) => [r.name, r]));
  const out: RouteChanges = { created: [], updated: [], unchanged: [], deleted: [] };
  for (const r of after) {
    const prev = old.get(r.name);
    if (prev === undefined) out.created.push(r.name);
    else if (canonicalJson(prev) === canonicalJson(r)) out.unchanged.push(r.name);
    else out.updated.push(r.name);
  }
  const names = new Set(after.map((r) => r.name));
  for (const r of before ?? []) if (!names.has(r.name)) out.deleted.push(r.name);
  return out;
}
