import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdminRole, AdminToken, AdminTokenStore, AuditActor } from '@tollgate/stores';
import type { AuthThrottle } from './auth-throttle.js';
import { readCookie, SESSION_COOKIE } from './console/cookies.js';
import { carriesCsrfToken, crossSiteReason, isSafeMethod } from './console/cross-site.js';
import type { ConsoleSession, ConsoleSessions } from './console/session-store.js';
import { ROLE_PERMISSIONS, rolesWith, ruleOf, type RouteRule } from './permissions.js';
import { ProblemError } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Role of the admin token that authenticated the request (undefined on public routes). */
    adminRole?: AdminRole;
    /** Id of that token, for audit logs. */
    adminTokenId?: string;
    /** The authenticated token as the audit log names it. */
    adminActor?: AuditActor;
    /** The permission-table entry of the matched route. */
    adminRule?: RouteRule;
    /** Why authentication failed (for the audit log; never contains the token). */
    authFailure?: string;
    /** Set once the change's own transaction wrote the audit entry. */
    auditRecorded?: boolean;
    /** Set when a console session cookie (not a bearer token) authenticated the request. */
    viaConsoleSession?: boolean;
  }
}

/** SHA-256 hex digest of a token: the only form in which tokens are stored and compared. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Reads `Authorization: Bearer <token>` (RFC 6750 §2.1); the scheme is case-insensitive (RFC 9110 §11.1). */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1];
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="tollgate-admin"' };

/**
 * Authenticates every non-public request by its bearer token's SHA-256 digest, then checks the
 * token's role against the route's permission (permissions.ts). It runs in `onRequest`, before
 * the body is read, so an unauthenticated or unauthorized client cannot make the server parse a
 * large YAML body. Unmatched URLs need a valid token too (401 before 404).
 */
export function registerAuth(app: FastifyInstance, tokens: AdminTokenStore, throttle?: AuthThrottle, sessions?: ConsoleSessions): void {
  app.addHook('onRequest', async (request) => {
    const pattern = request.routeOptions.url;
    const rule = pattern === undefined ? undefined : ruleOf(request.method, pattern);
    if (rule) request.adminRule = rule;
    if (rule?.permission === 'public') return;
    const address = request.ip;
    const wait = throttle?.blockedFor(address) ?? 0;
    if (wait > 0) {
      // RFC 6585 §4 with Retry-After in seconds (RFC 9110 §10.2.3).
      throw new ProblemError('TOO_MANY_REQUESTS', 'too many failed admin authentications from this address; try again later', { headers: { 'retry-after': String(Math.ceil(wait / 1000)) } });
    }
    // A console session cookie stands in for the token only when no Authorization header is sent:
    // bearer clients (CLI, scripts) are never affected by a cookie a browser may also hold.
    const sessionId = request.headers.authorization === undefined && sessions ? readCookie(request, SESSION_COOKIE) : undefined;
    if (sessionId !== undefined && sessions) {
      const found = await sessionToken(sessions, tokens, sessionId);
      if (!found) {
        // Not counted by the throttle: a 256-bit id cannot be guessed, and a browser holding an
        // expired cookie would otherwise lock its operator out of signing in again.
        request.authFailure = 'unknown, expired or revoked console session';
        throw new ProblemError('UNAUTHORIZED', 'the console session has ended; sign in again', { headers: CHALLENGE });
      }
      authenticate(request, found.token);
      request.viaConsoleSession = true;
      if (!isSafeMethod(request.method)) {
        const crossSite = crossSiteReason(request);
        if (crossSite !== undefined) throw new ProblemError('FORBIDDEN', `cross-site request refused: ${crossSite}`);
        // OWASP CSRF prevention: a cookie-authenticated mutation must echo the session's token.
        if (!carriesCsrfToken(request, found.session.csrf)) throw new ProblemError('FORBIDDEN', 'a console session request that changes something must carry the session\'s CSRF token in X-CSRF-Token (GET /console/session returns it)');
      }
      authorize(request, found.token.role, rule, pattern);
      return;
    }
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) {
      request.authFailure = request.headers.authorization === undefined ? 'no credentials' : 'malformed Authorization header';
      throttle?.fail(address);
      // RFC 6750 §3: a request without credentials gets the challenge without an error code.
      throw new ProblemError('UNAUTHORIZED', 'send an admin token as "Authorization: Bearer <token>"', { headers: CHALLENGE });
    }
    const found = await liveToken(tokens, hashToken(token));
    if (!found) {
      request.authFailure = 'invalid or revoked token';
      throttle?.fail(address);
      throw new ProblemError('UNAUTHORIZED', 'the admin token is invalid or revoked', {
        headers: { 'www-authenticate': 'Bearer realm="tollgate-admin", error="invalid_token"' },
      });
    }
    authenticate(request, found);
    authorize(request, found.role, rule, pattern);
  });
}

function authenticate(request: FastifyRequest, found: AdminToken): void {
  request.adminRole = found.role;
  request.adminTokenId = found.id;
  request.adminActor = { id: found.id, name: found.name, role: found.role };
}

function authorize(request: FastifyRequest, role: AdminRole, rule: RouteRule | undefined, pattern: string | undefined): void {
  if (rule && rule.permission !== 'public' && !ROLE_PERMISSIONS[role].has(rule.permission)) {
    const needed = rolesWith(rule.permission);
    throw new ProblemError('FORBIDDEN', `${request.method} ${pattern ?? ''} requires role ${needed.map((r) => `"${r}"`).join(' or ')} (permission ${rule.permission}); this token has role "${role}"`);
  }
}

/**
 * A live, unrevoked admin token by its digest. The store looks the digest up; comparing it again in
 * constant time keeps a store that matched loosely (case, prefix) from letting a different token through.
 */
export async function liveToken(tokens: AdminTokenStore, hash: string): Promise<AdminToken | undefined> {
  const found = await tokens.findByHash(hash);
  return found && !found.revokedAt && sameDigest(found.hash, hash) ? found : undefined;
}

/**
 * The token behind a console session, looked up again on every request so that revoking the
 * token ends its sessions at once; an ended or revoked session is forgotten.
 */
export async function sessionToken(sessions: ConsoleSessions, tokens: AdminTokenStore, id: string): Promise<{ token: AdminToken; session: ConsoleSession } | undefined> {
  const session = await sessions.use(id);
  if (!session) return undefined;
  const token = await liveToken(tokens, session.tokenHash);
  if (!token) {
    await sessions.end(id);
    return undefined;
  }
  return { token, session };
}

/**
 * Refuses to register a route the permission table does not know: a new route must be given a
 * permission before the admin API starts at all.
 */
export function requirePermissionEntries(app: FastifyInstance): void {
  const routes: AdminRoute[] = [];
  REGISTERED.set(app, routes);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (ruleOf(method, route.url) === undefined) throw new Error(`admin route ${method} ${route.url} has no entry in the permission table (permissions.ts)`);
      routes.push({ method, url: route.url });
    }
  });
}

/** A registered admin route: method and pattern (`/apis/:name`). */
export interface AdminRoute {
  method: string;
  url: string;
}

const REGISTERED = new WeakMap<FastifyInstance, AdminRoute[]>();

/** Every route `buildAdmin` registered (HEAD and swagger-ui assets included), for the role tests. */
export function adminRoutes(app: FastifyInstance): readonly AdminRoute[] {
  return REGISTERED.get(app) ?? [];
}

/** Whether a request was answered by a public route (no token needed). */
export function isPublicRequest(request: FastifyRequest): boolean {
  return request.adminRule?.permission === 'public';
}

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
