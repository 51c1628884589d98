import { createHash, randomBytes } from 'node:crypto';

/** Lifetimes and bound of console sessions. */
export interface ConsoleSessionOptions {
  /** A session unused for this long ends (ms, default 30 minutes); every authenticated request slides it. */
  idleMs?: number;
  /** A session ends this long after sign-in whatever its use (ms, default 12 hours). */
  absoluteMs?: number;
  /** Most live sessions held (default 10,000); past it the oldest is ended first, bounding memory. */
  maxSessions?: number;
}

/** What the server keeps of a session: never the session id itself, never the admin token. */
export interface ConsoleSession {
  /** SHA-256 of the admin token that signed in: the token is looked up again on every request, so revoking it ends the session. */
  tokenHash: string;
  tokenId: string;
  /** The CSRF token every cookie-authenticated mutation must echo in `X-CSRF-Token`. */
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
}

export const DEFAULT_IDLE_MS = 30 * 60_000;
export const DEFAULT_ABSOLUTE_MS = 12 * 60 * 60_000;

const digest = (id: string): string => createHash('sha256').update(id, 'utf8').digest('hex');

/**
 * Console sessions, in this process's memory, keyed by the SHA-256 of their id. Memory rather than
 * Postgres because a session is looked up on every console request (the token behind it is looked
 * up too, as for bearer requests) and is short-lived: a restart signs operators out, which costs
 * one sign-in. Several admin processes behind one address need sticky routing (or a shared store
 * behind this same interface). Ids are 256 random bits (OWASP session management: at least 64).
 */
export class ConsoleSessions {
  private readonly idleMs: number;
  private readonly absoluteMs: number;
  private readonly maxSessions: number;
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(options: ConsoleSessionOptions = {}, private readonly now: () => number = Date.now) {
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.absoluteMs = options.absoluteMs ?? DEFAULT_ABSOLUTE_MS;
    this.maxSessions = options.maxSessions ?? 10_000;
  }

  /** Starts a session for a token; returns the id (for the cookie only) and its CSRF token. */
  create(token: { id: string; hash: string }): { id: string; session: ConsoleSession } {
    const now = this.now();
    if (this.sessions.size >= this.maxSessions) this.evict(now);
    const id = randomBytes(32).toString('base64url');
    const session: ConsoleSession = { tokenHash: token.hash, tokenId: token.id, csrf: randomBytes(32).toString('base64url'), createdAt: now, lastSeenAt: now };
    this.sessions.set(digest(id), session);
    return { id, session };
  }

  /** The live session of an id, its idle expiry slid forward; undefined (and forgotten) when expired. */
  use(id: string): ConsoleSession | undefined {
    const key = digest(id);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    const now = this.now();
    if (this.expired(session, now)) {
      this.sessions.delete(key);
      return undefined;
    }
    session.lastSeenAt = now;
    return session;
  }

  /** Ends a session; true when it existed. */
  end(id: string): boolean {
    return this.sessions.delete(digest(id));
  }

  /** Seconds until the session ends if left idle, for the cookie's Max-Age and the UI. */
  secondsLeft(session: ConsoleSession): number {
    const end = Math.min(session.lastSeenAt + this.idleMs, session.createdAt + this.absoluteMs);
    return Math.max(0, Math.ceil((end - this.now()) / 1000));
  }

  /** Live sessions held (for the memory-bound test). */
  get size(): number {
    return this.sessions.size;
  }

  private expired(session: ConsoleSession, now: number): boolean {
    return now - session.lastSeenAt >= this.idleMs || now - session.createdAt >= this.absoluteMs;
  }

  private evict(now: number): void {
    for (const [key, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(key);
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
  }
}
