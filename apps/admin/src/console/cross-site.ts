import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** Methods that change nothing (RFC 9110 §9.2.1); all others need the CSRF checks. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(method: string): boolean {
  return SAFE.has(method);
}

/**
 * Why a cookie-carrying request looks cross-site, or undefined when it does not. Browsers send
 * `Sec-Fetch-Site` (Fetch Metadata) and `Origin` (RFC 6454 §7) on every POST/PUT/DELETE; either
 * naming another site refuses the request. SameSite=Strict already keeps the cookie off such
 * requests in current browsers: this is the second lock.
 */
export function crossSiteReason(request: FastifyRequest): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin') return `Sec-Fetch-Site is "${site}"`;
  const origin = request.headers.origin;
  if (typeof origin === 'string') {
    // Hosts compared as URL parses them, so a default port written out (`:80`) still matches.
    let same: boolean;
    try {
      const from = new URL(origin);
      same = request.headers.host !== undefined && from.host === new URL(`${from.protocol}//${request.headers.host}`).host;
    } catch {
      return 'the Origin header is not a URL';
    }
    if (!same) return 'the Origin header names another site';
  }
  return undefined;
}

/** Whether the request carries the session's CSRF token in `X-CSRF-Token` (compared in constant time). */
export function carriesCsrfToken(request: FastifyRequest, expected: string): boolean {
  const sent = request.headers['x-csrf-token'];
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
