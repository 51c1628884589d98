/**
 * Usage shards: where the counters that metering re-seeds from Postgres live in Redis.
 *
 * The re-seed (see @tollgate/metering `SEED_LUA`) and the live-usage apply are atomic Lua scripts
 * over a seed marker ("epoch"), a per-node batch table, live usage hashes and plan quota counters.
 * On Redis Cluster a script may only touch keys of ONE hash slot (else `CROSSSLOT`), so those keys
 * are split into a fixed number of shards, each with its own hash tag, marker and batch table,
 * and each seeded and applied on its own. A shard is the unit of data loss too: its keys live on
 * one primary, so a primary that loses its data loses whole shards, and their missing markers say
 * so. On one server (or Sentinel) the shards simply share it.
 *
 * The number of shards and their tags are part of the key layout: every node and every version
 * must agree on them, so they are constants, not settings. Each tag was chosen (by its CRC16, see
 * usage-shards.test.ts) to hash into its own sixteenth of the 16,384 slots, so a cluster whose
 * slots are split evenly over 2, 4, 8 or 16 primaries gets an even share of shards, and 3 get 6/5/5.
 */
export const USAGE_SHARD_TAGS: readonly string[] = Object.freeze([
  'usage:00.60',
  'usage:01',
  'usage:02.3',
  'usage:03.4',
  'usage:04.10',
  'usage:05.13',
  'usage:06.23',
  'usage:07.20',
  'usage:08.40',
  'usage:09.43',
  'usage:10.60',
  'usage:11.63',
  'usage:12.41',
  'usage:13.42',
  'usage:14.10',
  'usage:15.13',
]);

/** Number of usage shards. */
export const USAGE_SHARDS = USAGE_SHARD_TAGS.length;

/** FNV-1a (32 bit) of a string's UTF-16 code units: a stable, cheap spread of names over shards. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The shard (0 … USAGE_SHARDS-1) of a limiter tag (`sub:<name>`) or a live-usage owner (`consumer:<name>`). */
export function usageShardOf(name: string): number {
  return fnv1a(name) % USAGE_SHARDS;
}

/** The hash tag (without braces) of shard `n`. */
export function usageShardTag(n: number): string {
  const t = USAGE_SHARD_TAGS[n];
  if (t === undefined) throw new RangeError(`no usage shard ${n}`);
  return t;
}

/** The shard of a shard tag, or -1 when `tag` is not one. */
export function shardOfTag(tag: string): number {
  return USAGE_SHARD_TAGS.indexOf(tag);
}

/**
 * Where a re-seeded limiter's counters of `tag` live: the call's hash tag is the shard's, and
 * every window key is prefixed with the original tag (`sub:<name>:<window>`), so one call's keys
 * and the shard's seed marker share a slot.
 */
export function reseededCounters(tag: string): { readonly tag: string; readonly keyPrefix: string } {
  return { tag: usageShardTag(usageShardOf(tag)), keyPrefix: `${tag}:` };
}

/** Name of a shard's seed marker (without the store's key prefix), e.g. `{usage:01}:epoch`. */
export function usageEpochKey(shardTag: string): string {
  return `{${shardTag}}:epoch`;
}
