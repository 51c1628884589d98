import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionStore, StoredSession } from './session-store.js';

export interface SessionStoreHarness {
  /** A fresh, empty store of the console realm, and one of the portal realm (on the same database for SQL). */
  console: SessionStore;
  portal: SessionStore;
  /** Removes every session of both realms (between tests). */
  clear(): Promise<void>;
  destroy(): Promise<void>;
}

const hashOf = (id: string) => createHash('sha256').update(id).digest('hex');

const T0 = Date.UTC(2026, 11, 7, 12);

function session(id: string, at = T0, patch: Partial<StoredSession> = {}): StoredSession {
  return { hash: hashOf(id), tokenHash: 'a'.repeat(64), tokenId: 'atk_1', csrf: `csrf-${id}`, createdAt: at, lastSeenAt: at, ...patch };
}

/** The SessionStore contract, run against memory, PGlite and Postgres. */
export function sessionStoreContract(name: string, factory: () => Promise<SessionStoreHarness>): void {
  describe(`SessionStore contract: ${name}`, () => {
    let h: SessionStoreHarness;
    beforeAll(async () => {
      h = await factory();
    }, 60_000);
    afterAll(async () => {
      await h?.destroy();
    });

    it('stores a session under its digest and gives it back with millisecond times', async () => {
      await h.clear();
      const s = session('one', T0 + 123, { lastSeenAt: T0 + 456 });
      await h.console.insert(s);
      expect(await h.console.get(s.hash)).toEqual(s);
      expect(await h.console.get(hashOf('other'))).toBeUndefined();
      expect(await h.console.count()).toBe(1);
    });

    it('moves last use forward only, never back', async () => {
      await h.clear();
      const s = session('touch');
      await h.console.insert(s);
      await h.console.touch(s.hash, T0 + 60_000);
      expect((await h.console.get(s.hash))?.lastSeenAt).toBe(T0 + 60_000);
      // Another process's slower request with an earlier clock reading does not move it back.
      await h.console.touch(s.hash, T0 + 30_000);
      expect((await h.console.get(s.hash))?.lastSeenAt).toBe(T0 + 60_000);
      await h.console.touch(hashOf('missing'), T0); // no such session: nothing happens
      expect(await h.console.count()).toBe(1);
    });

    it('deletes a session once, telling whether it existed', async () => {
      await h.clear();
      const s = session('bye');
      await h.console.insert(s);
      expect(await h.console.delete(s.hash)).toBe(true);
      expect(await h.console.delete(s.hash)).toBe(false);
      expect(await h.console.get(s.hash)).toBeUndefined();
    });

    it('deletes expired sessions (idle or past the absolute lifetime) in bounded batches, leaving live ones', async () => {
      await h.clear();
      for (let i = 0; i < 5; i++) await h.console.insert(session(`idle${i}`, T0 + i, { lastSeenAt: T0 + i }));
      await h.console.insert(session('old-but-busy', T0 - 10_000, { lastSeenAt: T0 + 50_000 }));
      await h.console.insert(session('live', T0, { lastSeenAt: T0 + 50_000 }));
      // Idle when last seen at or before T0 + 10, too old when created at or before T0 - 5,000.
      expect(await h.console.deleteExpired(T0 + 10, T0 - 5_000, 4)).toBe(4);
      expect(await h.console.deleteExpired(T0 + 10, T0 - 5_000, 4)).toBe(2);
      expect(await h.console.deleteExpired(T0 + 10, T0 - 5_000, 4)).toBe(0);
      expect(await h.console.count()).toBe(1);
      expect(await h.console.get(hashOf('live'))).toBeDefined();
    });

    /** A bound under which nothing of T0's sessions counts as expired. */
    const bound = (max: number, batch = 100, maxPerOwner = 1_000) => ({ max, maxPerOwner, seenBefore: T0 - 1, createdBefore: T0 - 1, batch });

    it('inserts within the bound: room made from expired sessions first, then the oldest', async () => {
      await h.clear();
      for (let i = 0; i < 3; i++) expect(await h.console.insertBounded(session(`s${i}`, T0 + i * 1_000), bound(3))).toBe(0);
      // Full: the oldest (s0) makes room.
      expect(await h.console.insertBounded(session('s3', T0 + 3_000), bound(3))).toBe(1);
      expect(await h.console.get(hashOf('s0'))).toBeUndefined();
      // s2 is idle by the next bound while s1 (older) and s3 were used: the idle one goes, not the oldest.
      await h.console.touch(hashOf('s1'), T0 + 50_000);
      await h.console.touch(hashOf('s3'), T0 + 50_000);
      expect(await h.console.insertBounded(session('s4', T0 + 4_000), { max: 3, maxPerOwner: 1_000, seenBefore: T0 + 2_000, createdBefore: T0 - 1, batch: 100 })).toBe(1);
      expect(await h.console.get(hashOf('s2'))).toBeUndefined();
      expect(await h.console.get(hashOf('s1'))).toBeDefined();
      expect(await h.console.count()).toBe(3);
    });

    it('deletes at most a batch per insert: a lowered bound is reached over several inserts', async () => {
      await h.clear();
      for (let i = 0; i < 10; i++) await h.console.insert(session(`b${i}`, T0 + i));
      expect(await h.console.insertBounded(session('n1', T0 + 100), bound(2, 4))).toBe(4);
      expect(await h.console.count()).toBe(7);
      expect(await h.console.get(hashOf('b3'))).toBeUndefined();
      expect(await h.console.get(hashOf('b4'))).toBeDefined();
      expect(await h.console.insertBounded(session('n2', T0 + 101), bound(2, 4))).toBe(4);
      expect(await h.console.insertBounded(session('n3', T0 + 102), bound(2, 4))).toBe(3);
      expect(await h.console.count()).toBe(2);
      expect(await h.console.get(hashOf('n2'))).toBeDefined();
      expect(await h.console.get(hashOf('n3'))).toBeDefined();
    });

    it('one owner signing in again and again ends its own oldest sessions, never another owner\'s', async () => {
      await h.clear();
      const other = session('other', T0 - 5_000, { tokenId: 'atk_other' });
      await h.console.insert(other);
      const owner = (id: string, at: number) => session(id, at, { tokenId: 'atk_busy' });
      // Realm bound 5, per owner 3: the owner keeps its 3 newest, the other owner's older session stays.
      for (let i = 0; i < 12; i++) await h.console.insertBounded(owner(`busy${i}`, T0 + i * 1_000), bound(5, 100, 3));
      expect(await h.console.get(other.hash)).toBeDefined();
      expect(await h.console.count()).toBe(4);
      for (let i = 0; i < 9; i++) expect(await h.console.get(hashOf(`busy${i}`)), `busy${i}`).toBeUndefined();
      for (let i = 9; i < 12; i++) expect(await h.console.get(hashOf(`busy${i}`)), `busy${i}`).toBeDefined();
      // An owner over its share (a share lowered since) comes down a batch at a time, its oldest first.
      for (let i = 0; i < 6; i++) await h.console.insert(owner(`more${i}`, T0 + 20_000 + i));
      expect(await h.console.insertBounded(owner('last', T0 + 30_000), bound(100, 4, 3))).toBe(4);
      expect(await h.console.insertBounded(owner('last2', T0 + 30_001), bound(100, 4, 3))).toBe(4);
      expect(await h.console.insertBounded(owner('last3', T0 + 30_002), bound(100, 4, 3))).toBe(1);
      expect(await h.console.get(other.hash)).toBeDefined();
      expect(await h.console.count()).toBe(4);
      // Concurrent sign-ins of one owner stay within its share too.
      await Promise.all(Array.from({ length: 12 }, (_, i) => h.console.insertBounded(owner(`race-own${i}`, T0 + 40_000 + i), bound(100, 100, 3))));
      expect(await h.console.count()).toBe(4);
      expect(await h.console.get(other.hash)).toBeDefined();
    });

    it('concurrent sign-ins never overshoot the bound', async () => {
      await h.clear();
      for (let i = 0; i < 5; i++) await h.console.insert(session(`full${i}`, T0 + i));
      // Each sees a full realm; without serialization several count the same room and all insert.
      await Promise.all(Array.from({ length: 24 }, (_, i) => h.console.insertBounded(session(`race${i}`, T0 + 1_000 + i), bound(5))));
      expect(await h.console.count()).toBe(5);
    });

    it('keeps the console\'s and the portal\'s sessions apart', async () => {
      await h.clear();
      const c = session('console-only');
      await h.console.insert(c);
      await h.portal.insert(session('portal-only'));
      expect(await h.portal.get(c.hash)).toBeUndefined();
      expect(await h.portal.delete(c.hash)).toBe(false);
      await h.portal.touch(c.hash, T0 + 99_000);
      expect((await h.console.get(c.hash))?.lastSeenAt).toBe(T0);
      expect(await h.portal.insertBounded(session('portal-two', T0 + 10), bound(1))).toBe(1);
      expect(await h.portal.get(hashOf('portal-only'))).toBeUndefined();
      expect(await h.portal.deleteExpired(T0 + 1, T0 + 1, 10)).toBe(0);
      expect(await h.console.count()).toBe(1);
      expect(await h.portal.count()).toBe(1);
    });
  });
}
