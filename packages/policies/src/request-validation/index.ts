import { RE2JS } from 're2js';
import type { PolicyContext, PolicyDefinition, PolicyReply } from '../types.js';
import { compileSchema, type ErrorObject, type ValidateFunction } from './ajv.js';
import { requestValidationSchema, type RequestValidationConfig } from './schema.js';
import { requestValidationDefinition, REQUEST_VALIDATION_ERRORS } from './definition.js';
import { problemReply } from '../errors.js';

/** One field that failed validation: where (`/body/name`, `query.limit`) and why. */
export interface ValidationFailure {
  readonly field: string;
  readonly message: string;
}

type Location = 'path' | 'query' | 'header' | 'cookie';
type Param = RequestValidationConfig['parameters'][number];

interface CompiledParam {
  readonly name: string;
  readonly in: Location;
  readonly array: boolean;
  readonly separator: string | null;
}

interface CompiledMedia {
  readonly kind: 'json' | 'form' | 'other';
  readonly validate: ValidateFunction | null;
}

function isArraySchema(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false;
  const s = schema as Record<string, unknown>;
  if (s.type === 'array' || (Array.isArray(s.type) && s.type.includes('array'))) return true;
  // A root `$ref` into the schema's own `$defs` (what the importer writes for named schemas).
  if (typeof s.$ref === 'string' && s.$ref.startsWith('#/$defs/') && typeof s.$defs === 'object' && s.$defs !== null) {
    const target = (s.$defs as Record<string, unknown>)[s.$ref.slice('#/$defs/'.length)];
    return target !== s && isArraySchema(target);
  }
  return false;
}

/** Separator of a non-exploded array (OAS 3.0.3 §4.7.12.1 style values); null = repeated parameters. */
function separatorOf(p: Param): string | null {
  const style = p.style ?? (p.in === 'query' || p.in === 'cookie' ? 'form' : 'simple');
  if (style === 'spaceDelimited') return ' ';
  if (style === 'pipeDelimited') return '|';
  if (style === 'form') return (p.explode ?? true) ? null : ',';
  return ',';
}

/**
 * A pattern matching the end of a request path against an OpenAPI path template; groups in
 * parameter order. RE2, not the backtracking ECMA engine: with several variables in one segment
 * (`/{a}-{b}-{c}`) the lazy groups of an unanchored backtracking search are polynomial in the
 * path length, and the path is the client's.
 */
function templateRegex(template: string): { re: RE2JS; names: string[] } {
  const names: string[] = [];
  let src = '';
  let last = 0;
  for (const m of template.matchAll(/\{([^{}]+)\}/g)) {
    src += RE2JS.quote(template.slice(last, m.index));
    names.push(m[1] as string);
    src += '([^/]+?)';
    last = (m.index ?? 0) + m[0].length;
  }
  src += RE2JS.quote(template.slice(last));
  return { re: RE2JS.compile(`${src}$`), names };
}

function cookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) {
      const k = part.slice(0, i).trim();
      if (!out.has(k)) out.set(k, part.slice(i + 1).trim());
    }
  }
  return out;
}

/** `/body/name` for bodies (a JSON pointer), `query.limit` for parameters. */
function failures(errors: readonly ErrorObject[] | null | undefined, root: 'body' | 'params'): ValidationFailure[] {
  return (errors ?? []).slice(0, 10).map((e) => {
    const missing = e.keyword === 'required' ? `/${String((e.params as { missingProperty?: string }).missingProperty ?? '')}` : '';
    const extra = e.keyword === 'additionalProperties' ? `/${String((e.params as { additionalProperty?: string }).additionalProperty ?? '')}` : '';
    const ptr = `${e.instancePath}${missing}${extra}`;
    if (root === 'body') return { field: `/body${ptr}`, message: e.message ?? 'is invalid' };
    // `/query/limit/0` → `query.limit[0]`
    const [where, name, ...rest] = ptr.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
    return { field: `${where ?? ''}.${name ?? ''}${rest.map((r) => `[${r}]`).join('')}`, message: e.message ?? 'is invalid' };
  });
}

function badRequest(list: readonly ValidationFailure[]): PolicyReply {
  const first = list[0];
  return problemReply(REQUEST_VALIDATION_ERRORS.REQUEST_INVALID, first ? `${first.field} ${first.message}` : 'the request does not match its schema', { errors: list });
}

const UNSUPPORTED = (type: string, accepted: readonly string[]): PolicyReply =>
  problemReply(REQUEST_VALIDATION_ERRORS.UNSUPPORTED_MEDIA_TYPE, `${type === '' ? 'a body without Content-Type' : `content type ${type}`} is not accepted; send one of ${accepted.join(', ')}`, {
    headers: { 'accept-post': accepted.join(', ') },
    errors: [{ field: 'header.content-type', message: `must be one of ${accepted.join(', ')}` }],
  });

/**
 * `request-validation`: checks path, query, header and cookie parameters and the body of a
 * request against the JSON Schemas of its OpenAPI operation. Every schema is compiled by ajv 8
 * (JSON Schema 2020-12, ajv-formats plus OpenAPI's int32/int64/float/double/byte/binary/password)
 * when the snapshot is built, never per request. Bodies are read only on routes with a body
 * schema, up to `maxBodyBytes`, and forwarded as read. Runs after authentication, authorization
 * and limits, so invalid requests from unknown callers are refused as 401 first and still count
 * against limits.
 */
export const requestValidation: PolicyDefinition<typeof requestValidationSchema> = {
  ...requestValidationDefinition,
  build(config) {
    const params: CompiledParam[] = config.parameters.map((p) => ({ name: p.in === 'header' ? p.name.toLowerCase() : p.name, in: p.in, array: isArraySchema(p.schema), separator: separatorOf(p) }));
    const byIn = (where: Location) => config.parameters.filter((p) => p.in === where);
    const group = (where: Location) => {
      const list = byIn(where);
      return {
        type: 'object',
        properties: Object.fromEntries(list.map((p) => [p.in === 'header' ? p.name.toLowerCase() : p.name, p.schema])),
        required: list.filter((p) => p.required || p.in === 'path').map((p) => (p.in === 'header' ? p.name.toLowerCase() : p.name)),
      };
    };
    const paramSchemas = params.length === 0 ? null : { type: 'object', properties: { path: group('path'), query: group('query'), header: group('header'), cookie: group('cookie') } };
    const validateParams = paramSchemas === null ? null : compileSchema(paramSchemas, true);
    const tpl = config.pathTemplate !== undefined && params.some((p) => p.in === 'path') ? templateRegex(config.pathTemplate) : null;
    // Whether each template variable is an array parameter (looked up here, not per request).
    const tplArray = tpl === null ? [] : tpl.names.map((n) => params.find((x) => x.in === 'path' && x.name === n)?.array === true);
    const media = new Map<string, CompiledMedia>();
    for (const [type, m] of Object.entries(config.body?.content ?? {})) {
      const t = type.toLowerCase();
      const kind = /^application\/(?:[\w.+-]+\+)?json$/.test(t) ? 'json' : t === 'application/x-www-form-urlencoded' ? 'form' : 'other';
      media.set(t, { kind, validate: m.schema === undefined || kind === 'other' ? null : compileSchema(m.schema, kind === 'form') });
    }
    const accepted = [...media.keys()];
    const body = config.body ?? null;
    const limit = config.maxBodyBytes;
    const usesQuery = params.some((p) => p.in === 'query');
    const usesCookie = params.some((p) => p.in === 'cookie');

    const checkParams = (ctx: PolicyContext): PolicyReply | undefined => {
      if (validateParams === null) return undefined;
      const data: Record<Location, Record<string, unknown>> = { path: {}, query: {}, header: {}, cookie: {} };
      if (tpl !== null) {
        const m = tpl.re.matcher(ctx.path);
        if (m.find()) {
          for (let i = 0; i < tpl.names.length; i++) {
            const raw = m.group(i + 1) as string;
            let v: string;
            try {
              v = decodeURIComponent(raw);
            } catch {
              return badRequest([{ field: `path.${tpl.names[i] as string}`, message: 'is not valid percent-encoding' }]);
            }
            data.path[tpl.names[i] as string] = tplArray[i] === true ? v.split(',') : v;
          }
        }
      }
      const search = usesQuery ? new URLSearchParams(ctx.query ?? '') : null;
      const jar = usesCookie ? cookies(typeof ctx.headers.cookie === 'string' ? ctx.headers.cookie : undefined) : null;
      for (const p of params) {
        if (p.in === 'path') continue;
        let values: string[];
        if (p.in === 'query') values = (search as URLSearchParams).getAll(p.name);
        else if (p.in === 'header') {
          const h = ctx.headers[p.name];
          values = h === undefined ? [] : Array.isArray(h) ? h : [h];
        } else {
          const c = (jar as Map<string, string>).get(p.name);
          values = c === undefined ? [] : [c];
        }
        if (values.length === 0) continue;
        if (!p.array) data[p.in][p.name] = values[0];
        else data[p.in][p.name] = p.separator === null ? values : values.flatMap((v) => v.split(p.separator as string));
      }
      if (validateParams(data)) return undefined;
      return badRequest(failures(validateParams.errors, 'params'));
    };

    return {
      access(ctx: PolicyContext) {
        const r = checkParams(ctx);
        if (r !== undefined || body === null) return r;
        const cl = ctx.headers['content-length'];
        const hasBody = cl !== undefined ? Number(cl) > 0 : ctx.headers['transfer-encoding'] !== undefined;
        if (!hasBody) return body.required ? badRequest([{ field: '/body', message: 'a request body is required' }]) : undefined;
        const type = (typeof ctx.headers['content-type'] === 'string' ? ctx.headers['content-type'] : '').split(';')[0]?.trim().toLowerCase() ?? '';
        const m = media.get(type) ?? media.get(`${type.split('/')[0] ?? ''}/*`) ?? media.get('*/*');
        if (m === undefined) return UNSUPPORTED(type, accepted);
        if (m.validate === null || ctx.readBody === undefined) return undefined;
        const validate = m.validate;
        return ctx.readBody(limit).then((read): PolicyReply | undefined => {
          if (!read.ok) {
            if (read.reason === 'too_large') return problemReply(REQUEST_VALIDATION_ERRORS.BODY_TOO_LARGE, `bodies of validated requests are limited to ${limit} bytes`);
            return problemReply(REQUEST_VALIDATION_ERRORS.BAD_REQUEST, 'the request body could not be read');
          }
          let value: unknown;
          const text = read.body.toString('utf8');
          if (m.kind === 'json') {
            try {
              value = JSON.parse(text);
            } catch (e) {
              return badRequest([{ field: '/body', message: `is not valid JSON (${(e as Error).message})` }]);
            }
          } else {
            const form: Record<string, string | string[]> = {};
            for (const [k, v] of new URLSearchParams(text)) {
              const prev = form[k];
              form[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
            }
            value = form;
          }
          if (validate(value)) return undefined;
          return badRequest(failures(validate.errors, 'body'));
        });
      },
    };
  },
};

export { requestValidationSchema, type RequestValidationConfig } from './schema.js';
