import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PortalAccount, PortalAccountStore } from '@tollgate/stores';
import { overTls, readCookie } from '../console/cookies.js';
import { carriesCsrfToken, crossSiteReason, isSafeMethod } from '../console/cross-site.js';
import type { ConsoleSession, ConsoleSessions } from '../console/session-store.js';
import { ProblemError } from '../problem.js';

/** Name of the portal's session cookie (its own name: the portal may share a host with the console). */
export const PORTAL_COOKIE = 'tollgate_portal';

/**
 * The portal keeps its sessions as the console does (ConsoleSessions: SHA-256 of the id, idle and
 * absolute expiry), in the database under their own realm, so a console session is never a portal one. The "credential" a session is bound to is the SHA-256 of the account's
 * password digest: a password change (reset) makes every earlier session of the account fail.
 */
export function credentialOf(account: PortalAccount): { id: string; hash: string } {
  return { id: account.id, hash: createHash('sha256').update(account.passwordHash).digest('hex') };
}

/** HttpOnly, SameSite=Strict, Path=/, Secure behind TLS; Max-Age=0 deletes (RFC 6265 §5.2.2). */
export function portalCookie(request: FastifyRequest, value: string, maxAgeSeconds?: number): string {
  return [`${PORTAL_COOKIE}=${value}`, 'HttpOnly', 'SameSite=Strict', 'Path=/', ...(maxAgeSeconds !== undefined ? [`Max-Age=${maxAgeSeconds}`] : []), ...(overTls(request) ? ['Secure'] : [])].join('; ');
}

export function refuseCrossSite(request: FastifyRequest): void {
  const reason = crossSiteReason(request);
  if (reason !== undefined) throw new ProblemError('FORBIDDEN', `cross-site request refused: ${reason}`);
}

/** Answers carrying session data or secrets: no cache may keep them (RFC 9111 §5.2.2.5). */
export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}

export interface SignedIn {
  account: PortalAccount;
  session: ConsoleSession;
  sessionId: string;
}

/** The live session of the request and its account, whatever the account's status; undefined when none. */
export async function currentSession(request: FastifyRequest, sessions: ConsoleSessions, store: PortalAccountStore): Promise<SignedIn | undefined> {
  const id = readCookie(request, PORTAL_COOKIE);
  if (id === undefined) return undefined;
  const session = await sessions.use(id);
  if (!session) return undefined;
  const account = await store.get(session.tokenId);
  if (!account || credentialOf(account).hash !== session.tokenHash || account.status === 'rejected' || account.status === 'disabled') {
    await sessions.end(id);
    return undefined;
  }
  return { account, session, sessionId: id };
}

/**
 * The signed-in, active account of a self-service request, with its consumer. Every self-service
 * route takes the consumer from here and never from the request, so ids of another developer's
 * objects in a path or body can only miss. Changes also need the CSRF token and a same-site origin.
 */
export async function requireActive(request: FastifyRequest, sessions: ConsoleSessions, store: PortalAccountStore): Promise<SignedIn & { consumer: string }> {
  const found = await currentSession(request, sessions, store);
  if (!found) throw new ProblemError('UNAUTHORIZED', 'sign in to the portal first');
  if (!isSafeMethod(request.method)) {
    refuseCrossSite(request);
    if (!carriesCsrfToken(request, found.session.csrf)) throw new ProblemError('FORBIDDEN', 'this change needs the session\'s CSRF token in X-CSRF-Token');
  }
  if (found.account.status !== 'active' || found.account.consumer === undefined) throw new ProblemError('FORBIDDEN', found.account.status === 'pending' ? 'your account is waiting for an operator\'s approval' : 'confirm your email address first');
  return { ...found, consumer: found.account.consumer };
}
