import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdminRole, AdminTokenStore } from '@tollgate/stores';
import { ProblemError } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Role of the admin token that authenticated the request (undefined on public routes). */
    adminRole?: AdminRole;
    /** Id of that token, for audit logs. */
    adminTokenId?: string;
  }
}

/** Route patterns readable without a token: liveness and the API's own description. */
const PUBLIC_ROUTES = new Set(['/healthz', '/openapi.json']);

/** Roles allowed to change configuration. A later issue replaces this with per-permission checks. */
const MUTATING_ROLES: ReadonlySet<AdminRole> = new Set(['admin', 'operator']);

/** Methods that never change state (RFC 9110 §9.2.1 safe methods). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** SHA-256 hex digest of a token: the only form in which tokens are stored and compared. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether a matched route pattern is public. Unmatched URLs (404s) are not: they need a token too. */
function isPublic(request: FastifyRequest): boolean {
  const pattern = request.routeOptions.url;
  if (pattern === undefined) return false;
  return PUBLIC_ROUTES.has(pattern) || pattern === '/docs' || pattern.startsWith('/docs/');
}

/** Reads `Authorization: Bearer <token>` (RFC 6750 §2.1); the scheme is case-insensitive (RFC 9110 §11.1). */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1];
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="tollgate-admin"' };

/**
 * Authenticates every non-public request by its bearer token's SHA-256 digest. It runs in
 * `onRequest`, before the body is read, so an unauthenticated client cannot make the server
 * parse a large YAML body.
 */
export function registerAuth(app: FastifyInstance, tokens: AdminTokenStore): void {
  app.addHook('onRequest', async (request) => {
    if (isPublic(request)) return;
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) {
      // RFC 6750 §3: a request without credentials gets the challenge without an error code.
      throw new ProblemError('UNAUTHORIZED', 'send an admin token as "Authorization: Bearer <token>"', { headers: CHALLENGE });
    }
    const hash = hashToken(token);
    const found = await tokens.findByHash(hash);
    // The store looks the digest up; comparing it again in constant time keeps a store that
    // matched loosely (case, prefix) from letting a different token through.
    if (!found || found.revokedAt || !sameDigest(found.hash, hash)) {
      throw new ProblemError('UNAUTHORIZED', 'the admin token is invalid or revoked', {
        headers: { 'www-authenticate': 'Bearer realm="tollgate-admin", error="invalid_token"' },
      });
    }
    request.adminRole = found.role;
    request.adminTokenId = found.id;
    if (!SAFE_METHODS.has(request.method) && !MUTATING_ROLES.has(found.role)) {
      throw new ProblemError('FORBIDDEN', `a token with role "${found.role}" may read but not change configuration`);
    }
  });
}

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
