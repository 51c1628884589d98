import type { FastifyRequest } from 'fastify';

/** Name of the console's session cookie. */
export const SESSION_COOKIE = 'tollgate_console';

/**
 * The value of one cookie from the `Cookie` header (RFC 6265 §5.4: `name=value` pairs separated
 * by `; `). Hand-written rather than @fastify/cookie: the admin reads exactly one cookie whose
 * value is base64url, so no decoding or signing is involved.
 */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return /^[A-Za-z0-9_-]{16,128}$/.test(value) ? value : undefined;
  }
  return undefined;
}

/** Whether the request reached us over TLS, directly or (X-Forwarded-Proto) through a trusted proxy. */
export function overTls(request: FastifyRequest): boolean {
  // Fastify's `protocol` honours X-Forwarded-Proto only from addresses in `trustProxy`.
  return request.protocol === 'https';
}

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Strict (never sent on a cross-site
 * request, RFC 6265bis §5.4.7), Path=/ (the console calls the API at the root), Secure behind TLS.
 * Without Max-Age it lasts until the browser closes: the server ends it on idle or absolute expiry,
 * so the idle expiry can slide without re-sending the cookie. Max-Age 0 deletes it.
 */
export function sessionCookie(request: FastifyRequest, value: string, maxAgeSeconds?: number): string {
  return [`${SESSION_COOKIE}=${value}`, 'HttpOnly', 'SameSite=Strict', 'Path=/', ...(maxAgeSeconds !== undefined ? [`Max-Age=${maxAgeSeconds}`] : []), ...(overTls(request) ? ['Secure'] : [])].join('; ');
}
