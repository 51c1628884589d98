import SwaggerParser from '@apidevtools/swagger-parser';
import { parseYamlDocuments } from '@tollgate/model';
import { isObject, pointer, pointerTokens, type Json, type OpenApiError } from './types.js';

/** A document that parsed, is OpenAPI 3.0 or 3.1, and passed the parser's schema validation. */
export interface ParsedOpenApi {
  /** The document as written (references kept), never mutated. */
  document: Json;
  /** `3.0` or `3.1`. */
  dialect: '3.0' | '3.1';
  /** 1-based line of a JSON pointer in the submitted text, when it was text. */
  lineOf(ptr: string): number | undefined;
}

/** Every `$ref` that leaves the document (another file or a URL), with where it is. */
function externalRefs(node: unknown, at: (string | number)[], out: Array<{ at: string; ref: string }>): void {
  if (Array.isArray(node)) {
    node.forEach((v, i) => externalRefs(v, [...at, i], out));
    return;
  }
  if (!isObject(node)) return;
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string' && !v.startsWith('#')) out.push({ at: pointer([...at, k]), ref: v });
    else externalRefs(v, [...at, k], out);
  }
}

/**
 * Parses (YAML or JSON text, or an already parsed object) and validates an OpenAPI 3.0 / 3.1
 * document with @apidevtools/swagger-parser against the official schemas, with every reference
 * resolvable. External references are refused: resolving them would make the admin API read
 * files or fetch URLs on a client's behalf (an SSRF and local-file disclosure hazard), so
 * documents must be bundled first (e.g. `swagger-cli bundle`).
 */
export async function parseOpenApi(input: string | Json): Promise<{ ok: true; parsed: ParsedOpenApi } | { ok: false; errors: OpenApiError[] }> {
  let document: Json;
  let lineOf: (ptr: string) => number | undefined = () => undefined;
  if (typeof input === 'string') {
    const { documents, issues } = parseYamlDocuments(input);
    if (issues.length > 0) return { ok: false, errors: issues.map((i) => ({ pointer: '', code: 'invalid_syntax', message: `not valid YAML or JSON: ${i.message}`, ...(i.line !== undefined ? { line: i.line } : {}) })) };
    const [first, ...rest] = documents;
    if (first === undefined) return { ok: false, errors: [{ pointer: '', code: 'empty_document', message: 'the document is empty' }] };
    if (rest.length > 0) return { ok: false, errors: [{ pointer: '', code: 'several_documents', message: 'expected one OpenAPI document, got a YAML stream of several' }] };
    if (!isObject(first.value)) return { ok: false, errors: [{ pointer: '', code: 'invalid_document', message: 'an OpenAPI document must be a mapping (object)' }] };
    document = first.value;
    const docLine = first.lineOf;
    if (docLine) lineOf = (ptr) => docLine(pointerTokens(ptr));
  } else {
    document = input;
  }
  const where = (ptr: string): { line?: number } => {
    const line = lineOf(ptr);
    return line === undefined ? {} : { line };
  };
  if (typeof document.swagger === 'string') return { ok: false, errors: [{ pointer: '/swagger', code: 'unsupported_version', message: `Swagger ${document.swagger} is not supported: convert the document to OpenAPI 3.0 or 3.1`, ...where('/swagger') }] };
  const version = document.openapi;
  if (typeof version !== 'string' || !/^3\.[01]\.\d+/.test(version)) {
    return { ok: false, errors: [{ pointer: '/openapi', code: 'unsupported_version', message: `"openapi" must be a 3.0.x or 3.1.x version string, got ${JSON.stringify(version ?? null)}`, ...where('/openapi') }] };
  }
  // The top-level members the specification requires (OAS 3.0 §4.7.1, 3.1 §4.8.1), checked here so
  // a missing one gets a plain message instead of the validator's "[object Object] is not valid".
  const missing: OpenApiError[] = [];
  const info = document.info;
  if (!isObject(info)) missing.push({ pointer: '/info', code: 'invalid_openapi', message: 'the document needs an "info" object with "title" and "version"', ...where('') });
  else
    for (const f of ['title', 'version'] as const)
      if (typeof info[f] !== 'string') missing.push({ pointer: '/info', code: 'invalid_openapi', message: `"info.${f}" is required and must be a string`, ...where('/info') });
  if (version.startsWith('3.0') && !isObject(document.paths)) missing.push({ pointer: '/paths', code: 'invalid_openapi', message: 'an OpenAPI 3.0 document needs a "paths" object (it may be empty)', ...where('') });
  if (version.startsWith('3.1') && !isObject(document.paths) && !isObject(document.components) && !isObject(document.webhooks)) {
    missing.push({ pointer: '/paths', code: 'invalid_openapi', message: 'an OpenAPI 3.1 document needs at least one of "paths", "components" or "webhooks"', ...where('') });
  }
  if (missing.length > 0) return { ok: false, errors: missing };
  const external: Array<{ at: string; ref: string }> = [];
  externalRefs(document, [], external);
  if (external.length > 0) {
    return { ok: false, errors: external.map((e) => ({ pointer: e.at, code: 'external_ref', message: `external reference "${e.ref}" is not resolved: bundle the document into one file first`, ...where(e.at) })) };
  }
  try {
    // validate() dereferences its argument in place: give it a copy.
    await SwaggerParser.validate(structuredClone(document) as never, { resolve: { external: false, file: false, http: false }, validate: { schema: true, spec: true } } as never);
  } catch (error) {
    const e = error as Error & { details?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>; path?: string; targetRef?: string };
    if (Array.isArray(e.details) && e.details.length > 0) {
      // Ajv reports one error per failed branch; keep the first per location so the list stays readable.
      const seen = new Set<string>();
      const errors: OpenApiError[] = [];
      for (const d of e.details) {
        const at = d.instancePath ?? '';
        const extra = d.params && typeof d.params.additionalProperty === 'string' ? ` ("${d.params.additionalProperty}")` : '';
        const message = `${d.message ?? 'invalid'}${extra}`;
        if (seen.has(at)) continue;
        seen.add(at);
        errors.push({ pointer: at, code: 'invalid_openapi', message, ...where(at) });
      }
      return { ok: false, errors };
    }
    const at = typeof e.targetRef === 'string' && e.targetRef.startsWith('#') ? e.targetRef.slice(1) : '';
    return { ok: false, errors: [{ pointer: at, code: 'invalid_openapi', message: e.message.split('\n')[0] ?? 'invalid OpenAPI document', ...where(at) }] };
  }
  return { ok: true, parsed: { document, dialect: version.startsWith('3.1') ? '3.1' : '3.0', lineOf } };
}
