import { describe, expect, it } from 'vitest';
import { nextTurn, sliceTimer } from './turns.js';

/** Holds the thread for `ms` (a piece of long work). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('nextTurn', () => {
  it('resumes one waiting job per event-loop iteration: pieces of concurrent jobs never run back to back', async () => {
    // A timer re-armed from itself runs once per iteration (its phase comes round after each
    // check phase), so a tick between two pieces means the loop went round (and ran pending I/O).
    const ticks: number[] = [];
    let ticking = true;
    const tick = (): void => {
      ticks.push(performance.now());
      if (ticking) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const pieces: Array<[number, number]> = [];
    const job = async (): Promise<void> => {
      for (let i = 0; i < 4; i++) {
        await nextTurn();
        const start = performance.now();
        busy(5);
        pieces.push([start, performance.now()]);
      }
    };
    await Promise.all([job(), job(), job()]);
    ticking = false;
    pieces.sort((a, b) => a[0] - b[0]);
    expect(pieces).toHaveLength(12);
    // With one setImmediate per job the three jobs' pieces ran in one check phase, 15 ms in one piece.
    for (let i = 1; i < pieces.length; i++) {
      const [, prevEnd] = pieces[i - 1] as [number, number];
      const [start] = pieces[i] as [number, number];
      expect(ticks.some((t) => t >= prevEnd && t <= start), `no turn of the loop between piece ${i - 1} and piece ${i}`).toBe(true);
    }
  });

  it('serves waiters in the order they asked', async () => {
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map(async (n) => {
      await nextTurn();
      order.push(n);
    }));
    expect(order).toEqual([0, 1, 2, 3]);
  });
});

describe('sliceTimer', () => {
  it('pauses nothing until the slice is used up, then waits for a turn of the event loop', async () => {
    const pause = sliceTimer(5);
    expect(pause()).toBeUndefined();
    busy(6);
    // An immediate queued before the pause runs in the check phase the pause waits for: a pause
    // that resolved in a microtask (no turn of the loop) would leave it false. (A 0 ms timer is no
    // such marker: created after the busy loop, it may not be due when that check phase comes.)
    let turned = false;
    setImmediate(() => (turned = true));
    const waiting = pause();
    expect(waiting).toBeInstanceOf(Promise);
    await waiting;
    expect(turned).toBe(true);
    // A new slice starts after the pause.
    expect(pause()).toBeUndefined();
  });
});
