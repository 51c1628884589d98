import { takeQueryParams } from '../identity/query.js';
import type { PolicyContext } from '../types.js';
import type { JwtAuthConfig } from './schema.js';

/** A token found in a request, and the places that carried one (to remove them unless forwarded). */
export interface FoundToken {
  readonly token: string;
  /** Headers that carried a token. */
  readonly headers: readonly string[];
  /** The Cookie header without the token cookie (null: nothing left), or undefined when no cookie carried one. */
  readonly cookieRest: string | null | undefined;
  /** The query without the token parameters, or undefined when no parameter carried one. */
  readonly queryRest: string | null | undefined;
}

interface HeaderSource {
  readonly name: string;
  /** Lower-cased literal prefix; '' = the whole value. */
  readonly prefix: string;
  /** True for the legacy `scheme` form: `<scheme> 1*SP token`. */
  readonly scheme: boolean;
}

/** Reads the token from the configured places; removal is a separate step, decided per issuer. */
export class TokenReader {
  readonly #headers: readonly HeaderSource[];
  readonly #cookie: string | undefined;
  readonly #query: ReadonlySet<string> | null;

  constructor(config: Pick<JwtAuthConfig, 'token'>) {
    const t = config.token;
    this.#headers =
      t.headers !== undefined
        ? t.headers.map((h) => ({ name: h.name, prefix: h.prefix.toLowerCase(), scheme: false }))
        : [{ name: t.header, prefix: t.scheme.toLowerCase(), scheme: t.scheme !== '' }];
    this.#cookie = t.cookie;
    const names = [...(t.query !== undefined ? [t.query] : []), ...t.queryParams];
    this.#query = names.length > 0 ? new Set(names) : null;
  }

  /** The first token of the configured places (headers in order, the cookie, the query), or undefined. */
  read(ctx: PolicyContext): FoundToken | undefined {
    let token: string | undefined;
    let headers: string[] | null = null;
    for (const h of this.#headers) {
      const found = this.#fromHeader(ctx.headers[h.name], h);
      if (found === undefined) continue;
      (headers ??= []).push(h.name);
      token ??= found;
    }
    let cookieRest: string | null | undefined;
    if (this.#cookie !== undefined) {
      const c = this.#takeCookie(ctx);
      if (c !== undefined) {
        cookieRest = c.rest;
        token ??= c.value;
      }
    }
    let queryRest: string | null | undefined;
    if (this.#query !== null) {
      const taken = takeQueryParams(ctx.query, this.#query);
      if (taken.values.length > 0) {
        queryRest = taken.rest;
        token ??= taken.values.find((v) => v !== '') ?? '';
      }
    }
    if (token === undefined || token === '') return undefined;
    return { token, headers: headers ?? [], cookieRest, queryRest };
  }

  /** Removes every place that carried a token from the upstream request. */
  strip(ctx: PolicyContext, found: FoundToken): void {
    for (const h of found.headers) ctx.removeUpstreamHeader(h);
    if (found.cookieRest !== undefined) {
      if (found.cookieRest !== null) ctx.setUpstreamHeader('cookie', found.cookieRest);
      else ctx.removeUpstreamHeader('cookie');
    }
    if (found.queryRest !== undefined) ctx.query = found.queryRest;
  }

  #fromHeader(v: string | string[] | undefined, h: HeaderSource): string | undefined {
    const value = Array.isArray(v) ? v[0] : v;
    if (typeof value !== 'string') return undefined;
    if (h.scheme) {
      // RFC 6750 §2.1: `Bearer 1*SP b64token`; the scheme is case-insensitive (RFC 9110 §11.1).
      const sp = value.indexOf(' ');
      if (sp > 0 && value.slice(0, sp).toLowerCase() === h.prefix) return value.slice(sp + 1).trim() || undefined;
      return undefined;
    }
    if (h.prefix === '') return value.trim() || undefined;
    // Istio fromHeaders `prefix`: literal text (e.g. "Bearer ") stripped before the token.
    if (value.length > h.prefix.length && value.slice(0, h.prefix.length).toLowerCase() === h.prefix) return value.slice(h.prefix.length).trim() || undefined;
    return undefined;
  }

  #takeCookie(ctx: PolicyContext): { value: string; rest: string | null } | undefined {
    const c = ctx.headers.cookie;
    if (typeof c !== 'string') return undefined;
    let value: string | undefined;
    const kept: string[] = [];
    for (const part of c.split(';')) {
      const eq = part.indexOf('=');
      if (eq !== -1 && part.slice(0, eq).trim() === this.#cookie) value ??= part.slice(eq + 1).trim();
      else if (part.trim() !== '') kept.push(part.trim());
    }
    if (value === undefined) return undefined;
    return { value, rest: kept.length > 0 ? kept.join('; ') : null };
  }
}
