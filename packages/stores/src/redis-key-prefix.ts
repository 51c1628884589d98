/**
 * Checks a Redis key prefix (`REDIS_KEY_PREFIX`, `CACHE_KEY_PREFIX`) and returns it.
 *
 * Tollgate's keys are `<prefix>{<tag>}…`, and Redis Cluster hashes a key by its *first* `{…}` that
 * holds at least one character. A brace in the prefix takes that role from Tollgate's tag: `{x}`
 * sends every key to one slot (one hot primary), and `{}` (empty, so no tag) or a lone `{` makes
 * Redis hash the whole key, so the keys of one script call land in different slots (CROSSSLOT).
 * Neither shows up on a single server, so the prefix is refused everywhere, not only on clusters.
 */
export function checkRedisKeyPrefix(prefix: string, name = 'key prefix'): string {
  if (/[{}]/.test(prefix)) throw new TypeError(`${name}: must not contain "{" or "}" (${JSON.stringify(prefix)}): a brace in the prefix would replace Tollgate's hash tags on Redis Cluster (docs/redis.md)`);
  return prefix;
}
