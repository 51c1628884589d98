import { isObject, pointer, pointerTokens, type Json, type OpenApiWarning } from './types.js';

/** Resolves a local JSON pointer (`#/components/schemas/Pet`) in `doc`, or undefined. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  let node: unknown = doc;
  for (const t of pointerTokens(ref)) {
    if (Array.isArray(node)) node = node[Number(t)];
    else if (isObject(node)) node = Object.hasOwn(node, t) ? node[t] : undefined;
    else return undefined;
  }
  return node;
}

/**
 * Follows `$ref` chains of a non-schema object (parameter, request body, path item, security
 * scheme) to the object itself, returning it and the pointer where it really lives.
 */
export function deref(doc: unknown, node: unknown, at: string): { value: unknown; at: string } {
  let value = node;
  let where = at;
  for (let hops = 0; hops < 32 && isObject(value) && typeof value.$ref === 'string'; hops++) {
    where = value.$ref.startsWith('#') ? value.$ref.slice(1) : value.$ref;
    value = resolvePointer(doc, value.$ref);
  }
  return { value, at: where };
}

/** Annotation-only keywords dropped from request schemas (they never change what validates). */
const ANNOTATIONS = new Set(['example', 'examples', 'xml', 'externalDocs', 'discriminator', 'description', 'title', 'deprecated', '$comment']);
/** Keywords whose value is one schema. */
const ONE = ['additionalProperties', 'items', 'not', 'if', 'then', 'else', 'contains', 'propertyNames', 'unevaluatedProperties', 'unevaluatedItems', 'additionalItems', 'contentSchema'];
/** Keywords whose value is a list of schemas. */
const LIST = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
/** Keywords whose value is a map of schemas. */
const MAP = ['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions'];

/**
 * Turns the schemas of one operation's request into one self-contained JSON Schema 2020-12
 * document each, as the request-validation policy compiles them (ajv 2020):
 * - local `$ref`s are rewritten to `#/$defs/<key>` and the targets copied into `$defs`, so
 *   recursive schemas stay finite and the policy config needs nothing else;
 * - OpenAPI 3.0 schema objects are translated: `nullable: true` adds `null` to the type
 *   (OAS 3.0.3 §4.7.24), boolean `exclusiveMinimum`/`exclusiveMaximum` become the numeric
 *   form (JSON Schema 2020-12 §6.2), annotation-only keywords and `x-` extensions are dropped;
 * - properties marked `readOnly` are not required in a request (OAS 3.0.3 "Fixed Fields":
 *   a readOnly required property applies to responses only).
 */
export class RequestSchemas {
  readonly #doc: unknown;
  readonly #dialect: '3.0' | '3.1';
  readonly #warnings: OpenApiWarning[];
  #defs: Record<string, unknown> = {};

  constructor(doc: unknown, dialect: '3.0' | '3.1', warnings: OpenApiWarning[]) {
    this.#doc = doc;
    this.#dialect = dialect;
    this.#warnings = warnings;
  }

  /** One standalone JSON Schema for `schema` found at `at` (a JSON pointer). */
  standalone(schema: unknown, at: string): unknown {
    this.#defs = {};
    const root = this.#convert(schema, at);
    if (Object.keys(this.#defs).length === 0) return root;
    const defs = this.#defs;
    if (typeof root === 'boolean') return { allOf: [root], $defs: defs };
    return { ...(root as Json), $defs: { ...(((root as Json).$defs as Json | undefined) ?? {}), ...defs } };
  }

  #convert(schema: unknown, at: string): unknown {
    if (typeof schema === 'boolean') return schema;
    if (!isObject(schema)) return {};
    if (typeof schema.$ref === 'string') {
      const ref = schema.$ref;
      if (!ref.startsWith('#')) {
        this.#warnings.push({ pointer: `${at}/$ref`, code: 'unresolved_ref', message: `reference "${ref}" is not validated` });
        return {};
      }
      const key = pointerTokens(ref).join('.').replace(/[^A-Za-z0-9._-]/g, '_') || 'root';
      if (!Object.hasOwn(this.#defs, key)) {
        this.#defs[key] = true; // placeholder: a recursive reference finds the key taken
        this.#defs[key] = this.#convert(resolvePointer(this.#doc, ref), ref.slice(1));
      }
      const target = { $ref: `#/$defs/${key}` };
      // In 3.1 (JSON Schema 2020-12) a $ref may have sibling keywords; in 3.0 they are ignored (OAS 3.0.3 §4.7.26).
      const siblings = Object.keys(schema).filter((k) => k !== '$ref' && !ANNOTATIONS.has(k) && !k.startsWith('x-'));
      if (this.#dialect === '3.1' && siblings.length > 0) return { ...this.#convert(Object.fromEntries(siblings.map((k) => [k, schema[k]])), at) as Json, ...target };
      return target;
    }
    const out: Json = {};
    for (const [k, v] of Object.entries(schema)) {
      if (ANNOTATIONS.has(k) || k.startsWith('x-')) continue;
      if (k === '$id' || k === '$schema' || k === '$anchor' || k === '$dynamicAnchor' || k === '$dynamicRef') {
        this.#warnings.push({ pointer: `${at}/${k}`, code: 'unsupported_keyword', message: `"${k}" in a request schema is ignored by request validation` });
        continue;
      }
      if (ONE.includes(k)) out[k] = typeof v === 'boolean' ? v : this.#convert(v, `${at}/${k}`);
      else if (LIST.includes(k) && Array.isArray(v)) out[k] = v.map((s, i) => this.#convert(s, `${at}/${k}/${i}`));
      else if (MAP.includes(k) && isObject(v)) out[k === 'definitions' ? '$defs' : k] = Object.fromEntries(Object.entries(v).map(([n, s]) => [n, this.#convert(s, `${at}/${k}/${pointer([n]).slice(1)}`)]));
      else out[k] = v;
    }
    if (this.#dialect === '3.0') {
      if (out.nullable === true) {
        if (typeof out.type === 'string') out.type = [out.type, 'null'];
        if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
      }
      delete out.nullable;
      for (const [ex, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
        if (out[ex] === true && typeof out[bound] === 'number') {
          out[ex] = out[bound];
          delete out[bound];
        } else if (typeof out[ex] === 'boolean') delete out[ex];
      }
    }
    // A readOnly property is sent by the server, never required from the client.
    if (Array.isArray(out.required) && isObject(out.properties)) {
      const props = schema.properties as Json;
      const readOnly = (name: string): boolean => {
        const p = props[name];
        const target = isObject(p) && typeof p.$ref === 'string' ? resolvePointer(this.#doc, p.$ref) : p;
        return isObject(target) && target.readOnly === true;
      };
      const required = out.required.filter((n) => typeof n !== 'string' || !readOnly(n));
      if (required.length > 0) out.required = required;
      else delete out.required;
    }
    return out;
  }
}
