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

/**
 * Where sessions of one realm live. The store keeps records; expiry and the bound on live sessions
 * are decided by its caller (ConsoleSessions in @tollgate/admin), which passes the cut-off times.
 */
export interface SessionStore {
  insert(session: StoredSession): Promise<void>;
  get(hash: string): Promise<StoredSession | undefined>;
  /** Moves `lastSeenAt` forward to `at` (never back: another process may have written a later use). */
  touch(hash: string, at: number): Promise<void>;
  /** Deletes a session; true when it existed. */
  delete(hash: string): Promise<boolean>;
  /** Deletes up to `limit` sessions last seen at or before `seenBefore` or created at or before `createdBefore`; returns how many. */
  deleteExpired(seenBefore: number, createdBefore: number, limit: number): Promise<number>;
  /** Deletes the oldest sessions (by creation) so that at most `keep` remain; returns how many went. */
  trim(keep: number): Promise<number>;
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

  async trim(keep: number): Promise<number> {
    let deleted = 0;
    for (const hash of this.sessions.keys()) {
      if (this.sessions.size <= keep) break;
      this.sessions.delete(hash);
      deleted++;
    }
    return deleted;
  }

  async count(): Promise<number> {
    return this.sessions.size;
  }
}
