import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { openPglite, type PgliteHandle } from './client.js';

/** A turn like model's `nextTurn` (db does not depend on model): the next check phase. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs `n` awaited statements and reports how many had completed when a timer set at the start fired. */
async function statementsBeforeTimer(handle: PgliteHandle, n: number): Promise<number> {
  let done = 0;
  let seen = -1;
  setTimeout(() => (seen = done), 0);
  for (let i = 0; i < n; i++) {
    await handle.db.execute(sql`select ${i}::int as i`);
    done++;
  }
  await new Promise((resolve) => setTimeout(resolve, 5));
  return seen;
}

// Opening PGlite takes seconds, tens of them on a loaded machine (it timed out at 30 s beside a benchmark).
describe('openPglite with paced statements (#16)', { timeout: 120_000 }, () => {
  it('without pacing, a chain of awaited statements never lets the event loop run (the stall it fixes)', async () => {
    const handle = await openPglite();
    try {
      expect(await statementsBeforeTimer(handle, 30)).toBe(30);
    } finally {
      await handle.close();
    }
  });

  it('with pacing, each statement starts in a later turn (inside transactions too), which still commit or roll back as one', async () => {
    const handle = await openPglite(undefined, turn);
    try {
      expect(await statementsBeforeTimer(handle, 30)).toBeLessThan(30);
      await handle.db.execute(sql`create table t (n int)`);
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 0);
      await handle.db.transaction(async (tx) => {
        for (let i = 0; i < 20; i++) await tx.execute(sql`insert into t values (${i})`);
      });
      await expect(
        handle.db.transaction(async (tx) => {
          await tx.execute(sql`insert into t values (100)`);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      clearInterval(ticker);
      expect(ticks).toBeGreaterThan(0);
      const rows = await handle.db.execute(sql`select count(*)::int as c, max(n)::int as m from t`);
      expect(rows.rows[0]).toEqual({ c: 20, m: 19 });
    } finally {
      await handle.close();
    }
  });
});
