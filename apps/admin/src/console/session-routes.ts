import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminToken, AdminTokenStore, AuditStore } from '@tollgate/stores';
import { hashToken, liveToken, sessionToken } from '../auth.js';
import type { AuthThrottle } from '../auth-throttle.js';
import { parsePart } from '../portal/parse.js';
import { ProblemError } from '../problem.js';
import { errorResponses } from '../schemas.js';
import { readCookie, SESSION_COOKIE, sessionCookie } from './cookies.js';
import { carriesCsrfToken, crossSiteReason } from './cross-site.js';
import type { ConsoleSessions } from './session-store.js';

/** What the console learns about its session: never the token, never the session id. */
const SessionView = z.object({
  role: z.enum(['admin', 'operator', 'viewer', 'billing']),
  name: z.string().describe('Name of the admin token that signed in.'),
  csrfToken: z.string().describe('Send it as X-CSRF-Token on every POST, PUT and DELETE made with the session cookie.'),
  idleSecondsLeft: z.number().int().describe('Seconds until the session ends if unused; every request slides it.'),
});

const SignIn = z.object({ token: z.string().min(1).max(512) });

const CHALLENGE = { 'www-authenticate': 'Bearer realm="tollgate-admin"' };

interface Deps {
  tokens: AdminTokenStore;
  audit: AuditStore;
  sessions: ConsoleSessions;
  throttle: AuthThrottle;
}

/**
 * `POST|GET|DELETE /console/session`: the browser console exchanges an admin token (in the body,
 * never in a URL) for an HttpOnly session cookie, reads its role and CSRF token, and signs out.
 * These routes are public in the permission table and authenticate here themselves.
 */
export function register(app: FastifyInstance, deps: Deps): void {
  const { tokens, audit, sessions, throttle } = deps;
  const view = (token: AdminToken, csrf: string, seconds: number) => ({ role: token.role, name: token.name, csrfToken: csrf, idleSecondsLeft: seconds });

  app.post('/console/session', {
    schema: { tags: ['console'], summary: 'Sign in to the console with an admin token', description: 'Exchanges an admin token (in the JSON body, never in a URL) for an HttpOnly, SameSite=Strict session cookie. Failed sign-ins count towards the authentication throttle.', security: [], body: SignIn, response: { 201: SessionView, ...errorResponses } },
  }, async (request, reply) => {
    refuseCrossSite(request);
    const wait = throttle.blockedFor(request.ip);
    if (wait > 0) throw new ProblemError('TOO_MANY_REQUESTS', 'too many failed admin authentications from this address; try again later', { headers: { 'retry-after': String(Math.ceil(wait / 1000)) } });
    const { token: presented } = parsePart(SignIn, request.body, 'body');
    const token = await liveToken(tokens, hashToken(presented));
    if (!token) {
      // The audit hook writes `auth.failed` for it (without the token).
      request.authFailure = 'console sign-in with an invalid or revoked token';
      throttle.fail(request.ip);
      throw new ProblemError('UNAUTHORIZED', 'the admin token is invalid or revoked', { headers: CHALLENGE });
    }
    // A new id on every sign-in, and the browser's previous session (if any) ended: an id planted
    // before sign-in is never promoted to a signed-in session (OWASP: session fixation).
    const previous = readCookie(request, SESSION_COOKIE);
    if (previous !== undefined) await sessions.end(previous);
    const { id, session } = await sessions.create(token);
    await audit.record({ action: 'console.sign-in', outcome: 'success', status: 201, actor: { id: token.id, name: token.name, role: token.role }, requestId: request.id, clientAddress: request.ip });
    noStore(reply).header('set-cookie', sessionCookie(request, id));
    return reply.code(201).send(view(token, session.csrf, sessions.secondsLeft(session)));
  });

  app.get('/console/session', {
    schema: { tags: ['console'], summary: 'The signed-in role and the CSRF token of this console session', security: [], response: { 200: SessionView, ...errorResponses } },
  }, async (request, reply) => {
    const id = readCookie(request, SESSION_COOKIE);
    const found = id === undefined ? undefined : await sessionToken(sessions, tokens, id);
    if (id === undefined || !found) throw new ProblemError('UNAUTHORIZED', 'no console session; sign in with POST /console/session', { headers: CHALLENGE });
    return noStore(reply).send(view(found.token, found.session.csrf, sessions.secondsLeft(found.session)));
  });

  app.delete('/console/session', {
    schema: { tags: ['console'], summary: 'Sign out: end this console session', security: [], response: { 204: z.null(), ...errorResponses } },
  }, async (request, reply) => {
    const id = readCookie(request, SESSION_COOKIE);
    const found = id === undefined ? undefined : await sessionToken(sessions, tokens, id);
    if (id !== undefined && found) {
      refuseCrossSite(request);
      if (!carriesCsrfToken(request, found.session.csrf)) throw new ProblemError('FORBIDDEN', 'signing out needs the session\'s CSRF token in X-CSRF-Token');
      await sessions.end(id);
      await audit.record({ action: 'console.sign-out', outcome: 'success', status: 204, actor: { id: found.token.id, name: found.token.name, role: found.token.role }, requestId: request.id, clientAddress: request.ip });
    }
    // Ended or not, the browser drops its cookie (Max-Age=0, RFC 6265 §5.2.2).
    noStore(reply).header('set-cookie', sessionCookie(request, '', 0));
    return reply.code(204).send();
  });
}

function refuseCrossSite(request: FastifyRequest): void {
  const reason = crossSiteReason(request);
  if (reason !== undefined) throw new ProblemError('FORBIDDEN', `cross-site request refused: ${reason}`);
}

/** Session answers carry the CSRF token: no cache may keep them (RFC 9111 §5.2.2.5). */
function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}
