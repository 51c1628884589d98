import { isCluster, primaries, type RedisClient } from '@tollgate/stores';
import { decodeEntry, encodeEntry, type CacheAddress, type CacheEntry, type CacheStorage, type PurgeTarget } from '@tollgate/policies';

/** Logger the storage reports failed writes to. */
interface WarnLogger {
  warn(obj: object, msg?: string): void;
}

/**
 * Redis storage of the response cache, shared by every gateway node: one `GET` (or `MGET`) per lookup (the
 * entry is one binary value: a JSON header and the body, see `encodeEntry`), one `SET … PX` per
 * store (not awaited by the request). Keys are `<prefix><api>:<route>:<id>` (resource names hold
 * no `:` and no glob character), so a purge by API or route is a `SCAN MATCH` on a prefix.
 */
export class RedisCacheStorage implements CacheStorage {
  readonly kind = 'redis' as const;

  constructor(
    private readonly redis: RedisClient,
    readonly prefix: string,
    private readonly logger: WarnLogger,
  ) {}

  key(a: CacheAddress): string {
    return `${this.prefix}${a.api}:${a.route}:${a.id}`;
  }

  async get(addresses: readonly CacheAddress[]): Promise<Array<CacheEntry | undefined>> {
    // One round trip: the GETs (the consumer's entry and the shared one) are written together.
    // Not MGET: the two keys hash to different slots on Redis Cluster (no common hash tag, so that
    // a popular route's entries spread over the primaries), where MGET would fail with CROSSSLOT.
    const bs = await Promise.all(addresses.map((a) => this.redis.getBuffer(this.key(a))));
    return bs.map((b) => (b === null ? undefined : decodeEntry(b)));
  }

  set(address: CacheAddress, entry: CacheEntry, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.redis.set(this.key(address), encodeEntry(entry), 'PX', Math.ceil(ttlMs)).catch((err: unknown) => this.logger.warn({ err, storage: 'redis' }, 'response cache store failed'));
  }

  /** The `SCAN MATCH` pattern of a purge target. */
  pattern(target: PurgeTarget): string {
    if ('all' in target) return `${this.prefix}*`;
    if ('id' in target) return `${this.prefix}*:*:${target.id}`;
    return target.route === undefined ? `${this.prefix}${target.api}:*` : `${this.prefix}${target.api}:${target.route}:*`;
  }

  /**
   * Deletes matching keys with SCAN (never KEYS, which blocks Redis) and UNLINK; resolves with the
   * count. On a cluster SCAN sees one node's keys, so every primary is scanned, and the keys are
   * unlinked one per command (one UNLINK of keys in several slots would fail with CROSSSLOT).
   */
  async purge(target: PurgeTarget): Promise<number> {
    const match = this.pattern(target);
    const oneSlotEach = isCluster(this.redis);
    let n = 0;
    for (const node of primaries(this.redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 500);
        cursor = next;
        if (keys.length === 0) continue;
        if (oneSlotEach) for (const c of await Promise.all(keys.map((k) => this.redis.unlink(k)))) n += c;
        else n += await this.redis.unlink(...keys);
      } while (cursor !== '0');
    }
    return n;
  }
}
