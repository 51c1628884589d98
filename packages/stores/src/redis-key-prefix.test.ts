import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { checkRedisKeyPrefix } from './redis-key-prefix.js';
import { createRedisCounterStore } from './redis-counter-store.js';

describe('Redis key prefix', () => {
  it('is why braces are refused: a tag in the prefix puts every counter in one slot', () => {
    // The slot ioredis routes by (the same as Redis's for these keys). An empty `{}` in the prefix
    // is not shown here: Redis then hashes the whole key, but cluster-key-slot hashes from the
    // empty tag to the next `}` instead, so it cannot stand in for the server in that case.
    const slot = (prefix: string, tag: string) => calculateSlot(`${prefix}{${tag}}:60000:0`);
    expect(slot('tollgate:', 'sub:1')).not.toBe(slot('tollgate:', 'sub:2'));
    expect(slot('x{hot}:', 'sub:1')).toBe(slot('x{hot}:', 'sub:2'));
  });

  it('accepts a prefix without braces and refuses one with either brace, naming the setting', () => {
    expect(checkRedisKeyPrefix('tollgate:')).toBe('tollgate:');
    for (const bad of ['x{}:', '{x}:', 'a{', 'a}']) {
      expect(() => checkRedisKeyPrefix(bad, 'REDIS_KEY_PREFIX')).toThrow(/^REDIS_KEY_PREFIX: must not contain "\{" or "\}"/);
    }
  });

  it('is checked by the Redis counter store before it connects', async () => {
    await expect(createRedisCounterStore({ url: 'redis://127.0.0.1:1', keyPrefix: 'x{}:', waitForConnection: false })).rejects.toThrow(/keyPrefix: must not contain/);
  });
});
