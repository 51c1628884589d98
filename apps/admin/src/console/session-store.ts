import { createHash, randomBytes } from 'node:crypto';
import { MemorySessionStore, type SessionStore, type StoredSession } from '@tollgate/stores';

/** Lifetimes and bound of console sessions. */
export interface ConsoleSessionOptions {
  /** A session unused for this long ends (ms, default 30 minutes); every authenticated request slides it. */
  idleMs?: number;
  /** A session ends this long after sign-in whatever its use (ms, default 12 hours). */
  absoluteMs?: number;
  /** Most live sessions held (default 10,000); past it the oldest is ended first, bounding the store. */
  maxSessions?: number;
  /**
   * Most live sessions of one admin token or portal account (default 20); past it that owner's own
   * oldest is ended. Keeps one credential signing in over and over from filling `maxSessions` and
   * so signing everybody else out.
   */
  maxSessionsPerOwner?: number;
  /** How often expired sessions are deleted in the background (ms, default 1 minute; 0 = only on use and sign-in). */
  sweepMs?: number;
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
export const DEFAULT_SWEEP_MS = 60_000;
export const DEFAULT_MAX_SESSIONS_PER_OWNER = 20;

/**
 * Largest step by which a session's stored last use may lag its real last use. Sliding the idle
 * expiry writes `last_seen_at` only when it moved by more than this, so a busy console costs one
 * write a minute rather than one per request; the price is that a session may end up to this much
 * before a full idle timeout after its real last use (never later). Smaller for short idle
 * timeouts (a thirtieth of it) so the slide still means something there.
 */
export const MAX_TOUCH_STEP_MS = 60_000;

/** Expired sessions deleted per statement by the sweep, and batches per sweep: bounded work per tick. */
const SWEEP_BATCH = 500;
const SWEEP_BATCHES = 20;
/**
 * Most sessions one sign-in deletes to make room (expired ones first, then the oldest). A full
 * store normally needs one; more only after maxSessions was lowered, and then the bound is
 * reached over several sign-ins rather than by one sign-in deleting thousands of rows.
 */
const SIGN_IN_BATCH = 100;

const digest = (id: string): string => createHash('sha256').update(id, 'utf8').digest('hex');

const toSession = (s: StoredSession): ConsoleSession => ({ tokenHash: s.tokenHash, tokenId: s.tokenId, csrf: s.csrf, createdAt: s.createdAt, lastSeenAt: s.lastSeenAt });

/**
 * Console (and portal) sessions: the rules (ids, CSRF tokens, idle and absolute expiry, the bound)
 * over a SessionStore that keeps them, keyed by the SHA-256 of their id. The admin keeps them in
 * its database (SqlSessionStore), so a restart keeps everyone signed in and every admin process
 * behind one address accepts every session without sticky routing; memory is for tests and an
 * admin built without a database. Ids are 256 random bits (OWASP session management: at least 64).
 */
export class ConsoleSessions {
  private readonly idleMs: number;
  private readonly absoluteMs: number;
  private readonly maxSessions: number;
  private readonly maxSessionsPerOwner: number;
  private readonly touchStepMs: number;
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    options: ConsoleSessionOptions = {},
    private readonly now: () => number = Date.now,
    readonly store: SessionStore = new MemorySessionStore(),
    private readonly onSweepError: (err: unknown) => void = () => {},
  ) {
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.absoluteMs = options.absoluteMs ?? DEFAULT_ABSOLUTE_MS;
    this.maxSessions = options.maxSessions ?? 10_000;
    this.maxSessionsPerOwner = options.maxSessionsPerOwner ?? DEFAULT_MAX_SESSIONS_PER_OWNER;
    this.touchStepMs = Math.min(MAX_TOUCH_STEP_MS, Math.floor(this.idleMs / 30));
    const sweepMs = options.sweepMs ?? DEFAULT_SWEEP_MS;
    if (sweepMs > 0) {
      this.sweeper = setInterval(() => void this.sweep(), sweepMs);
      this.sweeper.unref();
    }
  }

  /** Starts a session for a token; returns the id (for the cookie only) and its CSRF token. */
  async create(token: { id: string; hash: string }): Promise<{ id: string; session: ConsoleSession }> {
    const now = this.now();
    const id = randomBytes(32).toString('base64url');
    const session: ConsoleSession = { tokenHash: token.hash, tokenId: token.id, csrf: randomBytes(32).toString('base64url'), createdAt: now, lastSeenAt: now };
    // The count, the room made and the insert are one step per realm across processes (the store
    // serializes them), so concurrent sign-ins cannot overshoot maxSessions; the room made is one
    // bounded batch, never one statement over the whole table.
    await this.store.insertBounded({ hash: digest(id), ...session }, { max: this.maxSessions, maxPerOwner: this.maxSessionsPerOwner, seenBefore: now - this.idleMs, createdBefore: now - this.absoluteMs, batch: SIGN_IN_BATCH });
    return { id, session };
  }

  /** The live session of an id, its idle expiry slid forward; undefined (and deleted) when expired. */
  async use(id: string): Promise<ConsoleSession | undefined> {
    const key = digest(id);
    const stored = await this.store.get(key);
    if (!stored) return undefined;
    const now = this.now();
    if (this.expired(stored, now)) {
      await this.store.delete(key);
      return undefined;
    }
    // Not a write per request: only once the last use moved by more than touchStepMs (see MAX_TOUCH_STEP_MS).
    if (now - stored.lastSeenAt > this.touchStepMs) {
      await this.store.touch(key, now);
      stored.lastSeenAt = now;
    }
    return toSession(stored);
  }

  /** Ends a session; true when it existed. */
  async end(id: string): Promise<boolean> {
    return this.store.delete(digest(id));
  }

  /** Seconds until the session ends if left idle, for the cookie's Max-Age and the UI (from the stored last use: never more than is left). */
  secondsLeft(session: ConsoleSession): number {
    const end = Math.min(session.lastSeenAt + this.idleMs, session.createdAt + this.absoluteMs);
    return Math.max(0, Math.ceil((end - this.now()) / 1000));
  }

  /** Live sessions held (for the bound's test). */
  size(): Promise<number> {
    return this.store.count();
  }

  /**
   * Deletes expired sessions in bounded batches (at most SWEEP_BATCH × SWEEP_BATCHES per call):
   * a session nobody uses again is otherwise deleted only when the bound is reached. One sweep
   * at a time; errors (database unavailable) are reported and the next tick tries again.
   */
  sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      try {
        const now = this.now();
        for (let i = 0; i < SWEEP_BATCHES; i++) if ((await this.store.deleteExpired(now - this.idleMs, now - this.absoluteMs, SWEEP_BATCH)) < SWEEP_BATCH) break;
      } catch (err) {
        this.onSweepError(err);
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  /** Stops the background sweep and waits for one in progress. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.sweeping;
  }

  private expired(session: StoredSession, now: number): boolean {
    return now - session.lastSeenAt >= this.idleMs || now - session.createdAt >= this.absoluteMs;
  }
}
