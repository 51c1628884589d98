import { describe, expect, it } from 'vitest';
import { crc16, hashSlot } from '../../../../test/support/hash-slot.js';
import { reseededCounters, shardOfTag, usageEpochKey, usageShardOf, USAGE_SHARD_TAGS, USAGE_SHARDS } from './usage-shards.js';

describe('usage shards', () => {
  it('the slot function is Redis Cluster\'s (CRC16-XMODEM, hash tags)', () => {
    // The check value of CRC16-XMODEM, and the examples of the cluster spec.
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
    expect(hashSlot('{user1000}.following')).toBe(hashSlot('{user1000}.followers'));
    expect(hashSlot('foo{}{bar}')).toBe(crc16(Buffer.from('foo{}{bar}')) % 16384);
    expect(hashSlot('foo{{bar}}zap')).toBe(hashSlot('{bar'));
  });

  it('each tag falls in its own sixteenth of the slots, so evenly split clusters get an even share', () => {
    expect(USAGE_SHARDS).toBe(16);
    USAGE_SHARD_TAGS.forEach((tag, i) => {
      const slot = hashSlot(`{${tag}}`);
      expect(slot, tag).toBeGreaterThanOrEqual(i * 1024);
      expect(slot, tag).toBeLessThan((i + 1) * 1024);
      expect(shardOfTag(tag)).toBe(i);
    });
    expect(shardOfTag('sub:x')).toBe(-1);
  });

  it('a re-seeded limiter\'s windows and its guard share one slot; names spread over every shard', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const place = reseededCounters(`sub:s${i}`);
      expect(hashSlot(`tollgate:{${place.tag}}:${place.keyPrefix}q:2026-12`)).toBe(hashSlot(`tollgate:${usageEpochKey(place.tag)}`));
      seen.add(usageShardOf(`sub:s${i}`));
    }
    expect(seen.size).toBe(USAGE_SHARDS);
    // Stable across versions: the key layout depends on it.
    expect(usageShardOf('sub:acme')).toBe(usageShardOf('sub:acme'));
    expect(reseededCounters('sub:acme')).toEqual({ tag: USAGE_SHARD_TAGS[usageShardOf('sub:acme')], keyPrefix: 'sub:acme:' });
  });
});
