import { describe, expect, it } from 'vitest';
import { CoalescedRun } from './coalesced-run.js';

describe('CoalescedRun', () => {
  it('runs one pass at a time, shares it with calls made meanwhile and runs once more after them', async () => {
    let passes = 0;
    let active = 0;
    let maxActive = 0;
    const job = new CoalescedRun(async () => {
      passes++;
      maxActive = Math.max(maxActive, ++active);
      await new Promise((r) => setTimeout(r, 10));
      active--;
    }, () => false);
    const first = job.run();
    const calls = [job.run(), job.run(), job.run()];
    expect(calls.every((c) => c === first)).toBe(true);
    await Promise.all(calls);
    expect(passes).toBe(2);
    expect(maxActive).toBe(1);
    expect(job.running).toBeNull();
  });

  it('repeats a pass that asked again, until stopped', async () => {
    let passes = 0;
    let stopped = false;
    const job: CoalescedRun = new CoalescedRun(async () => {
      passes++;
      if (passes === 3) stopped = true;
      job.again();
    }, () => stopped);
    await job.run();
    expect(passes).toBe(3);
  });
});
