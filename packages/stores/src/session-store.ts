/**
 * A signed-in browser session (admin console or developer portal) as stored: keyed by the SHA-256
 * of its id, never the id itself, and bound to the SHA-256 of the credential that signed in.
 * Times are milliseconds since the epoch, from the caller's clock (injectable in tests).
 */
export interface StoredSession {
  /** SHA-256 (hex) of the session id. */
  hash: string;
  tokenHash: string;
  tokenId: string;
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
}

/** The bound a sign-in keeps (see {@link SessionStore.insertBounded}). */
export interface SessionBound {
  /** Most sessions of the realm held once the new one is in. */
  max: number;
  /**
   * Most sessions of one owner (the same `tokenId`: one admin token, one portal account) held once
   * the new one is in; past it the owner's own oldest end first. Without it one credential signing
   * in again and again fills the realm's bound and ends everybody else's sessions.
   */
  maxPerOwner: number;
  /** Sessions last seen at or before this, or created at or before `createdBefore`, are expired: they go first. */
  seenBefore: number;
  createdBefore: number;
  /** Most sessions one sign-in deletes (expired ones, then the oldest): bounded work per sign-in. */
  batch: number;
}

/**
 * Where sessions of one realm live. The store keeps records; expiry and the bound on live sessions
 * are decided by its caller (ConsoleSessions in @tollgate/admin), which passes the cut-off times.
 */
export interface SessionStore {
  insert(session: StoredSession): Promise<void>;
  /**
   * Inserts a sign-in's session within `bound.maxPerOwner` and `bound.max`: when its owner holds
   * `maxPerOwner` or more, first deletes the owner's oldest (by creation); then, when the realm holds
   * `max` or more, expired sessions, then the oldest; `bound.batch` at most in all. Atomic
   * against other processes' calls on the same realm, so concurrent sign-ins cannot all see room
   * and overshoot the bound. A bound lowered far below the sessions held is reached over several
   * sign-ins, a batch at a time. Returns how many sessions were deleted.
   */
  insertBounded(session: StoredSession, bound: SessionBound): Promise<number>;
  get(hash: string): Promise<StoredSession | undefined>;
  /** Moves `lastSeenAt` forward to `at` (never back: another process may have written a later use). */
  touch(hash: string, at: number): Promise<void>;
  /** Deletes a session; true when it existed. */
  delete(hash: string): Promise<boolean>;
  /** Deletes up to `limit` sessions last seen at or before `seenBefore` or created at or before `createdBefore`; returns how many. */
  deleteExpired(seenBefore: number, createdBefore: number, limit: number): Promise<number>;
  /** Live and not yet deleted sessions held. */
  count(): Promise<number>;
}

/**
 * Sessions in this process's memory: for tests and an admin built without a database (a restart
 * signs everyone out; several processes cannot share them). The Map keeps insertion order, which
 * is creation order, so the oldest are first.
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, StoredSession>();

  async insert(session: StoredSession): Promise<void> {
    this.sessions.set(session.hash, { ...session });
  }

  async get(hash: string): Promise<StoredSession | undefined> {
    const found = this.sessions.get(hash);
    return found && { ...found };
  }

  async touch(hash: string, at: number): Promise<void> {
    const found = this.sessions.get(hash);
    if (found) found.lastSeenAt = Math.max(found.lastSeenAt, at);
  }

  async delete(hash: string): Promise<boolean> {
    return this.sessions.delete(hash);
  }

  async deleteExpired(seenBefore: number, createdBefore: number, limit: number): Promise<number> {
    let deleted = 0;
    for (const [hash, s] of this.sessions) {
      if (deleted >= limit) break;
      if (s.lastSeenAt <= seenBefore || s.createdAt <= createdBefore) {
        this.sessions.delete(hash);
        deleted++;
      }
    }
    return deleted;
  }

  async insertBounded(session: StoredSession, bound: SessionBound): Promise<number> {
    // One event loop: nothing runs between the count and the insert, so this is already atomic.
    let deleted = 0;
    const own = [...this.sessions.values()].filter((s) => s.tokenId === session.tokenId);
    for (const s of own.slice(0, Math.max(0, Math.min(own.length - (bound.maxPerOwner - 1), bound.batch)))) {
      this.sessions.delete(s.hash);
      deleted++;
    }
    if (this.sessions.size >= bound.max && deleted < bound.batch) {
      deleted += await this.deleteExpired(bound.seenBefore, bound.createdBefore, bound.batch - deleted);
      for (const hash of this.sessions.keys()) {
        if (this.sessions.size < bound.max || deleted >= bound.batch) break;
        this.sessions.delete(hash);
        deleted++;
      }
    }
    this.sessions.set(session.hash, { ...session });
    return deleted;
  }

  async count(): Promise<number> {
    return this.sessions.size;
  }
}
