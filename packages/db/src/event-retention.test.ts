import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/databases.js';
import { openPglite, openPostgres, type Database } from './client.js';
import { pruneEventBatch, pruneEvents, RETENTION_LOCK_KEY } from './event-retention.js';
import { migratePglite, migratePostgres } from './migrate.js';
import { writeEvents } from './outbox.js';

/** A database under test and how to dispose of it. */
interface Harness {
  db: Database;
  destroy(): Promise<void>;
}

const DAY = 86_400_000;
const RETENTION = 30 * DAY;

function rowsOf<T>(result: unknown): T[] {
  return (result as { rows?: T[] }).rows ?? (result as T[]);
}

let next = 0;
/** An event `ageDays` old (fanned out unless told otherwise), with deliveries of the given statuses. */
async function event(db: Database, ageDays: number, o: { fannedOut?: boolean; deliveries?: Array<'pending' | 'delivered' | 'dead' | 'leased'>; dedupeKey?: string } = {}): Promise<number> {
  const id = `evt_ret_${++next}`;
  const r = await db.execute(sql`
    INSERT INTO events (id, type, data, dedupe_key, occurred_at, fanned_out_at)
    VALUES (${id}, 'api_key.created', '{}'::jsonb, ${o.dedupeKey ?? null}, now() - ${`${ageDays * DAY} milliseconds`}::interval,
            ${o.fannedOut === false ? null : sql`now()`})
    RETURNING seq`);
  const seq = Number(rowsOf<{ seq: string | number }>(r)[0]?.seq);
  for (const [i, d] of (o.deliveries ?? []).entries()) {
    // `leased`: an attempt in flight (a delivery already recorded as delivered keeps no lease, but a
    // lease still running is honoured whatever the status says).
    const status = d === 'leased' ? 'delivered' : d;
    await db.execute(sql`INSERT INTO webhook_deliveries (id, webhook, event_seq, status, locked_until) VALUES (${`msg_${id}_${i}`}, ${`hook${i}`}, ${seq}, ${status}, ${d === 'leased' ? sql`now() + interval '1 minute'` : null})`);
  }
  return seq;
}

const count = async (db: Database, table: 'events' | 'webhook_deliveries' | 'event_dedupe_keys') => Number(rowsOf<{ n: string | number }>(await db.execute(sql`SELECT count(*) AS n FROM ${sql.identifier(table)}`))[0]?.n);
const seqs = async (db: Database) => rowsOf<{ seq: string | number }>(await db.execute(sql`SELECT seq FROM events ORDER BY seq`)).map((r) => Number(r.seq));

function eventRetentionContract(name: string, factory: () => Promise<Harness>): void {
  describe(`event retention: ${name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await factory();
    });
    afterAll(async () => {
      await h?.destroy();
    });
    beforeEach(async () => {
      await h.db.execute(sql`TRUNCATE events, webhook_deliveries, event_dedupe_keys`);
    });

    it('deletes old settled events with their deliveries and old ones never fanned out; keeps recent ones and ones with a pending or leased delivery', async () => {
      const gone = [await event(h.db, 40, { deliveries: ['delivered'] }), await event(h.db, 31, { deliveries: ['dead', 'delivered'] }), await event(h.db, 400), await event(h.db, 60, { fannedOut: false })];
      const kept = [
        await event(h.db, 29, { deliveries: ['delivered'] }),
        await event(h.db, 29, { fannedOut: false }),
        await event(h.db, 60, { deliveries: ['pending'] }),
        await event(h.db, 60, { deliveries: ['delivered', 'pending'] }),
        await event(h.db, 60, { deliveries: ['leased'] }),
      ];
      const out = await pruneEvents(h.db, { retentionMs: RETENTION });
      expect(out).toMatchObject({ events: gone.length, locked: false });
      expect(await seqs(h.db)).toEqual(kept);
      // The cascade took the deliveries of the deleted events, none of the kept ones.
      expect(await count(h.db, 'webhook_deliveries')).toBe(5);
      // Nothing left to do: a second round deletes nothing.
      expect((await pruneEvents(h.db, { retentionMs: RETENTION })).events).toBe(0);
    });

    it('a deduplicated event whose row was pruned does not fire again; its key is forgotten only past the dedupe horizon', async () => {
      const key = 'quota.threshold:sub-a:2026-12:80';
      expect(await writeEvents(h.db, [{ id: 'evt_dd_1', type: 'quota.threshold', data: {}, dedupeKey: key }])).toEqual(['evt_dd_1']);
      await h.db.execute(sql`UPDATE events SET occurred_at = now() - interval '31 days', fanned_out_at = now()`);
      expect((await pruneEvents(h.db, { retentionMs: RETENTION })).events).toBe(1);
      expect(await count(h.db, 'events')).toBe(0);
      // The same condition seen again (a later usage flush, another node): not written.
      expect(await writeEvents(h.db, [{ id: 'evt_dd_2', type: 'quota.threshold', data: {}, dedupeKey: key }])).toEqual([]);
      expect(await count(h.db, 'events')).toBe(0);
      // Past the horizon the key goes, and the key can be claimed again.
      await h.db.execute(sql`UPDATE event_dedupe_keys SET claimed_at = now() - interval '401 days'`);
      expect((await pruneEvents(h.db, { retentionMs: RETENTION })).dedupeKeys).toBe(1);
      expect(await writeEvents(h.db, [{ id: 'evt_dd_3', type: 'quota.threshold', data: {}, dedupeKey: key }])).toEqual(['evt_dd_3']);
    });

    it('keeps a key as long as the retention when that is longer than the dedupe horizon', async () => {
      await writeEvents(h.db, [{ id: 'evt_dd_4', type: 'x', data: {}, dedupeKey: 'k4' }]);
      await h.db.execute(sql`UPDATE event_dedupe_keys SET claimed_at = now() - interval '10 days'`);
      expect((await pruneEvents(h.db, { retentionMs: 20 * DAY, dedupeHorizonMs: DAY })).dedupeKeys).toBe(0);
      expect((await pruneEvents(h.db, { retentionMs: 5 * DAY, dedupeHorizonMs: DAY })).dedupeKeys).toBe(1);
    });

    it('writeEvents claims each key once within one list and still writes events without a key', async () => {
      const written = await writeEvents(h.db, [
        { id: 'evt_w_1', type: 'x', data: {}, dedupeKey: 'same' },
        { id: 'evt_w_2', type: 'x', data: {}, dedupeKey: 'same' },
        { id: 'evt_w_3', type: 'x', data: {} },
      ]);
      expect(written.sort()).toEqual(['evt_w_1', 'evt_w_3']);
      expect(await writeEvents(h.db, [{ id: 'evt_w_4', type: 'x', data: {} }])).toEqual(['evt_w_4']);
    });

    it('inside a transaction that rolls back, neither the key nor the event is kept', async () => {
      await expect(
        h.db.transaction(async (tx) => {
          await writeEvents(tx, [{ id: 'evt_rb_1', type: 'x', data: {}, dedupeKey: 'rolled-back' }]);
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      expect(await writeEvents(h.db, [{ id: 'evt_rb_2', type: 'x', data: {}, dedupeKey: 'rolled-back' }])).toEqual(['evt_rb_2']);
    });

    it('deletes a backlog in bounded batches, pausing between them', async () => {
      for (let i = 0; i < 25; i++) await event(h.db, 45, { deliveries: ['delivered'] });
      await event(h.db, 45, { deliveries: ['pending'] });
      // One statement deletes at most `batch` events.
      expect(await pruneEventBatch(h.db, RETENTION, 10)).toBe(10);
      let pauses = 0;
      const out = await pruneEvents(h.db, { retentionMs: RETENTION, batch: 10, pause: async () => void pauses++ });
      // 15 left: one full batch, one short one (which ends the round without an empty statement).
      expect(out).toMatchObject({ events: 15, batches: 2, locked: false });
      expect(pauses).toBe(1);
      expect(await count(h.db, 'events')).toBe(1);
    });

    it('old events held by a pending delivery do not fill the batches: older settled ones behind them still go', async () => {
      for (let i = 0; i < 5; i++) await event(h.db, 90, { deliveries: ['pending'] });
      for (let i = 0; i < 5; i++) await event(h.db, 40, { deliveries: ['delivered'] });
      expect((await pruneEvents(h.db, { retentionMs: RETENTION, batch: 5 })).events).toBe(5);
      expect(await count(h.db, 'events')).toBe(5);
    });

    it('with no dispatcher anywhere (WEBHOOKS=false), events past the retention still go, a batch at a time', async () => {
      // Nothing ever fans these out: before, they were kept for good.
      for (let i = 0; i < 7; i++) await event(h.db, 45, { fannedOut: false });
      for (let i = 0; i < 3; i++) await event(h.db, 45, { deliveries: ['delivered'] });
      const recent = await event(h.db, 1, { fannedOut: false });
      // One statement's batch covers both kinds: unfanned first, then settled ones with what is left.
      expect(await pruneEventBatch(h.db, RETENTION, 5)).toBe(5);
      expect(await pruneEventBatch(h.db, RETENTION, 4)).toBe(4);
      expect((await pruneEvents(h.db, { retentionMs: RETENTION, batch: 5 })).events).toBe(1);
      expect(await seqs(h.db)).toEqual([recent]);
    });

    it('stops between batches when told to', async () => {
      for (let i = 0; i < 6; i++) await event(h.db, 45);
      let stop = false;
      const out = await pruneEvents(h.db, { retentionMs: RETENTION, batch: 2, pause: async () => void (stop = true), stopped: () => stop });
      expect(out.events).toBe(2);
    });
  });
}

eventRetentionContract('PGlite (in memory)', async () => {
  const handle = await openPglite();
  await migratePglite(handle.db);
  return { db: handle.db, destroy: () => handle.close() };
});

let database: TestDatabase | undefined;
eventRetentionContract('Postgres', async () => {
  database = await createTestDatabase();
  await migratePostgres(database.url);
  const handle = openPostgres(database.url);
  return {
    db: handle.db,
    async destroy() {
      await handle.close();
      await database?.drop();
    },
  };
});

describe('event retention on Postgres: several admin processes', () => {
  let db: TestDatabase;
  let handle: ReturnType<typeof openPostgres>;
  beforeAll(async () => {
    db = await createTestDatabase();
    await migratePostgres(db.url);
    handle = openPostgres(db.url);
  });
  afterAll(async () => {
    await handle?.close();
    await db?.drop();
  });

  it('skips the round while another process holds the retention lock, and runs once it is released', async () => {
    await event(handle.db, 40);
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1::int4, 1)', [RETENTION_LOCK_KEY]);
      expect(await pruneEvents(handle.db, { retentionMs: RETENTION })).toEqual({ events: 0, dedupeKeys: 0, batches: 0, locked: true });
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    expect(await pruneEvents(handle.db, { retentionMs: RETENTION })).toMatchObject({ events: 1, locked: false });
  });

  it('an old event a dispatcher is fanning out is skipped, then kept with its new pending delivery', async () => {
    await handle.db.execute(sql`TRUNCATE events, webhook_deliveries`);
    const seq = await event(handle.db, 40, { fannedOut: false });
    // A dispatcher (WEBHOOKS=true, started late) claims the event as fanOut does and creates its delivery.
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT seq FROM events WHERE fanned_out_at IS NULL ORDER BY seq LIMIT 200 FOR UPDATE SKIP LOCKED');
      await other.query("INSERT INTO webhook_deliveries (id, webhook, event_seq, status) VALUES ('msg_fanout', 'hook', $1, 'pending')", [seq]);
      await other.query('UPDATE events SET fanned_out_at = now() WHERE seq = $1', [seq]);
      expect((await pruneEvents(handle.db, { retentionMs: RETENTION })).events).toBe(0);
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    expect((await pruneEvents(handle.db, { retentionMs: RETENTION })).events).toBe(0);
    expect(await seqs(handle.db)).toEqual([seq]);
    expect(await count(handle.db, 'webhook_deliveries')).toBe(1);
  });

  it('a redelivery committed while the batch is being chosen keeps its event', async () => {
    const seq = await event(handle.db, 40, { deliveries: ['dead'] });
    // The redelivery holds the delivery's row lock; the pruning batch waits for it, then sees the
    // delivery pending and leaves the event.
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query("UPDATE webhook_deliveries SET status = 'pending' WHERE event_seq = $1", [seq]);
      const pruning = pruneEvents(handle.db, { retentionMs: RETENTION });
      await new Promise((r) => setTimeout(r, 200));
      await other.query('COMMIT');
      expect((await pruning).events).toBe(0);
    } finally {
      await other.end();
    }
    expect(await seqs(handle.db)).toContain(seq);
  });
});
