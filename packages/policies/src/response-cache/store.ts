/** Where a cached response lives: which API and route stored it (for purging), and its key id. */
export interface CacheAddress {
  readonly api: string;
  readonly route: string;
  /** Hex SHA-256 of the key material (see key.ts); shown to clients as `X-Cache-Key`. */
  readonly id: string;
}

/** A stored upstream response. */
export interface CacheEntry {
  readonly status: number;
  /** Upstream response headers as received (hop-by-hop already removed), lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** When it was stored, ms since the epoch. */
  readonly storedAt: number;
  /** Its age when stored (RFC 9111 §4.2.3), seconds. */
  readonly initialAge: number;
  /** Freshness lifetime (RFC 9111 §4.2.1), seconds. */
  readonly lifetime: number;
  /** Request header values the response varies on (`Vary`, RFC 9111 §4.1), by lower-case name; `null` = absent. */
  readonly vary: Readonly<Record<string, string | null>>;
  /**
   * The upstream marked it shareable with requests carrying credentials (`public`, `s-maxage` or
   * `must-revalidate`, not `private`; RFC 9111 §3.5): only such an entry answers a request that
   * forwards a Cookie or an Authorization the gateway did not consume.
   */
  readonly shared: boolean;
}

/** What to purge: everything, one API, one route of an API, or one key id. */
export type PurgeTarget = { readonly all: true } | { readonly api: string; readonly route?: string } | { readonly id: string };

/** A cache storage. `get` is at most one round trip; `set` is fire-and-forget (errors are the storage's to log). */
export interface CacheStorage {
  readonly kind: 'memory' | 'redis';
  /** The entries at several addresses (in order; undefined where none), in one round trip. */
  get(addresses: readonly CacheAddress[]): Promise<Array<CacheEntry | undefined>>;
  set(address: CacheAddress, entry: CacheEntry, ttlMs: number): void;
  /** Removes matching entries; resolves with how many (where the storage knows). */
  purge(target: PurgeTarget): Promise<number>;
}

/** The storages a gateway offers the `response-cache` policy. */
export interface CacheStorages {
  readonly memory: CacheStorage;
  /** Present when the gateway has Redis (`REDIS_URL`). */
  readonly redis: CacheStorage | null;
}

/** Serialized entry: 4-byte big-endian length of a JSON header, the header, then the body. */
export function encodeEntry(e: CacheEntry): Buffer {
  const meta = Buffer.from(JSON.stringify({ s: e.status, h: e.headers, t: e.storedAt, a: e.initialAge, l: e.lifetime, v: e.vary, p: e.shared ? 1 : 0 }));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(meta.length);
  return Buffer.concat([len, meta, e.body]);
}

/** Inverse of {@link encodeEntry}; undefined for anything malformed (treated as a miss). */
export function decodeEntry(b: Buffer): CacheEntry | undefined {
  if (b.length < 4) return undefined;
  const n = b.readUInt32BE(0);
  if (4 + n > b.length) return undefined;
  try {
    const m = JSON.parse(b.subarray(4, 4 + n).toString()) as { s: number; h: Record<string, string>; t: number; a: number; l: number; v: Record<string, string | null>; p?: number };
    if (typeof m.s !== 'number' || typeof m.t !== 'number' || typeof m.l !== 'number') return undefined;
    return { status: m.s, headers: m.h, storedAt: m.t, initialAge: m.a, lifetime: m.l, vary: m.v ?? {}, shared: m.p === 1, body: b.subarray(4 + n) };
  } catch {
    return undefined;
  }
}

/** Limits of the in-memory storage. */
export interface MemoryCacheLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

interface Slot {
  readonly address: CacheAddress;
  readonly entry: CacheEntry;
  readonly expiresAt: number;
  readonly bytes: number;
}

/** Approximate memory of an entry: body plus header text plus a fixed overhead. */
function sizeOf(e: CacheEntry): number {
  let n = e.body.length + 256;
  for (const k in e.headers) n += k.length + (e.headers[k] as string).length;
  return n;
}

/**
 * The embedded storage: an LRU bounded by entry count and bytes (a JS `Map` keeps insertion
 * order; a hit moves the entry to the end, eviction takes from the front). Expired entries are
 * dropped when met and pushed out by eviction. One per gateway process, shared by every route
 * and config snapshot.
 */
export class MemoryCacheStorage implements CacheStorage {
  readonly kind = 'memory' as const;
  readonly #slots = new Map<string, Slot>();
  #bytes = 0;

  constructor(
    readonly limits: MemoryCacheLimits = { maxEntries: 10_000, maxBytes: 64 * 1_048_576 },
    private readonly now: () => number = Date.now,
  ) {}

  /** Number of entries held (tests, `/status`). */
  get size(): number {
    return this.#slots.size;
  }

  /** Bytes held (approximate). */
  get bytes(): number {
    return this.#bytes;
  }

  static keyOf(a: CacheAddress): string {
    return `${a.api}\n${a.route}\n${a.id}`;
  }

  async get(addresses: readonly CacheAddress[]): Promise<Array<CacheEntry | undefined>> {
    return addresses.map((a) => this.getSync(a));
  }

  getSync(address: CacheAddress): CacheEntry | undefined {
    const k = MemoryCacheStorage.keyOf(address);
    const s = this.#slots.get(k);
    if (s === undefined) return undefined;
    this.#slots.delete(k);
    if (s.expiresAt <= this.now()) {
      this.#bytes -= s.bytes;
      return undefined;
    }
    this.#slots.set(k, s);
    return s.entry;
  }

  set(address: CacheAddress, entry: CacheEntry, ttlMs: number): void {
    const bytes = sizeOf(entry);
    if (ttlMs <= 0 || bytes > this.limits.maxBytes) return;
    const k = MemoryCacheStorage.keyOf(address);
    const old = this.#slots.get(k);
    if (old !== undefined) {
      this.#slots.delete(k);
      this.#bytes -= old.bytes;
    }
    this.#slots.set(k, { address, entry, expiresAt: this.now() + ttlMs, bytes });
    this.#bytes += bytes;
    for (const [key, s] of this.#slots) {
      if (this.#slots.size <= this.limits.maxEntries && this.#bytes <= this.limits.maxBytes) break;
      this.#slots.delete(key);
      this.#bytes -= s.bytes;
    }
  }

  async purge(target: PurgeTarget): Promise<number> {
    return this.purgeSync(target);
  }

  purgeSync(target: PurgeTarget): number {
    if ('all' in target) {
      const n = this.#slots.size;
      this.#slots.clear();
      this.#bytes = 0;
      return n;
    }
    let n = 0;
    for (const [k, s] of this.#slots) {
      const a = s.address;
      const hit = 'id' in target ? a.id === target.id : a.api === target.api && (target.route === undefined || a.route === target.route);
      if (!hit) continue;
      this.#slots.delete(k);
      this.#bytes -= s.bytes;
      n++;
    }
    return n;
  }
}
