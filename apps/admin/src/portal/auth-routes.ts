import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuditStore, PortalAccount } from '@tollgate/stores';
import type { AuthThrottle } from '../auth-throttle.js';
import type { ConsoleSessions } from '../console/session-store.js';
import { carriesCsrfToken } from '../console/cross-site.js';
import { readCookie } from '../console/cookies.js';
import { ProblemError } from '../problem.js';
import { parsePart } from './parse.js';
import { DUMMY_PASSWORD_HASH, PASSWORD_MAX, verifyPassword } from './passwords.js';
import { accountView, type PortalAccounts } from './portal-accounts.js';
import { credentialOf, currentSession, noStore, PORTAL_COOKIE, portalCookie, refuseCrossSite } from './portal-session.js';

const SignIn = z.strictObject({ email: z.string().min(3).max(254), password: z.string().min(1).max(PASSWORD_MAX) });
const SignUp = z.strictObject({ email: z.string().max(254), password: z.string().max(PASSWORD_MAX), displayName: z.string().trim().max(100).default(''), invite: z.string().max(128).optional() });
const TokenBody = z.strictObject({ token: z.string().min(16).max(128) });
const ResetRequest = z.strictObject({ email: z.string().min(3).max(254) });
const ResetConfirm = z.strictObject({ token: z.string().min(16).max(128), password: z.string().max(PASSWORD_MAX) });

const parse = <T>(schema: z.ZodType<T>, body: unknown): T => parsePart(schema, body, 'body');

export interface AuthDeps {
  accounts: PortalAccounts;
  sessions: ConsoleSessions;
  audit: AuditStore;
  /** Failed sign-ins per address. */
  signInThrottle: AuthThrottle;
  /** Sign-ups, reset requests and link uses per address (every attempt counts). */
  signUpThrottle: AuthThrottle;
}

function throttled(throttle: AuthThrottle, ip: string, what: string): void {
  const wait = throttle.blockedFor(ip);
  if (wait > 0) throw new ProblemError('TOO_MANY_REQUESTS', `too many ${what} from this address; try again later`, { headers: { 'retry-after': String(Math.ceil(wait / 1000)) } });
}

/** Sign-up, email verification, sign-in and out, password reset: `/api/session`, `/api/sign-up`, … */
export function registerAuthRoutes(app: FastifyInstance, deps: AuthDeps): void {
  const { accounts, sessions, audit, signInThrottle, signUpThrottle } = deps;
  const store = accounts.store;
  const sessionView = (account: PortalAccount, csrf: string, seconds: number) => ({ account: accountView(account), csrfToken: csrf, idleSecondsLeft: seconds });

  app.post('/api/sign-up', async (request, reply) => {
    refuseCrossSite(request);
    throttled(signUpThrottle, request.ip, 'sign-ups');
    signUpThrottle.fail(request.ip);
    const body = parse(SignUp, request.body);
    const { status } = await accounts.signUp(body);
    const next = status === 'active' ? 'sign in' : 'confirm your email address with the link we sent';
    return noStore(reply).code(202).send({ status: status === 'active' ? 'active' : 'check-your-email', next });
  });

  app.post('/api/verify', async (request, reply) => {
    refuseCrossSite(request);
    throttled(signUpThrottle, request.ip, 'attempts');
    const { token } = parse(TokenBody, request.body);
    const account = await accounts.verify(token).catch((err: unknown) => {
      signUpThrottle.fail(request.ip);
      throw err;
    });
    return noStore(reply).send({ status: account.status });
  });

  app.post('/api/session', async (request, reply) => {
    refuseCrossSite(request);
    throttled(signInThrottle, request.ip, 'failed sign-ins');
    const body = parse(SignIn, request.body);
    const account = await store.findByEmail(body.email);
    // The digest is checked even without an account, so timing does not tell which emails exist.
    const ok = await verifyPassword(body.password, account?.passwordHash ?? DUMMY_PASSWORD_HASH);
    if (!account || !ok || account.status === 'rejected' || account.status === 'disabled') {
      signInThrottle.fail(request.ip);
      await audit.record({ action: 'portal.sign-in-failed', outcome: 'unauthenticated', status: 401, requestId: request.id, clientAddress: request.ip });
      throw new ProblemError('UNAUTHORIZED', 'email or password is not right');
    }
    const previous = readCookie(request, PORTAL_COOKIE);
    if (previous !== undefined) await sessions.end(previous);
    const { id, session } = await sessions.create(credentialOf(account));
    await audit.record({ action: 'portal.sign-in', outcome: 'success', status: 201, resourceKind: 'PortalAccount', resourceName: account.id, requestId: request.id, clientAddress: request.ip });
    noStore(reply).header('set-cookie', portalCookie(request, id));
    return reply.code(201).send(sessionView(account, session.csrf, sessions.secondsLeft(session)));
  });

  app.get('/api/session', async (request, reply) => {
    const found = await currentSession(request, sessions, store);
    if (!found) throw new ProblemError('UNAUTHORIZED', 'no portal session; sign in');
    return noStore(reply).send(sessionView(found.account, found.session.csrf, sessions.secondsLeft(found.session)));
  });

  app.delete('/api/session', async (request, reply) => {
    const found = await currentSession(request, sessions, store);
    if (found) {
      refuseCrossSite(request);
      if (!carriesCsrfToken(request, found.session.csrf)) throw new ProblemError('FORBIDDEN', 'signing out needs the session\'s CSRF token in X-CSRF-Token');
      await sessions.end(found.sessionId);
    }
    noStore(reply).header('set-cookie', portalCookie(request, '', 0));
    return reply.code(204).send();
  });

  app.post('/api/verify/resend', async (request, reply) => {
    const found = await currentSession(request, sessions, store);
    if (!found) throw new ProblemError('UNAUTHORIZED', 'sign in first');
    refuseCrossSite(request);
    if (!carriesCsrfToken(request, found.session.csrf)) throw new ProblemError('FORBIDDEN', 'needs the session\'s CSRF token in X-CSRF-Token');
    throttled(signUpThrottle, request.ip, 'mails');
    signUpThrottle.fail(request.ip);
    await accounts.resendVerification(found.account);
    return reply.code(202).send({ status: found.account.status });
  });

  app.post('/api/password-reset', async (request, reply) => {
    refuseCrossSite(request);
    throttled(signUpThrottle, request.ip, 'reset requests');
    signUpThrottle.fail(request.ip);
    const { email } = parse(ResetRequest, request.body);
    await accounts.requestReset(email);
    // The same answer whether or not the address has an account.
    return reply.code(202).send({ next: 'if an account uses this address, a reset link is on its way' });
  });

  app.post('/api/password-reset/confirm', async (request, reply) => {
    refuseCrossSite(request);
    throttled(signUpThrottle, request.ip, 'attempts');
    const body = parse(ResetConfirm, request.body);
    const account = await accounts.reset(body.token, body.password).catch((err: unknown) => {
      signUpThrottle.fail(request.ip);
      throw err;
    });
    await audit.record({ action: 'portal.password-reset', outcome: 'success', status: 200, resourceKind: 'PortalAccount', resourceName: account.id, requestId: request.id, clientAddress: request.ip });
    return reply.send({ status: account.status });
  });
}
