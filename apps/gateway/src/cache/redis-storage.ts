import type { Redis } from 'ioredis';
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
    private readonly redis: Redis,
    readonly prefix: string,
    private readonly logger: WarnLogger,
  ) {}

  key(a: CacheAddress): string {
    return `${this.prefix}${a.api}:${a.route}:${a.id}`;
  }

  async get(addresses: readonly CacheAddress[]): Promise<Array<CacheEntry | undefined>> {
    // One round trip: GET for one address, MGET for the consumer's and the shared one.
    if (addresses.length === 1) {
      const b = await this.redis.getBuffer(this.key(addresses[0] as CacheAddress));
      return [b === null ? undefined : decodeEntry(b)];
    }
    const bs = await this.redis.mgetBuffer(...addresses.map((a) => this.key(a)));
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

  /** Deletes matching keys with SCAN (never KEYS, which blocks Redis) and UNLINK; resolves with the count. */
  async purge(target: PurgeTarget): Promise<number> {
    const match = this.pattern(target);
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) n += await this.redis.unlink(...keys);
    } while (cursor !== '0');
    return n;
  }
}
