import { and, asc, count, eq, inArray, lte, or, sql, type SQL } from 'drizzle-orm';
import { browserSessions, type BrowserSessionRow, type Database } from '@tollgate/db';
import type { SessionBound, SessionStore, StoredSession } from './session-store.js';
import type { Tx } from './sql-tx.js';

/** Which sessions a store holds: the console's and the portal's share the table, never each other's rows. */
export type SessionRealm = 'console' | 'portal';

const SHA256_HEX = /^[0-9a-f]{64}$/;

function toSession(row: BrowserSessionRow): StoredSession {
  return { hash: row.hash, tokenHash: row.tokenHash, tokenId: row.tokenId, csrf: row.csrf, createdAt: row.createdAt.getTime(), lastSeenAt: row.lastSeenAt.getTime() };
}

/**
 * Sessions of one realm in `browser_sessions` (Postgres or PGlite through drizzle), shared by every
 * admin process on the database. Each call is one statement (a lookup by primary key per request),
 * except a sign-in's bounded insert, a short transaction.
 */
export class SqlSessionStore implements SessionStore {
  constructor(
    private readonly db: Database,
    private readonly realm: SessionRealm,
  ) {}

  async insert(session: StoredSession): Promise<void> {
    await this.insertRow(this.db, session);
  }

  async insertBounded(session: StoredSession, bound: SessionBound): Promise<number> {
    return this.db.transaction(async (tx) => {
      // Sign-ins of one realm one at a time across processes (until commit): without it, processes
      // signing in together each counted room and inserted, overshooting the bound by as many.
      // The realm's row count is the shared state, so there is no row to lock FOR UPDATE.
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`tollgate.browser_sessions:${this.realm}`}))`);
      let deleted = 0;
      // The owner's own oldest first, past its share (see SessionBound.maxPerOwner).
      const mine = and(eq(browserSessions.realm, this.realm), eq(browserSessions.tokenId, session.tokenId));
      const own = (await tx.select({ n: count() }).from(browserSessions).where(mine))[0]?.n ?? 0;
      const ownOldest = Math.min(own - (bound.maxPerOwner - 1), bound.batch);
      if (ownOldest > 0) deleted += await this.deleteOldest(tx, mine, ownOldest);
      const held = (await tx.select({ n: count() }).from(browserSessions).where(eq(browserSessions.realm, this.realm)))[0]?.n ?? 0;
      if (held >= bound.max && deleted < bound.batch) {
        const expired = await this.deleteExpiredIn(tx, bound.seenBefore, bound.createdBefore, bound.batch - deleted);
        deleted += expired;
        // Then the oldest, as many as needed to make room, within what is left of the batch.
        const oldest = Math.min(held - expired - (bound.max - 1), bound.batch - deleted);
        if (oldest > 0) deleted += await this.deleteOldest(tx, eq(browserSessions.realm, this.realm), oldest);
      }
      await this.insertRow(tx, session);
      return deleted;
    });
  }

  /** Deletes the `n` oldest sessions (by creation) matching `where`; returns how many. */
  private async deleteOldest(tx: Tx, where: SQL | undefined, n: number): Promise<number> {
    const batch = tx.select({ hash: browserSessions.hash }).from(browserSessions).where(where).orderBy(asc(browserSessions.createdAt), asc(browserSessions.hash)).limit(n);
    return (await tx.delete(browserSessions).where(inArray(browserSessions.hash, batch)).returning({ hash: browserSessions.hash })).length;
  }

  private async insertRow(db: Database | Tx, session: StoredSession): Promise<void> {
    // Refusing anything but a digest keeps a caller from storing a session id in clear.
    if (!SHA256_HEX.test(session.hash)) throw new TypeError('a session is stored under the lower-case SHA-256 hex digest of its id');
    await db.insert(browserSessions).values({ ...session, realm: this.realm, createdAt: new Date(session.createdAt), lastSeenAt: new Date(session.lastSeenAt) });
  }

  async get(hash: string): Promise<StoredSession | undefined> {
    const rows = await this.db.select().from(browserSessions).where(this.mine(hash));
    return rows[0] ? toSession(rows[0]) : undefined;
  }

  async touch(hash: string, at: number): Promise<void> {
    const when = new Date(at).toISOString();
    await this.db.update(browserSessions).set({ lastSeenAt: sql`greatest(${browserSessions.lastSeenAt}, ${when}::timestamptz)` }).where(this.mine(hash));
  }

  async delete(hash: string): Promise<boolean> {
    const rows = await this.db.delete(browserSessions).where(this.mine(hash)).returning({ hash: browserSessions.hash });
    return rows.length > 0;
  }

  async deleteExpired(seenBefore: number, createdBefore: number, limit: number): Promise<number> {
    return this.deleteExpiredIn(this.db, seenBefore, createdBefore, limit);
  }

  private async deleteExpiredIn(db: Database | Tx, seenBefore: number, createdBefore: number, limit: number): Promise<number> {
    // A bounded batch (a subquery with LIMIT): one sweep never holds locks on an unbounded number of rows.
    const batch = db
      .select({ hash: browserSessions.hash })
      .from(browserSessions)
      .where(and(eq(browserSessions.realm, this.realm), or(lte(browserSessions.lastSeenAt, new Date(seenBefore)), lte(browserSessions.createdAt, new Date(createdBefore)))))
      .limit(limit);
    const rows = await db.delete(browserSessions).where(inArray(browserSessions.hash, batch)).returning({ hash: browserSessions.hash });
    return rows.length;
  }

  async count(): Promise<number> {
    const rows = await this.db.select({ n: count() }).from(browserSessions).where(eq(browserSessions.realm, this.realm));
    return rows[0]?.n ?? 0;
  }

  private mine(hash: string) {
    return and(eq(browserSessions.hash, hash), eq(browserSessions.realm, this.realm));
  }
}
