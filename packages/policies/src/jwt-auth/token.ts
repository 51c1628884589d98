import { takeQueryParams } from '../identity/query.js';
import type { PolicyContext } from '../types.js';
import type { JwtAuthConfig } from './schema.js';

/** Reads the token from the configured places and (unless forwarded) removes it from the upstream request. */
export class TokenReader {
  readonly #header: string;
  readonly #scheme: string;
  readonly #cookie: string | undefined;
  readonly #query: ReadonlySet<string> | null;
  readonly #strip: boolean;

  constructor(config: JwtAuthConfig) {
    this.#header = config.token.header;
    this.#scheme = config.token.scheme.toLowerCase();
    this.#cookie = config.token.cookie;
    this.#query = config.token.query !== undefined ? new Set([config.token.query]) : null;
    this.#strip = !config.forwardToken;
  }

  /** The token, or undefined when none of the places carries one. */
  read(ctx: PolicyContext): string | undefined {
    let token: string | undefined;
    const h = ctx.headers[this.#header];
    if (typeof h === 'string') {
      if (this.#scheme === '') token = h.trim();
      else {
        // RFC 6750 §2.1: `Bearer 1*SP b64token`; the scheme is case-insensitive (RFC 9110 §11.1).
        const sp = h.indexOf(' ');
        if (sp > 0 && h.slice(0, sp).toLowerCase() === this.#scheme) token = h.slice(sp + 1).trim();
      }
      if (token !== undefined && this.#strip) ctx.removeUpstreamHeader(this.#header);
    }
    if (this.#cookie !== undefined) {
      const fromCookie = this.#takeCookie(ctx);
      token ??= fromCookie;
    }
    if (this.#query !== null) {
      const taken = takeQueryParams(ctx.query, this.#query);
      if (taken.values.length > 0) {
        if (this.#strip) ctx.query = taken.rest;
        token ??= taken.values[0];
      }
    }
    return token === '' ? undefined : token;
  }

  #takeCookie(ctx: PolicyContext): string | undefined {
    const c = ctx.headers.cookie;
    if (typeof c !== 'string') return undefined;
    let value: string | undefined;
    const kept: string[] = [];
    for (const part of c.split(';')) {
      const eq = part.indexOf('=');
      if (eq !== -1 && part.slice(0, eq).trim() === this.#cookie) value ??= part.slice(eq + 1).trim();
      else if (part.trim() !== '') kept.push(part.trim());
    }
    if (value !== undefined && this.#strip) {
      if (kept.length > 0) ctx.setUpstreamHeader('cookie', kept.join('; '));
      else ctx.removeUpstreamHeader('cookie');
    }
    return value;
  }
}
