/** Options of an OpenAPI import (CLI flags, `POST /apis/import` options). */
export interface OpenApiImportOptions {
  /** Name of the Api (and of a generated Upstream); default `x-tollgate-api.name`, else a slug of `info.title`. */
  name?: string;
  /** Upstream origin (and optional path prefix), e.g. `http://10.0.0.5:8080/v3`; overrides `servers`. */
  upstream?: string;
  /** Gateway base path of the Api; default `x-tollgate-api.basePath`, else the path of the first server. */
  basePath?: string;
  /** Unsupported constructs are errors instead of warnings. */
  strict?: boolean;
  /** Attach request validation to every operation (`x-tollgate-validate` decides per operation otherwise). */
  validate?: boolean;
  /**
   * Import operations whose security requirement cannot be enforced as written (an unmappable
   * scheme, schemes required together, unchecked role names) with what can be checked, possibly
   * no authentication at all, and a warning. Without it such an operation makes the import fail.
   */
  allowUnprotected?: boolean;
}

/** Something the document asks for that Tollgate does not implement as asked: reported, never dropped silently. */
export interface OpenApiWarning {
  /** JSON pointer (RFC 6901) into the OpenAPI document, e.g. `/paths/~1pets/get/security`. */
  pointer: string;
  code: string;
  message: string;
}

/** A problem that makes the document unimportable. */
export interface OpenApiError extends OpenApiWarning {
  /** 1-based line in the submitted text, when known. */
  line?: number;
}

/** A JSON object of the document. */
export type Json = Record<string, unknown>;

/** Whether a document node is a JSON object (not null, not an array). */
export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The generated resources (plain documents, validated by the model afterwards), or errors. */
export type OpenApiImportResult =
  | { ok: true; api: Json & { kind: 'Api'; metadata: { name: string } }; upstream: (Json & { kind: 'Upstream'; metadata: { name: string } }) | null; warnings: OpenApiWarning[]; openapiVersion: string; operations: number }
  | { ok: false; errors: OpenApiError[]; warnings: OpenApiWarning[] };

/** Escapes one reference token of a JSON pointer (RFC 6901 §3). */
export function escapePointer(token: string | number): string {
  return String(token).replaceAll('~', '~0').replaceAll('/', '~1');
}

/** A JSON pointer from its tokens: `['paths', '/pets', 'get']` → `/paths/~1pets/get`. */
export function pointer(tokens: readonly (string | number)[]): string {
  return tokens.map((t) => `/${escapePointer(t)}`).join('');
}

/** The tokens of a JSON pointer (with or without a leading `#`). */
export function pointerTokens(p: string): string[] {
  const s = p.startsWith('#') ? p.slice(1) : p;
  if (s === '') return [];
  return s
    .slice(1)
    .split('/')
    .map((t) => decodeURIComponent(t).replaceAll('~1', '/').replaceAll('~0', '~'));
}
