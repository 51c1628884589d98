import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * A client of whatever `REDIS_URL` names: one server (`Redis`), a server found through Sentinel
 * (also `Redis`: ioredis asks the sentinels for the current primary and follows a failover), or a
 * Redis Cluster (`Cluster`: follows MOVED/ASK and refreshes its slot map after a failover). Code
 * that takes a `RedisClient` must keep every multi-key command in one hash slot (hash tags, see
 * docs/redis.md) so the same code runs on all three.
 */
export type RedisClient = Redis | Cluster;

/** Host and port of one server, sentinel or cluster seed node. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** What a `REDIS_URL` names, parsed (see {@link parseRedisUrl}). */
export type RedisTarget =
  | { readonly mode: 'single'; readonly url: string }
  | { readonly mode: 'cluster'; readonly nodes: readonly RedisAddress[]; readonly tls: boolean; readonly username?: string; readonly password?: string }
  | {
      readonly mode: 'sentinel';
      readonly sentinels: readonly RedisAddress[];
      /** The monitored primary's name (`sentinel monitor <name> ...`). */
      readonly name: string;
      readonly db: number;
      readonly tls: boolean;
      readonly username?: string;
      readonly password?: string;
      readonly sentinelPassword?: string;
    };

/** URL schemes `REDIS_URL` accepts. */
export const REDIS_URL_SCHEMES = ['redis://', 'rediss://', 'redis+cluster://', 'rediss+cluster://', 'redis+sentinel://', 'rediss+sentinel://'] as const;

const DEFAULT_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;

/**
 * Parses a comma-separated host list (`h1:p1,h2:p2`, `[::1]:7000`). The WHATWG URL parser does
 * not accept several hosts in one authority, so the list is split here (the same form as
 * Lettuce's and redis-py's multi-host URLs).
 */
function parseHosts(list: string, defaultPort: number, url: string): RedisAddress[] {
  const out: RedisAddress[] = [];
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(item);
    if (m === null) throw new TypeError(`REDIS_URL: bad host "${item}" in ${redactRedisUrl(url)}`);
    const host = (m[1] as string).replace(/^\[|\]$/g, '');
    const port = m[2] === undefined ? defaultPort : Number(m[2]);
    if (port < 1 || port > 65_535) throw new TypeError(`REDIS_URL: bad port in "${item}"`);
    out.push({ host, port });
  }
  if (out.length === 0) throw new TypeError(`REDIS_URL: no host in ${redactRedisUrl(url)}`);
  return out;
}

/**
 * Reads `REDIS_URL`:
 * - `redis://[user:pass@]host:port[/db]`, `rediss://…`: one server (as ioredis reads it);
 * - `redis+cluster://[user:pass@]h1:p1,h2:p2`: a Redis Cluster, any reachable nodes as seeds;
 * - `redis+sentinel://[user:pass@]s1:p1,s2:p2/<primary name>[/db][?sentinelPassword=…]`: the
 *   primary that the sentinels monitor under that name (the credentials are the primary's).
 * `rediss+…` uses TLS. Credentials are percent-decoded.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//.exec(url)?.[1];
  if (scheme === 'redis' || scheme === 'rediss') return { mode: 'single', url };
  if (scheme === undefined || !/^rediss?\+(cluster|sentinel)$/.test(scheme)) throw new TypeError(`REDIS_URL: scheme must be one of ${REDIS_URL_SCHEMES.join(', ')}`);
  const tls = scheme.startsWith('rediss');
  const rest = url.slice(scheme.length + 3);
  const authEnd = rest.search(/[/?]/);
  const authority = authEnd === -1 ? rest : rest.slice(0, authEnd);
  const pathAndQuery = authEnd === -1 ? '' : rest.slice(authEnd);
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at);
  const hostList = at === -1 ? authority : authority.slice(at + 1);
  const [path = '', query = ''] = pathAndQuery.split('?', 2) as [string?, string?];
  const colon = userinfo.indexOf(':');
  const username = userinfo === '' ? undefined : decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon)) || undefined;
  const password = colon === -1 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
  const params = new URLSearchParams(query);
  const creds = { ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) };
  if (scheme.endsWith('cluster')) {
    // A cluster has no databases other than 0 (SELECT is refused in cluster mode).
    if (path !== '' && path !== '/' && path !== '/0') throw new TypeError('REDIS_URL: a Redis Cluster has only database 0');
    return { mode: 'cluster', nodes: parseHosts(hostList, DEFAULT_PORT, url), tls, ...creds };
  }
  const parts = path.split('/').filter((p) => p !== '');
  const name = parts[0];
  if (name === undefined) throw new TypeError('REDIS_URL: redis+sentinel:// needs the primary name as path, e.g. redis+sentinel://s1:26379,s2:26379/mymaster');
  const db = parts[1] === undefined ? 0 : Number(parts[1]);
  if (!Number.isInteger(db) || db < 0) throw new TypeError('REDIS_URL: bad database number');
  const sentinelPassword = params.get('sentinelPassword') ?? undefined;
  return { mode: 'sentinel', sentinels: parseHosts(hostList, DEFAULT_SENTINEL_PORT, url), name: decodeURIComponent(name), db, tls, ...creds, ...(sentinelPassword !== undefined ? { sentinelPassword } : {}) };
}

/** The URL with its password replaced by `***` (for logs and errors). */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/** Options of {@link createRedisClient}: per-connection options, applied to every node of a cluster. */
export interface RedisClientOptions {
  /** Options of each connection (ioredis `RedisOptions`: timeouts, `lazyConnect`, …). */
  readonly redis?: RedisOptions;
  /** Extra options of a `Cluster` client only. */
  readonly cluster?: ClusterOptions;
}

/**
 * The one place a Redis client is created from `REDIS_URL`: counters, metering, response cache
 * and pub/sub all call it, so a cluster or sentinel URL works for every Redis use.
 *
 * Options that decide failure behaviour (`enableOfflineQueue`, `retryStrategy`) map to their
 * cluster-level equivalents: a Cluster has its own offline queue and reconnect strategy, and
 * ioredis refuses them inside `redisOptions`.
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): RedisClient {
  const target = parseRedisUrl(url);
  const { retryStrategy, enableOfflineQueue, lazyConnect, ...perNode } = options.redis ?? {};
  if (target.mode === 'single') return new Redis(url, options.redis ?? {});
  const tls = target.tls ? { tls: {} } : {};
  const creds = { ...(target.username !== undefined ? { username: target.username } : {}), ...(target.password !== undefined ? { password: target.password } : {}) };
  if (target.mode === 'sentinel') {
    return new Redis({
      ...options.redis,
      ...creds,
      sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: target.name,
      db: target.db,
      ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
      ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      // After a failover the old primary may answer as a replica for a moment: reconnect on the
      // READONLY error (ioredis then asks the sentinels for the new primary).
      reconnectOnError: (err) => err.message.startsWith('READONLY'),
    });
  }
  return new Cluster(
    target.nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
      ...(lazyConnect !== undefined ? { lazyConnect } : {}),
      ...(typeof retryStrategy === 'function' ? { clusterRetryStrategy: (times: number) => retryStrategy(times) } : {}),
      // A failover moves slots: ask for the new map soon after a node goes away (ms).
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      slotsRefreshTimeout: 1_000,
      slotsRefreshInterval: 5_000,
      ...options.cluster,
      redisOptions: { ...perNode, ...creds, ...tls },
    },
  );
}

/** Whether the client talks to a Redis Cluster (multi-key commands then need one slot). */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** The primaries a command like SCAN must visit: every master of a cluster, or the one server. */
export function primaries(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** A second connection with the same target (e.g. a pub/sub subscriber), with `redis` options overridden. */
export function duplicateClient(client: RedisClient, redis: RedisOptions = {}): RedisClient {
  if (client instanceof Cluster) {
    const { enableOfflineQueue, ...perNode } = redis;
    return client.duplicate([], { ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}), redisOptions: { ...client.options.redisOptions, ...perNode } });
  }
  return client.duplicate(redis);
}
