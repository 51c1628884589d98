import { describe, expect, it } from 'vitest';
import { backoffMs, messageBody, newMessageId } from './dispatcher.js';

describe('webhook dispatcher helpers', () => {
  const retry = { baseMs: 5_000, maxMs: 3_600_000, horizonMs: 86_400_000 };

  it('backs off exponentially with equal jitter, capped', () => {
    expect(backoffMs(1, retry, () => 0)).toBe(2_500);
    expect(backoffMs(1, retry, () => 1)).toBe(5_000);
    expect(backoffMs(4, retry, () => 0)).toBe(20_000);
    expect(backoffMs(40, retry, () => 1)).toBe(3_600_000);
    expect(backoffMs(40, retry, () => 0)).toBe(1_800_000);
  });

  it('retries for at least the 24 h horizon before dead-lettering: the schedule reaches it within a bounded number of attempts', () => {
    let elapsed = 0;
    let attempts = 0;
    while (elapsed <= retry.horizonMs) elapsed += backoffMs(++attempts, retry, () => 1);
    // Worst case (full delays) still gets many attempts in; best case (half delays) at most twice as many.
    expect(attempts).toBeGreaterThan(20);
    expect(attempts).toBeLessThan(60);
  });

  it('builds the Standard Webhooks payload and msg_ ids', () => {
    expect(JSON.parse(messageBody('quota.exhausted', new Date('2026-12-07T06:00:00Z'), { a: 1 }))).toEqual({ type: 'quota.exhausted', timestamp: '2026-12-07T06:00:00.000Z', data: { a: 1 } });
    expect(newMessageId()).toMatch(/^msg_[0-9a-f]{32}$/);
  });
});
