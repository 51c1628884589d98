import { describe, expect, it, vi } from 'vitest';
import { ConsumeBatcher, type ConsumeBatch } from './consume-batcher.js';
import type { ConsumeResult } from './counter-store.js';
import { COMMAND_TIMEOUT } from './deadline.js';

/** A runner that records its batches and answers each cost with its running total. */
function recording() {
  const batches: ConsumeBatch[] = [];
  const run = async (b: ConsumeBatch): Promise<ConsumeResult[]> => {
    batches.push({ ...b, windows: b.windows.map((w) => ({ ...w })), costs: [...b.costs] });
    let total = 0;
    return b.costs.map((c) => ({ allowed: true, counts: [(total += c)], resetMs: [1] }));
  };
  return { batches, run };
}

describe('ConsumeBatcher', () => {
  it('merges consumes of the same tag, windows and guard made in one turn; keeps others apart', async () => {
    const { batches, run } = recording();
    const b = new ConsumeBatcher(run);
    const w = (ttlMs: number, limit = 10) => [{ key: '60000:1', limit, ttlMs }];
    const results = await Promise.all([
      b.consume('t', w(500), 1, undefined),
      b.consume('t', w(400), 2, undefined),
      b.consume('u', w(500), 1, undefined),
      b.consume('t', w(500, 11), 1, undefined),
      b.consume('t', w(300), 3, '{t}:g'),
      b.consume('t', w(450), 4, undefined),
    ]);
    expect(batches.map((x) => [x.tag, x.guard ?? null, x.windows[0]?.limit, x.costs])).toEqual([
      ['t', null, 10, [1, 2, 4]],
      ['t', null, 11, [1]],
      ['t', '{t}:g', 10, [3]],
      ['u', null, 10, [1]],
    ]);
    // The key made by a batch gets the shortest TTL given (the latest instant of the turn).
    expect(batches[0]?.windows[0]?.ttlMs).toBe(400);
    // Each consume gets its own answer: its place in the order of its batch.
    expect(results.map((r) => r.counts[0])).toEqual([1, 3, 1, 1, 3, 7]);
  });

  it('consumes of later turns make new batches; a failed batch rejects each of its consumes', async () => {
    let calls = 0;
    const b = new ConsumeBatcher(async (batch) => {
      calls += 1;
      if (batch.costs.length === 2) throw new Error('down');
      return batch.costs.map(() => ({ allowed: true, counts: [1], resetMs: [1] }));
    });
    const w = [{ key: 'k', limit: 1, ttlMs: 1 }];
    await b.consume('t', w, 1, undefined);
    const failed = await Promise.allSettled([b.consume('t', w, 1, undefined), b.consume('t', w, 1, undefined)]);
    expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toBe(2);
  });

  it('holds the consumes made while a flush is out and sends them together once it settled (in order)', async () => {
    const { batches, run } = recording();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const b = new ConsumeBatcher(async (batch) => {
      calls += 1;
      if (calls === 1) await gate;
      return run(batch);
    });
    const w = [{ key: '60000:1', limit: 10, ttlMs: 500 }];
    const first = b.consume('t', w, 1, undefined);
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(1);
    // Three later turns while the first call is out: no call of their own yet.
    const later: Promise<ConsumeResult>[] = [];
    for (let i = 0; i < 3; i++) {
      later.push(b.consume('t', w, 2, undefined), b.consume('u', w, 1, undefined));
      await new Promise((r) => setImmediate(r));
    }
    expect(calls).toBe(1);
    release();
    const results = await Promise.all([first, ...later]);
    expect(calls).toBe(3);
    expect(batches.map((x) => [x.tag, x.costs])).toEqual([
      ['t', [1]],
      ['t', [2, 2, 2]],
      ['u', [1, 1, 1]],
    ]);
    expect(results.map((r) => r.counts[0])).toEqual([1, 2, 1, 4, 2, 6, 3]);
  });

  it('starts the batches of one flush inside `around` (one corked write)', async () => {
    const { batches, run } = recording();
    const seen: number[] = [];
    const b = new ConsumeBatcher(run, {
      around: (startAll) => {
        seen.push(batches.length);
        startAll();
        seen.push(batches.length);
      },
    });
    const w = [{ key: 'k', limit: 10, ttlMs: 1 }];
    await Promise.all([b.consume('t', w, 1, undefined), b.consume('u', w, 1, undefined)]);
    expect(seen).toEqual([0, 2]);
  });

  describe('group commit per group', () => {
    /** Counts per tag kept as Redis would (calls applied in the order they start); `hold(tag)` makes the next call of `tag` wait for `release`. */
    function store() {
      const counts = new Map<string, number>();
      const started: string[] = [];
      const held = new Map<string, Promise<void>>();
      const releases: Array<() => void> = [];
      const run = async (b: ConsumeBatch): Promise<ConsumeResult[]> => {
        started.push(`${b.tag}:${b.costs.join('+')}`);
        // Decided at once, in start order (as Redis does when the call arrives), answered when released.
        let total = counts.get(b.tag) ?? 0;
        const out = b.costs.map((c) => ({ allowed: true, counts: [(total += c)], resetMs: [1] }));
        counts.set(b.tag, total);
        const gate = held.get(b.tag);
        held.delete(b.tag);
        if (gate !== undefined) await gate;
        return out;
      };
      const hold = (tag: string) => held.set(tag, new Promise<void>((r) => releases.push(r)));
      const releaseAll = () => releases.splice(0).forEach((r) => r());
      return { run, started, hold, releaseAll };
    }
    const w = [{ key: '60000:1', limit: 100, ttlMs: 500 }];
    const turn = () => new Promise((r) => setImmediate(r));
    const groups: Record<string, number> = { a: 1, c: 1, b: 2 };
    const groupOf = (tag: string) => groups[tag] ?? 0;

    it('a hung call of group 1 holds the consumes of group 1 (exact, in arrival order) but not those of group 2', async () => {
      const s = store();
      const b = new ConsumeBatcher(s.run, { groupOf });
      s.hold('a');
      const a1 = b.consume('a', w, 1, undefined);
      await turn();
      expect(s.started).toEqual(['a:1']);
      // While a's call hangs: b (group 2) leaves at once, again and again; c and a (group 1) wait.
      const c1 = b.consume('c', w, 5, undefined);
      const a2 = b.consume('a', w, 2, undefined);
      const b1 = b.consume('b', w, 7, undefined);
      expect((await b1).counts).toEqual([7]);
      const a3 = b.consume('a', w, 3, undefined);
      const b2 = b.consume('b', w, 1, undefined);
      expect((await b2).counts).toEqual([8]);
      await turn();
      expect(s.started).toEqual(['a:1', 'b:7', 'b:1']);
      s.releaseAll();
      const results = await Promise.all([a1, c1, a2, a3]);
      // The held consumes of group 1 leave together once a's call settled: c, then a's batch (2 then 3).
      expect(s.started).toEqual(['a:1', 'b:7', 'b:1', 'c:5', 'a:2+3']);
      expect(results.map((r) => r.counts[0])).toEqual([1, 5, 3, 6]);
    });

    it('batches of one tag start in arrival order, a later one only after the earlier settled, whatever other groups do', async () => {
      const s = store();
      const b = new ConsumeBatcher(s.run, { groupOf });
      s.hold('a');
      const first = b.consume('a', w, 1, undefined);
      await turn();
      // Two batches of a (other windows, then a's own windows) and group 2 settling meanwhile (each triggers a flush).
      const other = [{ key: '3600000:1', limit: 100, ttlMs: 500 }];
      const x = b.consume('a', other, 4, undefined);
      await b.consume('b', w, 1, undefined);
      const y = b.consume('a', w, 2, undefined);
      await b.consume('b', w, 1, undefined);
      await turn();
      expect(s.started).toEqual(['a:1', 'b:1', 'b:1']);
      s.releaseAll();
      s.hold('a');
      await first;
      // Settled after `first` resolved; the flush then runs in the check phase.
      await turn();
      await turn();
      expect(s.started).toEqual(['a:1', 'b:1', 'b:1', 'a:4', 'a:2']);
      // The next of a waits for both.
      const z = b.consume('a', w, 8, undefined);
      await turn();
      expect(s.started.length).toBe(5);
      s.releaseAll();
      expect((await Promise.all([x, y, z])).map((r) => r.counts[0])).toEqual([5, 7, 15]);
    });

    it('without groupOf every tag is in one group (one connection: as before)', async () => {
      const s = store();
      const b = new ConsumeBatcher(s.run);
      s.hold('a');
      const a1 = b.consume('a', w, 1, undefined);
      await turn();
      const b1 = b.consume('b', w, 1, undefined);
      await turn();
      await turn();
      expect(s.started).toEqual(['a:1']);
      s.releaseAll();
      await Promise.all([a1, b1]);
      expect(s.started).toEqual(['a:1', 'b:1']);
    });
  });

  describe('the wait of a queued consume counts against the deadline', () => {
    const w = [{ key: 'k', limit: 10, ttlMs: 1_000 }];
    const turn = () => new Promise((r) => setImmediate(r));

    it('still queued when its deadline passes: rejected with COMMAND_TIMEOUT and withdrawn (never sent)', async () => {
      const costs: number[][] = [];
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => (release = r));
      const b = new ConsumeBatcher(
        async (batch) => {
          costs.push([...batch.costs]);
          if (costs.length === 1) await gate;
          return batch.costs.map(() => ({ allowed: true, counts: [1], resetMs: [1] }));
        },
        { deadlineMs: 150 },
      );
      const first = b.consume('t', w, 1, undefined);
      await turn();
      const started = performance.now();
      const queued = b.consume('t', w, 2, undefined);
      const kept = (async () => {
        await new Promise((r) => setTimeout(r, 100));
        return b.consume('t', w, 3, undefined);
      })();
      await expect(queued).rejects.toMatchObject({ code: COMMAND_TIMEOUT });
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(145);
      expect(waited).toBeLessThan(1_000);
      release();
      await first;
      // The consume that timed out was taken out of its batch; the later one of that batch still goes.
      expect((await kept).allowed).toBe(true);
      expect(costs).toEqual([[1], [3]]);
    });

    it('consumes queued at different times in one batch: each answered by its own deadline, with one timer for the batch', async () => {
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => (release = r));
      const costs: number[][] = [];
      const b = new ConsumeBatcher(
        async (batch) => {
          costs.push([...batch.costs]);
          if (costs.length === 1) await gate;
          return batch.costs.map(() => ({ allowed: true, counts: [1], resetMs: [1] }));
        },
        { deadlineMs: 200 },
      );
      const first = b.consume('t', w, 1, undefined);
      await turn();
      const timers = vi.spyOn(globalThis, 'setTimeout');
      const started = performance.now();
      const answeredAt = (p: Promise<unknown>) => p.then(() => -1, () => performance.now() - started);
      const early = Array.from({ length: 20 }, () => answeredAt(b.consume('t', w, 2, undefined)));
      // Twenty consumes of one batch queued in one turn: one deadline timer, not one each.
      expect(timers.mock.calls.length).toBe(1);
      timers.mockRestore();
      await new Promise((r) => setTimeout(r, 100));
      const late = answeredAt(b.consume('t', w, 3, undefined));
      const earlyAt = await Promise.all(early);
      for (const at of earlyAt) expect(at).toBeGreaterThanOrEqual(195);
      // The later one is not answered with the earlier ones: 200 ms after it queued.
      expect(await late).toBeGreaterThanOrEqual(295);
      release();
      await first;
      await turn();
      // All withdrawn before they were sent.
      expect(costs).toEqual([[1]]);
    });

    it('sent after waiting: its own call gets only what is left of the deadline', async () => {
      let calls = 0;
      const b = new ConsumeBatcher(
        async (batch) => {
          calls += 1;
          // The first call answers after 100 ms; the second never answers.
          await new Promise((r) => (calls === 1 ? setTimeout(r, 100) : undefined));
          return batch.costs.map(() => ({ allowed: true, counts: [1], resetMs: [1] }));
        },
        { deadlineMs: 200 },
      );
      const first = b.consume('t', w, 1, undefined);
      await turn();
      const started = performance.now();
      const queued = b.consume('t', w, 1, undefined);
      await first;
      await expect(queued).rejects.toMatchObject({ code: COMMAND_TIMEOUT });
      expect(calls).toBe(2);
      // 200 ms after it was made, not 100 ms of waiting plus its call's own deadline.
      expect(performance.now() - started).toBeLessThan(290);
    });
  });
});
