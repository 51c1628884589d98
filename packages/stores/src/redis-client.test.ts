import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedisClient, parseRedisUrl, redactRedisUrl } from './redis-client.js';

describe('parseRedisUrl', () => {
  it('leaves a one-server URL to ioredis', () => {
    expect(parseRedisUrl('redis://:pw@127.0.0.1:6379/9')).toEqual({ mode: 'single', url: 'redis://:pw@127.0.0.1:6379/9' });
    expect(parseRedisUrl('rediss://h:6380')).toEqual({ mode: 'single', url: 'rediss://h:6380' });
  });

  it('reads a cluster seed list, with credentials, IPv6 and default ports', () => {
    expect(parseRedisUrl('redis+cluster://u:p%40ss@h1:7000,h2,[::1]:7002')).toEqual({
      mode: 'cluster',
      tls: false,
      username: 'u',
      password: 'p@ss',
      nodes: [
        { host: 'h1', port: 7000 },
        { host: 'h2', port: 6379 },
        { host: '::1', port: 7002 },
      ],
    });
    expect(parseRedisUrl('rediss+cluster://h1:7000/')).toMatchObject({ mode: 'cluster', tls: true });
    expect(() => parseRedisUrl('redis+cluster://h1:7000/2')).toThrow(/only database 0/);
    expect(() => parseRedisUrl('redis+cluster://')).toThrow(/no host/);
  });

  it('reads sentinels, the primary name, a database and the sentinel password', () => {
    expect(parseRedisUrl('redis+sentinel://:pw@s1,s2:26380/mymaster/3?sentinelPassword=sp')).toEqual({
      mode: 'sentinel',
      tls: false,
      password: 'pw',
      name: 'mymaster',
      db: 3,
      sentinelPassword: 'sp',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
    });
    expect(() => parseRedisUrl('redis+sentinel://s1:26379')).toThrow(/primary name/);
  });

  it('refuses other schemes and bad ports', () => {
    expect(() => parseRedisUrl('http://x')).toThrow(/scheme/);
    expect(() => parseRedisUrl('redis+cluster://h:99999')).toThrow(/bad port/);
  });

  it('redacts the password', () => {
    expect(redactRedisUrl('redis+cluster://u:secret@h1:1,h2:2')).toBe('redis+cluster://u:***@h1:1,h2:2');
  });
});

describe('createRedisClient', () => {
  it('makes a Redis for one server or a sentinel URL and a Cluster for a cluster URL', () => {
    const opts = { redis: { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null } };
    const single = createRedisClient('redis://127.0.0.1:1', opts);
    const sentinel = createRedisClient('redis+sentinel://127.0.0.1:1/mymaster', opts);
    const cluster = createRedisClient('redis+cluster://:pw@127.0.0.1:1,127.0.0.1:2', opts);
    try {
      expect(single).toBeInstanceOf(Redis);
      expect(sentinel).toBeInstanceOf(Redis);
      expect((sentinel as Redis).options).toMatchObject({ name: 'mymaster', sentinels: [{ host: '127.0.0.1', port: 1 }] });
      expect(cluster).toBeInstanceOf(Cluster);
      // Failure behaviour moves to the cluster level (ioredis refuses it per node).
      expect((cluster as Cluster).options).toMatchObject({ enableOfflineQueue: false, lazyConnect: true, redisOptions: { password: 'pw' } });
      expect((cluster as Cluster).options.redisOptions).not.toHaveProperty('enableOfflineQueue');
    } finally {
      for (const c of [single, sentinel, cluster]) c.disconnect();
    }
  });
});
