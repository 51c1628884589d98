import { describe, expect, it } from 'vitest';
import { ConsumeBatcher, type ConsumeBatch } from './consume-batcher.js';
import type { ConsumeResult } from './counter-store.js';

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
});
