import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledValueTemplate } from '@tollgate/compiler';
import type { ConsumerIdentity } from '@tollgate/policies';
import { fieldAt } from './shape.js';

/** Everything a template may read for one request; the query is parsed only when a template asks. */
export class TemplateValues {
  #params: URLSearchParams | null = null;
  /** Parsed JSON bodies of finished backends by name (set as they finish). */
  readonly responses = new Map<string, unknown>();

  constructor(
    private readonly captures: Readonly<Record<string, string>> | null,
    private readonly query: string | null,
    private readonly headers: IncomingHttpHeaders,
    private readonly consumer: ConsumerIdentity | null,
  ) {}

  /** The value a reference names, as a string, or undefined when the request or response lacks it. */
  lookup(part: Exclude<CompiledValueTemplate['parts'][number], { text: string }>): string | undefined {
    switch (part.source) {
      case 'path': {
        const raw = this.captures?.[part.key];
        if (raw === undefined) return undefined;
        // A capture is one segment still in its percent-encoded form; decode it so encoding on
        // the way out does not double it.
        try {
          return decodeURIComponent(raw);
        } catch {
          return raw;
        }
      }
      case 'query':
        this.#params ??= new URLSearchParams(this.query ?? '');
        return this.#params.get(part.key) ?? undefined;
      case 'header': {
        const v = this.headers[part.key];
        // Repeated fields are one list (RFC 9110 §5.3).
        return v === undefined ? undefined : Array.isArray(v) ? v.join(', ') : v;
      }
      case 'consumer': {
        const c = this.consumer;
        if (c === null) return undefined;
        if (part.key === 'name') return c.name;
        if (part.key === 'customId') return c.customId ?? undefined;
        return c.groups.length > 0 ? c.groups.join(',') : undefined;
      }
      case 'resp': {
        if (!this.responses.has(part.backend)) return undefined;
        const v = fieldAt(this.responses.get(part.backend), part.field);
        return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
      }
    }
  }
}

/** How a rendered value is inserted: path-segment encoding, or as is (query values are encoded by URLSearchParams). */
export type Encoding = 'segment' | 'raw';

/**
 * Percent-encodes a value as (part of) one path segment (RFC 3986 §3.3): `/`, `?`, `#` and `%`
 * are encoded, so a value cannot add segments or a query; `.` and `..` alone are encoded too, so
 * a value cannot climb out of the configured path (RFC 3986 §5.2.4 only removes literal dots).
 */
export function encodeSegment(v: string): string {
  if (v === '.' || v === '..') return v.replaceAll('.', '%2E');
  return encodeURIComponent(v);
}

/** Renders a template, or returns the first missing reference as `{source.key}` text. */
export function render(t: CompiledValueTemplate, values: TemplateValues, encoding: Encoding): { ok: true; value: string } | { ok: false; missing: string } {
  let out = '';
  for (const part of t.parts) {
    if ('text' in part) {
      out += part.text;
      continue;
    }
    const v = values.lookup(part);
    if (v === undefined) return { ok: false, missing: part.source === 'resp' ? `{resp.${part.backend}.${part.field.join('.')}}` : `{${part.source}.${part.key}}` };
    out += encoding === 'segment' ? encodeSegment(v) : v;
  }
  return { ok: true, value: out };
}
