import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSessions } from '@tollgate/db';
import { createPgliteStores, createPostgresStores, MemorySessionStore, SqlSessionStore, type SessionStore, type SqlStores } from '@tollgate/stores';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import { ConsoleSessions, type ConsoleSessionOptions } from './session-store.js';

const token = { id: 'atk_1', hash: 'a'.repeat(64) };

/** A store that records every call and its arguments, to see what reaches storage and how often. */
function recording(inner: SessionStore): { store: SessionStore; calls: { method: string; args: unknown[] }[] } {
  const calls: { method: string; args: unknown[] }[] = [];
  const store = new Proxy(inner, {
    get(target, method: string) {
      const value = Reflect.get(target, method) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push({ method, args });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls };
}

interface Backend {
  name: string;
  open(): Promise<{ store: () => SessionStore; clear(): Promise<void>; close(): Promise<void> }>;
}

const backends: Backend[] = [
  { name: 'memory', open: async () => ({ store: () => new MemorySessionStore(), clear: async () => {}, close: async () => {} }) },
  {
    name: 'PGlite',
    async open() {
      const stores = await createPgliteStores();
      return { store: () => new SqlSessionStore(stores.db, 'console'), clear: async () => void (await stores.db.delete(browserSessions)), close: () => stores.close() };
    },
  },
  {
    name: 'Postgres',
    async open() {
      const database: TestDatabase = await createTestDatabase();
      const stores: SqlStores = await createPostgresStores({ url: database.url, poolMax: 2 });
      return {
        store: () => new SqlSessionStore(stores.db, 'console'),
        clear: async () => void (await stores.db.delete(browserSessions)),
        async close() {
          await stores.close();
          await database.drop();
        },
      };
    },
  },
];

describe.each(backends)('console sessions on $name', (backend) => {
  let opened: Awaited<ReturnType<Backend['open']>>;
  beforeAll(async () => {
    opened = await backend.open();
  }, 60_000);
  afterAll(async () => {
    await opened?.close();
  });

  /** Sessions over a fresh (emptied) store, without the background sweep. */
  async function sessionsOf(options: ConsoleSessionOptions, now: () => number = Date.now) {
    await opened.clear();
    const { store, calls } = recording(opened.store());
    return { sessions: new ConsoleSessions({ sweepMs: 0, ...options }, now, store), calls };
  }

  it('slide on use and end after the idle time', async () => {
    let now = 1_000_000;
    const { sessions } = await sessionsOf({ idleMs: 1_000, absoluteMs: 60_000 }, () => now);
    const { id } = await sessions.create(token);
    now += 900;
    expect(await sessions.use(id)).toBeDefined();
    now += 900; // 1,800 ms after sign-in but 900 after the last use
    expect(await sessions.use(id)).toBeDefined();
    now += 1_000;
    expect(await sessions.use(id)).toBeUndefined();
    expect(await sessions.size()).toBe(0);
  });

  it('end at the absolute expiry however busy', async () => {
    let now = 0;
    const { sessions } = await sessionsOf({ idleMs: 1_000, absoluteMs: 3_000 }, () => now);
    const { id } = await sessions.create(token);
    for (now = 500; now < 3_000; now += 500) expect(await sessions.use(id)).toBeDefined();
    expect(await sessions.use(id)).toBeUndefined();
  });

  it('write the last use only when it moved by more than a thirtieth of the idle timeout, at most a minute', async () => {
    let now = 1_000_000;
    const { sessions, calls } = await sessionsOf({ idleMs: 30 * 60_000 }, () => now);
    const { id } = await sessions.create(token);
    for (let i = 0; i < 60; i++) {
      now += 1_000; // a request a second for a minute: no write
      expect(await sessions.use(id)).toBeDefined();
    }
    expect(calls.filter((c) => c.method === 'touch')).toHaveLength(0);
    now += 1_000; // 61 s after the stored last use
    expect((await sessions.use(id))?.lastSeenAt).toBe(now);
    expect(calls.filter((c) => c.method === 'touch')).toHaveLength(1);
    const touched = now;
    now += 59_000; // used again, not written
    expect(await sessions.use(id)).toBeDefined();
    expect(calls.filter((c) => c.method === 'touch')).toHaveLength(1);
    // The idle timeout counts from the stored last use: the session ends at most a minute early, never late.
    now = touched + 30 * 60_000;
    expect(await sessions.use(id)).toBeUndefined();
  });

  it('hold only the digest of the id, never the id or the token, and give every session its own id and CSRF token', async () => {
    const { sessions, calls } = await sessionsOf({});
    const a = await sessions.create(token);
    const b = await sessions.create(token);
    expect(a.id).not.toBe(b.id);
    expect(a.session.csrf).not.toBe(b.session.csrf);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await sessions.use(a.id)).toMatchObject({ tokenId: token.id, tokenHash: token.hash, csrf: a.session.csrf });
    expect(await sessions.end(a.id)).toBe(true);
    expect(await sessions.end(a.id)).toBe(false);
    expect(await sessions.use(a.id)).toBeUndefined();
    expect(await sessions.use(b.id)).toBeDefined();
    const stored = JSON.stringify(calls);
    expect(stored).not.toContain(a.id);
    expect(stored).not.toContain(b.id);
  });

  it('stay within maxSessions, ending expired ones and then the oldest first', async () => {
    let now = 1_000_000;
    const { sessions } = await sessionsOf({ maxSessions: 3, idleMs: 10_000 }, () => now);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await sessions.create(token)).id);
      now += 1;
    }
    expect(await sessions.size()).toBe(3);
    expect(await sessions.use(ids[0]!)).toBeUndefined();
    expect(await sessions.use(ids[1]!)).toBeUndefined();
    // ids[3] goes idle while 2 and 4 are used: the next sign-in ends it rather than the older ids[2].
    now += 5_000;
    expect(await sessions.use(ids[2]!)).toBeDefined();
    expect(await sessions.use(ids[4]!)).toBeDefined();
    now += 5_000;
    await sessions.create(token);
    expect(await sessions.size()).toBe(3);
    expect(await sessions.use(ids[2]!)).toBeDefined();
    expect(await sessions.use(ids[4]!)).toBeDefined();
    expect(await sessions.use(ids[3]!)).toBeUndefined();
  });

  it('keep one owner to its share (default 20): signing in over and over ends its own oldest, not another owner\'s', async () => {
    let now = 1_000_000;
    const { sessions } = await sessionsOf({ maxSessions: 25 }, () => now);
    const other = await sessions.create({ id: 'atk_2', hash: 'b'.repeat(64) });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      now += 1;
      ids.push((await sessions.create(token)).id);
    }
    expect(await sessions.size()).toBe(21);
    expect(await sessions.use(other.id)).toBeDefined();
    for (const id of ids.slice(0, 40)) expect(await sessions.use(id)).toBeUndefined();
    for (const id of ids.slice(40)) expect(await sessions.use(id)).toBeDefined();
  });

  it('sweep deletes expired sessions nobody uses again, in batches', async () => {
    let now = 1_000_000;
    const { sessions } = await sessionsOf({ idleMs: 1_000, absoluteMs: 60_000 }, () => now);
    // Stored directly (a sign-in is two statements): 1,001 makes the sweep take three batches of 500.
    // Each of another owner: the sign-in below ends none of them for its owner's share.
    for (let i = 0; i < 1_001; i++) await sessions.store.insert({ hash: i.toString(16).padStart(64, '0'), tokenHash: token.hash, tokenId: `atk_other_${i}`, csrf: 'c', createdAt: now, lastSeenAt: now });
    now += 500;
    const live = await sessions.create(token);
    now += 600; // the first 1,001 are idle, the last one is not
    await sessions.sweep();
    expect(await sessions.size()).toBe(1);
    expect(await sessions.use(live.id)).toBeDefined();
    await sessions.close();
  }, 60_000);
});

describe('console sessions shared by two admin processes on one database', () => {
  let stores: SqlStores;
  beforeAll(async () => {
    stores = await createPgliteStores();
  });
  afterAll(async () => {
    await stores?.close();
  });

  it('a session made by one is used, slid and ended through the other', async () => {
    let now = 1_000_000;
    const one = new ConsoleSessions({ idleMs: 60_000, sweepMs: 0 }, () => now, new SqlSessionStore(stores.db, 'console'));
    const two = new ConsoleSessions({ idleMs: 60_000, sweepMs: 0 }, () => now, new SqlSessionStore(stores.db, 'console'));
    const portal = new ConsoleSessions({ idleMs: 60_000, sweepMs: 0 }, () => now, new SqlSessionStore(stores.db, 'portal'));
    const { id, session } = await one.create(token);
    now += 50_000;
    expect((await two.use(id))?.csrf).toBe(session.csrf);
    now += 50_000; // past the idle timeout from sign-in, within it from the use through `two`
    expect(await one.use(id)).toBeDefined();
    expect(await portal.use(id)).toBeUndefined();
    expect(await two.end(id)).toBe(true);
    expect(await one.use(id)).toBeUndefined();
  });
});

describe('console sign-ins racing on two admin processes (Postgres)', () => {
  let database: TestDatabase;
  let one: SqlStores;
  let two: SqlStores;
  beforeAll(async () => {
    database = await createTestDatabase();
    // Two pools on one database: two admin processes.
    one = await createPostgresStores({ url: database.url, poolMax: 4 });
    two = await createPostgresStores({ url: database.url, poolMax: 4 });
  }, 60_000);
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await database?.drop();
  });

  it('stay within maxSessions when both are full and sign in at once', async () => {
    const options = { maxSessions: 4, sweepMs: 0 };
    const a = new ConsoleSessions(options, Date.now, new SqlSessionStore(one.db, 'console'));
    const b = new ConsoleSessions(options, Date.now, new SqlSessionStore(two.db, 'console'));
    for (let i = 0; i < 4; i++) await a.create(token);
    // Each racer finds the realm full; unserialized, several counted the same room and all inserted.
    await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? a : b).create(token)));
    expect(await a.size()).toBe(4);
  });
});
