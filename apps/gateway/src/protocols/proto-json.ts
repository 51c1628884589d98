import protobuf from 'protobufjs';
import { jsonName } from '@tollgate/compiler';

/**
 * The proto3 JSON mapping (https://protobuf.dev/programming-guides/json/) on top of protobufjs:
 * JSON names (`json_name`, else lowerCamelCase) and proto names are both accepted on input and
 * JSON names are written on output; 64-bit integers are strings; enums are names; bytes are
 * base64; Timestamp, Duration, the wrappers, Struct/Value/ListValue, FieldMask and Empty have
 * their special forms. Unknown fields are refused (the mapping's default).
 */

/** A request the client got wrong: becomes a 400 with this message. */
export class JsonMappingError extends Error {}

const fieldMaps = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

/** Fields of a type by JSON name and by proto name, resolved (cached per type). */
function fieldsOf(type: protobuf.Type): Map<string, protobuf.Field> {
  let m = fieldMaps.get(type);
  if (m === undefined) {
    m = new Map();
    for (const f of type.fieldsArray) {
      f.resolve();
      m.set(f.name, f);
      m.set(jsonName(f), f);
    }
    fieldMaps.set(type, m);
  }
  return m;
}

/** Looks a field up by JSON or proto name. */
export function fieldByName(type: protobuf.Type, name: string): protobuf.Field | undefined {
  return fieldsOf(type).get(name);
}

const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));

function scalarIn(type: string, v: unknown, where: string): unknown {
  const bad = (): never => {
    throw new JsonMappingError(`${where}: ${JSON.stringify(v)} is not a valid ${type}`);
  };
  if (INT32.has(type) || INT64.has(type)) {
    let s: string;
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) bad();
      s = String(v);
    } else if (typeof v === 'string' && /^-?\d+$/.test(v)) s = v;
    else return bad();
    const unsigned = type.startsWith('u') || type === 'fixed32' || type === 'fixed64';
    if (unsigned && s.startsWith('-')) bad();
    const n = BigInt(s);
    const bits = INT32.has(type) ? 32n : 64n;
    const [min, max] = unsigned ? [0n, 2n ** bits - 1n] : [-(2n ** (bits - 1n)), 2n ** (bits - 1n) - 1n];
    if (n < min || n > max) bad();
    return INT32.has(type) ? Number(n) : s;
  }
  if (type === 'double' || type === 'float') {
    if (typeof v === 'number') return v;
    if (v === 'NaN') return Number.NaN;
    if (v === 'Infinity') return Number.POSITIVE_INFINITY;
    if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
    return bad();
  }
  if (type === 'bool') {
    if (typeof v === 'boolean') return v;
    if (v === 'true') return true;
    if (v === 'false') return false;
    return bad();
  }
  if (type === 'string') return typeof v === 'string' ? v : bad();
  if (type === 'bytes') {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) return bad();
    return Buffer.from(v.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
  }
  return bad();
}

function parseTimestamp(v: unknown, where: string): { seconds: string; nanos: number } {
  // RFC 3339, "Z" or an offset, 0-9 fractional digits.
  const m = typeof v === 'string' ? /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(v) : null;
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(ms)) throw new JsonMappingError(`${where}: ${JSON.stringify(v)} is not an RFC 3339 timestamp`);
  return { seconds: String(Math.floor(ms / 1000)), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

function parseDuration(v: unknown, where: string): { seconds: string; nanos: number } {
  const m = typeof v === 'string' ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v) : null;
  if (!m) throw new JsonMappingError(`${where}: ${JSON.stringify(v)} is not a duration such as "1.5s"`);
  const sign = m[1] === '-' ? -1 : 1;
  const nanos = Number((m[3] ?? '').padEnd(9, '0'));
  return { seconds: `${sign < 0 && (m[2] !== '0' || nanos === 0) ? '-' : ''}${m[2]}`, nanos: sign * nanos };
}

/**
 * The actual name of a field given its proto spelling: protobufjs' bundled well-known types use
 * camelCase names (`numberValue`), descriptor sets and parsed files the proto names.
 */
function nameIn(type: protobuf.Type, protoName: string): string {
  if (type.fields[protoName] !== undefined) return protoName;
  return protoName.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Reads a field of a toObject result by its proto name, whichever spelling the type uses. */
function getOut(o: Record<string, unknown>, protoName: string): unknown {
  if (Object.hasOwn(o, protoName)) return o[protoName];
  const camel = protoName.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  return Object.hasOwn(o, camel) ? o[camel] : undefined;
}

function hasOut(o: Record<string, unknown>, protoName: string): boolean {
  return getOut(o, protoName) !== undefined;
}

/** The Value, Struct and ListValue types of a root (resolved from whichever of them is at hand). */
function structTypes(any: protobuf.Type): { value: protobuf.Type; struct: protobuf.Type; list: protobuf.Type } {
  const value = any.lookupType('.google.protobuf.Value');
  return { value, struct: any.lookupType('.google.protobuf.Struct'), list: any.lookupType('.google.protobuf.ListValue') };
}

function valueIn(t: ReturnType<typeof structTypes>, v: unknown, where: string, depth: number): Record<string, unknown> {
  if (depth > 64) throw new JsonMappingError(`${where}: nested too deeply`);
  const n = (p: string) => nameIn(t.value, p);
  if (v === null) return { [n('null_value')]: 'NULL_VALUE' };
  if (typeof v === 'number') return { [n('number_value')]: v };
  if (typeof v === 'string') return { [n('string_value')]: v };
  if (typeof v === 'boolean') return { [n('bool_value')]: v };
  if (Array.isArray(v)) return { [n('list_value')]: { values: v.map((x, i) => valueIn(t, x, `${where}[${i}]`, depth + 1)) } };
  return { [n('struct_value')]: structIn(t, v, where, depth + 1) };
}

function structIn(t: ReturnType<typeof structTypes>, v: unknown, where: string, depth: number): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new JsonMappingError(`${where}: expected a JSON object`);
  return { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, valueIn(t, x, `${where}.${k}`, depth + 1)])) };
}

/** A JSON value of a message-typed field, in protobufjs `fromObject` form. */
function messageIn(type: protobuf.Type, v: unknown, where: string, depth: number): unknown {
  if (depth > 64) throw new JsonMappingError(`${where}: nested too deeply`);
  const full = type.fullName;
  if (full === '.google.protobuf.Timestamp') return parseTimestamp(v, where);
  if (full === '.google.protobuf.Duration') return parseDuration(v, where);
  if (WRAPPERS.has(full)) return { value: scalarIn((type.fields.value as protobuf.Field).type, v, where) };
  if (full === '.google.protobuf.Struct') return structIn(structTypes(type), v, where, depth);
  if (full === '.google.protobuf.Value') return valueIn(structTypes(type), v, where, depth);
  if (full === '.google.protobuf.ListValue') {
    if (!Array.isArray(v)) throw new JsonMappingError(`${where}: expected an array`);
    const t = structTypes(type);
    return { values: v.map((x, i) => valueIn(t, x, `${where}[${i}]`, depth + 1)) };
  }
  if (full === '.google.protobuf.FieldMask') {
    if (typeof v !== 'string') throw new JsonMappingError(`${where}: expected a comma-separated field mask`);
    return { paths: v === '' ? [] : v.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) };
  }
  if (full === '.google.protobuf.Any') return v;
  return objectIn(type, v, where, depth);
}

function fieldValueIn(f: protobuf.Field, v: unknown, where: string, depth: number): unknown {
  if (f.resolvedType instanceof protobuf.Type) return messageIn(f.resolvedType, v, where, depth + 1);
  if (f.resolvedType instanceof protobuf.Enum) {
    const e = f.resolvedType;
    if (typeof v === 'string' && Object.hasOwn(e.values, v)) return v;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
    throw new JsonMappingError(`${where}: ${JSON.stringify(v)} is not a value of ${e.fullName.slice(1)} (${Object.keys(e.values).join(', ')})`);
  }
  return scalarIn(f.type, v, where);
}

function objectIn(type: protobuf.Type, v: unknown, where: string, depth: number): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new JsonMappingError(`${where || 'the body'}: expected a JSON object for ${type.fullName.slice(1)}`);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const f = fieldByName(type, k);
    const at = where === '' ? k : `${where}.${k}`;
    if (f === undefined) throw new JsonMappingError(`${at}: ${type.fullName.slice(1)} has no field "${k}"`);
    // null means "default", except for google.protobuf.Value where it is a value.
    if (x === null && f.type !== 'google.protobuf.Value' && (f.resolvedType as protobuf.Type | null)?.fullName !== '.google.protobuf.Value') continue;
    if (f.map) {
      if (x === null || typeof x !== 'object' || Array.isArray(x)) throw new JsonMappingError(`${at}: expected a JSON object (map)`);
      const mf = f as unknown as protobuf.MapField;
      out[f.name] = Object.fromEntries(
        Object.entries(x).map(([mk, mv]) => {
          if (mf.keyType !== 'string') scalarIn(mf.keyType, mk, `${at}[${mk}]`);
          return [mk, fieldValueIn(f, mv, `${at}.${mk}`, depth)];
        }),
      );
    } else if (f.repeated) {
      if (!Array.isArray(x)) throw new JsonMappingError(`${at}: expected an array`);
      out[f.name] = x.map((e, i) => fieldValueIn(f, e, `${at}[${i}]`, depth));
    } else out[f.name] = fieldValueIn(f, x, at, depth);
  }
  return out;
}

/** Turns a proto3 JSON object into protobufjs `fromObject` input for `type`; throws JsonMappingError. */
export function jsonToObject(type: protobuf.Type, json: unknown): Record<string, unknown> {
  return objectIn(type, json, '', 0);
}

/** Encodes a proto3 JSON object as `type`'s wire format. */
export function encodeJson(type: protobuf.Type, json: unknown): Uint8Array {
  return type.encode(type.fromObject(jsonToObject(type, json))).finish();
}

// ---------------------------------------------------------------------------------------------
// Output

function two(n: number): string {
  return String(n).padStart(2, '0');
}

function timestampOut(o: Record<string, unknown>): string {
  const seconds = Number(o.seconds ?? 0);
  const nanos = Number(o.nanos ?? 0);
  const d = new Date(seconds * 1000);
  const base = `${String(d.getUTCFullYear()).padStart(4, '0')}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}T${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${base}${fraction(nanos)}Z`;
}

/** 0, 3, 6 or 9 fractional digits, as the mapping writes them. */
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const s = String(nanos).padStart(9, '0');
  if (s.endsWith('000000')) return `.${s.slice(0, 3)}`;
  if (s.endsWith('000')) return `.${s.slice(0, 6)}`;
  return `.${s}`;
}

function durationOut(o: Record<string, unknown>): string {
  const seconds = BigInt(String(o.seconds ?? '0'));
  const nanos = Number(o.nanos ?? 0);
  const negative = seconds < 0n || nanos < 0;
  const abs = seconds < 0n ? -seconds : seconds;
  return `${negative ? '-' : ''}${abs}${fraction(Math.abs(nanos))}s`;
}

function valueOut(o: Record<string, unknown> | null | undefined): unknown {
  if (o === null || o === undefined) return null;
  if (hasOut(o, 'number_value')) return getOut(o, 'number_value');
  if (hasOut(o, 'string_value')) return getOut(o, 'string_value');
  if (hasOut(o, 'bool_value')) return getOut(o, 'bool_value');
  if (hasOut(o, 'struct_value')) return structOut(getOut(o, 'struct_value') as Record<string, unknown>);
  if (hasOut(o, 'list_value')) return (((getOut(o, 'list_value') as Record<string, unknown>).values as Array<Record<string, unknown>> | undefined) ?? []).map(valueOut);
  return null;
}

function structOut(o: Record<string, unknown> | null | undefined): Record<string, unknown> {
  const fields = (o?.fields ?? {}) as Record<string, Record<string, unknown>>;
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, valueOut(v)]));
}

/** A field without presence (proto3 singular scalar outside a oneof) at its default value. */
function isDefault(f: protobuf.Field, v: unknown): boolean {
  if (f.partOf !== null || f.resolvedType instanceof protobuf.Type) return false;
  if (f.map) return v !== null && typeof v === 'object' && Object.keys(v).length === 0;
  if (f.repeated) return Array.isArray(v) && v.length === 0;
  if (f.resolvedType instanceof protobuf.Enum) return v === 0 || v === f.resolvedType.valuesById[0];
  if (f.type === 'string' || f.type === 'bytes') return v === '';
  if (f.type === 'bool') return v === false;
  return v === 0 || v === '0';
}

function messageOut(type: protobuf.Type, o: unknown, emitDefaults = false): unknown {
  if (o === null || o === undefined) return null;
  const obj = o as Record<string, unknown>;
  const full = type.fullName;
  if (full === '.google.protobuf.Timestamp') return timestampOut(obj);
  if (full === '.google.protobuf.Duration') return durationOut(obj);
  if (WRAPPERS.has(full)) return obj.value ?? null;
  if (full === '.google.protobuf.Struct') return structOut(obj);
  if (full === '.google.protobuf.Value') return valueOut(obj);
  if (full === '.google.protobuf.ListValue') return ((obj.values as Array<Record<string, unknown>> | undefined) ?? []).map(valueOut);
  if (full === '.google.protobuf.FieldMask') return ((obj.paths as string[] | undefined) ?? []).map((p) => p.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())).join(',');
  if (full === '.google.protobuf.Empty' || full === '.google.protobuf.Any') return obj;
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    if (!Object.hasOwn(obj, f.name)) continue;
    const v = obj[f.name];
    // protobufjs encodes explicitly set zero values, so a peer may send them: proto3 JSON omits them.
    if (!emitDefaults && isDefault(f, v)) continue;
    const name = jsonName(f);
    const conv = (x: unknown) => (f.resolvedType instanceof protobuf.Type ? messageOut(f.resolvedType, x, emitDefaults) : x);
    if (f.map) out[name] = Object.fromEntries(Object.entries((v ?? {}) as Record<string, unknown>).map(([k, x]) => [k, conv(x)]));
    else if (f.repeated) out[name] = ((v ?? []) as unknown[]).map(conv);
    else out[name] = conv(v);
  }
  return out;
}

/** Decoded message → proto3 JSON; `emitDefaults` writes fields at their default value too. */
export function messageToJson(type: protobuf.Type, message: protobuf.Message, emitDefaults: boolean): unknown {
  const o = type.toObject(message, { longs: String, enums: String, bytes: String, json: true, defaults: emitDefaults, arrays: emitDefaults, objects: emitDefaults });
  return messageOut(type, o, emitDefaults);
}

/** Decodes wire bytes of `type` into proto3 JSON. */
export function decodeToJson(type: protobuf.Type, bytes: Uint8Array, emitDefaults: boolean): unknown {
  return messageToJson(type, type.decode(bytes), emitDefaults);
}
