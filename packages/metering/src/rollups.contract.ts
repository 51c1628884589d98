import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { usageBatches, usageRollups, type Database } from '@tollgate/db';
import { planSpecSchema } from '@tollgate/model';
import { LATENCY_HIST_LENGTH, latencyBucket, type UsageEvent, type UsageRow } from './accumulator.js';
import { Meter } from './flusher.js';
import { writeBatch } from './rollups.js';

/** A database with the migrations applied, and how to dispose of it. */
export interface RollupDatabase {
  db: Database;
  destroy(): Promise<void>;
}

const silent = { info() {}, warn() {}, error() {} };

export function row(over: Partial<UsageRow> = {}): UsageRow {
  const hist = new Array<number>(LATENCY_HIST_LENGTH).fill(0);
  hist[2] = 1;
  return { hour: Date.parse('2026-11-15T10:00:00Z'), period: '2026-11', consumer: 'acme', subscription: 'acme-gold', plan: 'gold', api: 'orders', apiVersion: 'v1', route: 'list', statusClass: '2xx', source: 'upstream', billable: true, metric: 'requests', requests: 1, units: 1, quotaUnits: 1, bytesIn: 10, bytesOut: 20, latencyMsSum: 4, latencyHist: hist, ...over };
}

const spec = planSpecSchema.parse({ billing: { currency: 'EUR' } });
export function usage(over: Partial<UsageEvent> = {}): UsageEvent {
  return { at: Date.parse('2026-11-15T10:20:30Z'), consumer: 'acme', subscription: { name: 'acme-gold', plan: 'gold', planSpec: spec }, api: 'orders', apiVersion: 'v1', route: 'list', status: 200, source: 'upstream', units: 1, metric: 'requests', bytesIn: 1, bytesOut: 2, latencyMs: 7, ...over };
}

export async function totals(db: Database): Promise<{ requests: number; units: number; rows: number; batches: number }> {
  const [r] = await db.select({ requests: sql<string>`coalesce(sum(${usageRollups.requests}), 0)`, units: sql<string>`coalesce(sum(${usageRollups.units}), 0)`, rows: sql<string>`count(*)` }).from(usageRollups);
  const [b] = await db.select({ n: sql<string>`count(*)` }).from(usageBatches);
  return { requests: Number(r?.requests), units: Number(r?.units), rows: Number(r?.rows), batches: Number(b?.n) };
}

/** A Postgres error's SQLSTATE (drizzle wraps the driver's error as `cause`), else its message. */
function errorCode(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  return String(e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? err);
}

/** The rollup ledger's guarantees, run against every database implementation (Postgres, PGlite). */
export function rollupContract(name: string, open: () => Promise<RollupDatabase>): void {
  describe(`usage rollups on ${name}`, () => {
    let h: RollupDatabase;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h?.destroy();
    });

    it('the same batch applied twice counts once', async () => {
      const batch = { nodeId: `n-${name}-dup`, seq: 1, requests: 3, rows: [row({ requests: 3, units: 3, api: 'dup' })] };
      const before = await totals(h.db);
      expect(await writeBatch(h.db, batch)).toBe('applied');
      expect(await writeBatch(h.db, batch)).toBe('duplicate');
      const after = await totals(h.db);
      expect(after.requests - before.requests).toBe(3);
      expect(after.batches - before.batches).toBe(1);
    });

    it('batches of several nodes add up on the same key, histograms element-wise', async () => {
      const h1 = new Array<number>(LATENCY_HIST_LENGTH).fill(0);
      const h2 = new Array<number>(LATENCY_HIST_LENGTH).fill(0);
      h1[0] = 2;
      h1[5] = 1;
      h2[5] = 4;
      h2[LATENCY_HIST_LENGTH - 1] = 1;
      await writeBatch(h.db, { nodeId: `a-${name}`, seq: 1, requests: 3, rows: [row({ api: 'sum', requests: 3, units: 6, bytesIn: 5, latencyMsSum: 1.5, latencyHist: h1 })] });
      await writeBatch(h.db, { nodeId: `b-${name}`, seq: 1, requests: 5, rows: [row({ api: 'sum', requests: 5, units: 10, bytesIn: 7, latencyMsSum: 2.25, latencyHist: h2 })] });
      const rows = await h.db.select().from(usageRollups).where(sql`${usageRollups.api} = 'sum'`);
      expect(rows).toHaveLength(1);
      const expected = h1.map((v, i) => v + (h2[i] as number));
      expect(rows[0]).toMatchObject({ requests: 8, units: 16, quotaUnits: 2, bytesIn: 12, latencyMsSum: 3.75, latencyHist: expected, period: '2026-11', billable: true });
    });

    it('a batch larger than one statement (2500 rows) commits whole', async () => {
      const rows = Array.from({ length: 2500 }, (_, i) => row({ api: 'big', route: `r${i}` }));
      await writeBatch(h.db, { nodeId: `big-${name}`, seq: 1, requests: 2500, rows });
      const [r] = await h.db.select({ n: sql<string>`sum(${usageRollups.requests})` }).from(usageRollups).where(sql`${usageRollups.api} = 'big'`);
      expect(Number(r?.n)).toBe(2500);
    });

    it('nodes flushing the same keys in opposite orders at once all commit (rows are locked in one order, no deadlock)', async () => {
      // Each node's accumulator lists rows in the order its requests arrived, so two nodes hold
      // the same keys in different orders. Upserted in those orders, their transactions would lock
      // the rows crosswise and Postgres would abort one with a deadlock (40P01): a failed flush.
      const keys = Array.from({ length: 300 }, (_, i) => ({ consumer: `c${i % 30}`, route: `r${Math.floor(i / 30)}` }));
      const rounds = 6;
      const failures: string[] = [];
      for (let k = 0; k < rounds; k++) {
        const forward = keys.map((x) => row({ api: 'order', ...x }));
        // A permutation (7 is prime to 300), different in every round.
        const shuffled = keys.map((_, i) => row({ api: 'order', ...keys[(i * 7 + k * 13) % keys.length] }));
        const outcomes = await Promise.allSettled([
          writeBatch(h.db, { nodeId: `order-a-${name}`, seq: k + 1, requests: forward.length, rows: forward }),
          writeBatch(h.db, { nodeId: `order-b-${name}`, seq: k + 1, requests: shuffled.length, rows: shuffled.reverse() }),
          writeBatch(h.db, { nodeId: `order-c-${name}`, seq: k + 1, requests: forward.length, rows: [...forward].reverse() }),
        ]);
        for (const o of outcomes) if (o.status === 'rejected') failures.push(errorCode(o.reason));
      }
      expect(failures).toEqual([]);
      const [r] = await h.db.select({ n: sql<string>`sum(${usageRollups.requests})`, rows: sql<string>`count(*)` }).from(usageRollups).where(sql`${usageRollups.api} = 'order'`);
      expect(Number(r?.n)).toBe(rounds * 3 * keys.length);
      expect(Number(r?.rows)).toBe(keys.length);
    });

    it('old batch rows are pruned after the retention, recent ones kept (the first flush of a meter prunes)', async () => {
      const old = new Date(Date.now() - 8 * 86_400_000);
      await h.db.insert(usageBatches).values([{ nodeId: `old-${name}`, seq: 1, requests: 1, flushedAt: old }, { nodeId: `old-${name}`, seq: 2, requests: 1 }]);
      const meter = new Meter({ db: h.db, logger: silent });
      meter.record(usage({ api: 'prune' }));
      await meter.close();
      const left = await h.db.select({ seq: usageBatches.seq }).from(usageBatches).where(sql`${usageBatches.nodeId} = ${`old-${name}`}`);
      expect(left.map((r) => r.seq)).toEqual([2]);
    });

    it('a meter flushes what it counted, each batch once, with a new sequence per batch', async () => {
      const meter = new Meter({ db: h.db, logger: silent, nodeName: `m-${name}` });
      for (let i = 0; i < 7; i++) meter.record(usage({ api: 'meter', latencyMs: 30 }));
      expect(meter.backlogRequests()).toBe(7);
      await meter.flush();
      expect(meter.backlogRequests()).toBe(0);
      for (let i = 0; i < 5; i++) meter.record(usage({ api: 'meter', status: 500, latencyMs: 30 }));
      await meter.close();
      const rows = await h.db.select().from(usageRollups).where(sql`${usageRollups.api} = 'meter'`);
      expect(rows.map((r) => [r.statusClass, r.requests, r.billable]).sort()).toEqual([
        ['2xx', 7, true],
        ['5xx', 5, false],
      ]);
      expect(rows[0]?.latencyHist[latencyBucket(30)]).toBe(rows[0]?.requests);
      const batches = await h.db.select().from(usageBatches).where(sql`${usageBatches.nodeId} = ${meter.nodeId}`);
      expect(batches.map((b) => [b.seq, b.requests]).sort()).toEqual([
        [1, 7],
        [2, 5],
      ]);
    });
  });
}
