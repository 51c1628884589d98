import { createRequire } from 'node:module';
import type { Ajv2020 as Ajv2020Type, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { re2RegExp } from './re2-engine.js';
import { isPublicUrl } from './url-format.js';

// ajv and ajv-formats are CommonJS; createRequire keeps their classes typed and avoids default-export interop.
const require = createRequire(import.meta.url);
const Ajv2020 = (require('ajv/dist/2020.js') as { Ajv2020: typeof Ajv2020Type }).Ajv2020;
const addFormats = (require('ajv-formats') as { default: (ajv: Ajv2020Type) => Ajv2020Type }).default;

/** Signed integer ranges of OpenAPI's `int32` and `int64` formats (OAS 3.0.3 §4.4). */
const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

function newAjv(coerce: boolean): Ajv2020Type {
  // strict: false: OpenAPI schemas carry keywords (readOnly, example…) and formats ajv does not know.
  // code.regExp: `pattern` and `patternProperties` run on RE2 (linear time), see re2-engine.ts.
  const ajv = new Ajv2020({ strict: false, allErrors: false, coerceTypes: coerce ? 'array' : false, logger: false, validateFormats: true, code: { regExp: re2RegExp } });
  addFormats(ajv);
  // Replaces ajv-formats' backtracking `url` expression (see url-format.ts).
  ajv.addFormat('url', { type: 'string', validate: isPublicUrl });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= INT32.min && n <= INT32.max });
  // Beyond 2^53 a JSON number is already rounded by JSON.parse; any integer passes.
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', { type: 'string', validate: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/ });
  ajv.addFormat('binary', { type: 'string', validate: () => true });
  ajv.addFormat('password', { type: 'string', validate: () => true });
  return ajv;
}

/** Bodies validate as sent; parameters (always strings on the wire) are coerced to their schema's types. */
const exact = newAjv(false);
const coercing = newAjv(true);

/**
 * Compiled validators by schema text. Config validation (admin apply, every gateway compile) and
 * policy build see the same schemas: each is compiled once per process, never per request. Bounded
 * so a stream of distinct configs cannot grow it forever (least recently compiled dropped first).
 */
const cache = new Map<string, ValidateFunction>();
const CACHE_MAX = 2_000;

/** Compiles a JSON Schema 2020-12 (throws with ajv's message when it is not one). */
export function compileSchema(schema: unknown, coerce: boolean): ValidateFunction {
  const key = `${coerce ? 'c' : 'e'}${JSON.stringify(schema)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const ajv = coerce ? coercing : exact;
  const fn = ajv.compile(structuredClone(schema) as object);
  // Compiled schemas are also kept by ajv itself; drop them with the cache entry.
  if (cache.size >= CACHE_MAX) {
    const oldest = cache.keys().next().value as string;
    const old = cache.get(oldest);
    cache.delete(oldest);
    if (old) (coerce ? coercing : exact).removeSchema(old.schema as object);
  }
  cache.set(key, fn);
  return fn;
}

export type { ErrorObject, ValidateFunction };
