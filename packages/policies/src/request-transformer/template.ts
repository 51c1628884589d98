import { isFieldValue } from '@tollgate/model';
import type { PolicyContext } from '../types.js';

/**
 * Value templates of the transformation policies: literal text with `{reference}` placeholders,
 * parsed once when a config is validated (so an unknown reference is refused at apply, never
 * discovered per request). `{{` and `}}` stand for literal braces.
 *
 * References:
 * - request: `{method}`, `{path}`, `{clientIp}`, `{requestId}`, `{api}`, `{route}`,
 *   `{query.<name>}` (first value, decoded), `{header.<name>}` (case-insensitive);
 * - caller: `{consumer.name}`, `{consumer.customId}`, `{consumer.groups}` (comma-separated),
 *   `{claims.<claim>}` (a verified JWT claim; dots reach into objects: `{claims.org.id}`).
 */
export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'method' | 'path' | 'clientIp' | 'requestId' | 'api' | 'route' | 'consumer.name' | 'consumer.customId' | 'consumer.groups' }
  | { readonly kind: 'query' | 'header'; readonly name: string }
  | { readonly kind: 'claims'; readonly path: readonly string[] };

/** A parsed template. `single` is set when the template is exactly one reference: its value keeps its JSON type (a claim array stays an array). */
export interface Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  readonly single: boolean;
  /** True when there is no reference at all (a constant). */
  readonly constant: boolean;
}

const SIMPLE = new Set(['method', 'path', 'clientIp', 'requestId', 'api', 'route', 'consumer.name', 'consumer.customId', 'consumer.groups']);

/** Every reference form, for error messages. */
export const TEMPLATE_REFERENCES = '{method}, {path}, {clientIp}, {requestId}, {api}, {route}, {query.<name>}, {header.<name>}, {consumer.name}, {consumer.customId}, {consumer.groups}, {claims.<claim>}';

/** Thrown by {@link parseTemplate} with a message fit for a config issue. */
export class TemplateError extends Error {}

function reference(ref: string, source: string): TemplatePart {
  const r = ref.trim();
  if (SIMPLE.has(r)) return { kind: r as 'method' };
  const dot = r.indexOf('.');
  const head = dot === -1 ? r : r.slice(0, dot);
  const rest = dot === -1 ? '' : r.slice(dot + 1);
  if ((head === 'query' || head === 'header') && rest !== '') {
    if (head === 'header' && !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(rest)) throw new TemplateError(`"{${r}}" in "${source}": "${rest}" is not an HTTP field name`);
    return { kind: head, name: head === 'header' ? rest.toLowerCase() : rest };
  }
  if (head === 'claims' && rest !== '') {
    const path = rest.split('.');
    if (path.some((p) => p === '')) throw new TemplateError(`"{${r}}" in "${source}": empty claim name`);
    return { kind: 'claims', path };
  }
  throw new TemplateError(`"{${r}}" in "${source}" references nothing known; use ${TEMPLATE_REFERENCES}`);
}

/** Parses a template; throws {@link TemplateError} on an unknown reference or an unbalanced brace. */
export function parseTemplate(source: string): Template {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (c === '{' && source[i + 1] === '{') {
      text += '{';
      i++;
    } else if (c === '}' && source[i + 1] === '}') {
      text += '}';
      i++;
    } else if (c === '{') {
      const end = source.indexOf('}', i + 1);
      if (end === -1) throw new TemplateError(`"${source}": "{" at ${i} is not closed (write "{{" for a literal brace)`);
      if (text !== '') parts.push({ kind: 'text', text });
      text = '';
      parts.push(reference(source.slice(i + 1, end), source));
      i = end;
    } else if (c === '}') {
      throw new TemplateError(`"${source}": "}" at ${i} has no "{" (write "}}" for a literal brace)`);
    } else text += c;
  }
  if (text !== '') parts.push({ kind: 'text', text });
  const refs = parts.filter((p) => p.kind !== 'text').length;
  return Object.freeze({ source, parts: Object.freeze(parts), single: refs === 1 && parts.length === 1, constant: refs === 0 });
}

/** First value of query parameter `name` in a raw query string, decoded; undefined when absent. */
export function queryValue(query: string | null, name: string): string | undefined {
  if (query === null || query === '') return undefined;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const k = eq === -1 ? pair : pair.slice(0, eq);
    if (decode(k) === name) return eq === -1 ? '' : decode(pair.slice(eq + 1));
  }
  return undefined;
}

/** `application/x-www-form-urlencoded` decoding that never throws (a bad escape stays as is). */
export function decode(s: string): string {
  const plus = s.includes('+') ? s.replaceAll('+', ' ') : s;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

function claim(claims: Readonly<Record<string, unknown>> | null, path: readonly string[]): unknown {
  let v: unknown = claims;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** The value of one reference, or undefined when the request or caller has none. */
function resolvePart(p: TemplatePart, ctx: PolicyContext, query: string | null): unknown {
  switch (p.kind) {
    case 'text':
      return p.text;
    case 'method':
      return ctx.method;
    case 'path':
      return ctx.path;
    case 'clientIp':
      return ctx.clientIp;
    case 'requestId':
      return ctx.requestId;
    case 'api':
      return ctx.api;
    case 'route':
      return ctx.route;
    case 'consumer.name':
      return ctx.consumer?.name;
    case 'consumer.customId':
      return ctx.consumer?.customId ?? undefined;
    case 'consumer.groups':
      return ctx.consumer === null ? undefined : ctx.consumer.groups.join(',');
    case 'query':
      return queryValue(query, p.name);
    case 'header': {
      const v = ctx.headers[p.name];
      return Array.isArray(v) ? v.join(', ') : v;
    }
    case 'claims':
      return claim(ctx.claims, p.path);
  }
}

/**
 * Renders a template for one request. Returns undefined when a referenced value is missing (no
 * consumer, an absent header or claim): the operation using it is then skipped rather than
 * sending an empty or half-filled value. A single-reference template keeps the value's JSON type.
 * `query` is the query the client sent (templates read the request as received).
 */
export function render(t: Template, ctx: PolicyContext, query: string | null): unknown {
  if (t.constant) return t.source.length === 0 ? '' : (t.parts[0] as { text: string } | undefined)?.text ?? '';
  if (t.single) return resolvePart(t.parts[0] as TemplatePart, ctx, query);
  let out = '';
  for (const p of t.parts) {
    const v = resolvePart(p, ctx, query);
    if (v === undefined || v === null) return undefined;
    out += typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/**
 * {@link renderString} for a header value: undefined when a referenced value is missing, null
 * when the rendered text is not an RFC 9110 §5.5 field value (request data with CR, LF, NUL or
 * another control character: the caller refuses the request). A constant template was checked
 * at apply and is not checked again.
 */
export function renderHeader(t: Template, ctx: PolicyContext, query: string | null): string | null | undefined {
  const v = renderString(t, ctx, query);
  if (v === undefined || t.constant || isFieldValue(v)) return v;
  return null;
}

/** {@link render} for header and query values: a non-string value is JSON-encoded. */
export function renderString(t: Template, ctx: PolicyContext, query: string | null): string | undefined {
  const v = render(t, ctx, query);
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}
