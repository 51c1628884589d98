import { describe, expect, it } from 'vitest';
import { SmoothWeightedRoundRobin } from './balancer.js';

describe('SmoothWeightedRoundRobin', () => {
  it('produces nginx smooth sequence for 5/1/1', () => {
    const b = new SmoothWeightedRoundRobin([
      { value: 'a', weight: 5 },
      { value: 'b', weight: 1 },
      { value: 'c', weight: 1 },
    ]);
    const seq = Array.from({ length: 7 }, () => b.pick()).join('');
    expect(seq).toBe('aabacaa');
  });

  it('distributes exactly by weight over whole cycles and skips weight 0', () => {
    const b = new SmoothWeightedRoundRobin([
      { value: 'a', weight: 3 },
      { value: 'b', weight: 2 },
      { value: 'z', weight: 0 },
      { value: 'c', weight: 1 },
    ]);
    expect(b.size).toBe(3);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 600; i++) {
      const v = b.pick();
      counts[v] = (counts[v] ?? 0) + 1;
    }
    expect(counts).toEqual({ a: 300, b: 200, c: 100 });
  });

  it('never picks the same heavy target more than needed in a row for equal weights', () => {
    const b = new SmoothWeightedRoundRobin([
      { value: 'a', weight: 100 },
      { value: 'b', weight: 100 },
    ]);
    expect([b.pick(), b.pick(), b.pick(), b.pick()]).toEqual(['a', 'b', 'a', 'b']);
  });

  it('refuses a set with no positive weight', () => {
    expect(() => new SmoothWeightedRoundRobin([{ value: 'a', weight: 0 }])).toThrow();
  });
});
