import { describe, expect, it } from 'vitest';
import { AuthThrottle } from './auth-throttle.js';

describe('AuthThrottle', () => {
  it('blocks an address after maxFailures in a window, until the window ends', () => {
    let now = 1_000;
    const t = new AuthThrottle({ maxFailures: 2, windowMs: 10_000 }, () => now);
    t.fail('a');
    expect(t.blockedFor('a')).toBe(0);
    t.fail('a');
    expect(t.blockedFor('a')).toBe(10_000);
    expect(t.blockedFor('b')).toBe(0);
    now += 9_999;
    expect(t.blockedFor('a')).toBe(1);
    now += 1;
    expect(t.blockedFor('a')).toBe(0);
    t.fail('a');
    expect(t.blockedFor('a')).toBe(0);
  });

  it('tracks a bounded number of addresses', () => {
    const now = 0;
    const t = new AuthThrottle({ maxFailures: 1, windowMs: 60_000, maxAddresses: 3 }, () => now);
    for (const a of ['a', 'b', 'c', 'd', 'e']) t.fail(a);
    expect(t.size).toBe(3);
    expect(t.blockedFor('a')).toBe(0); // forgotten (oldest)
    expect(t.blockedFor('e')).toBe(60_000);
  });
});
