import { describe, expect, it } from 'vitest';
import { cacheKeyId, forwardedParams, normalizeAuthority, normalizeQuery, requestOrigin, type RequestOrigin } from './key.js';
import { decodeEntry, encodeEntry, MemoryCacheStorage, type CacheEntry } from './store.js';

const entry = (body: string, extra: Partial<CacheEntry> = {}): CacheEntry => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from(body), storedAt: 1, initialAge: 0, lifetime: 60, vary: {}, shared: false, ...extra });
const at = (id: string, api = 'a', route = 'r') => ({ api, route, id });

const origin = (over: Partial<RequestOrigin> = {}): RequestOrigin => ({ scheme: 'http', host: 'h', port: null, prefix: null, forwarded: null, ...over });

describe('cache keys', () => {
  it('sorts the query by name (stably: repeated names keep their order), up to URI equivalence', () => {
    expect(normalizeQuery('b=2&a=1&a=0')).toBe('a=1&a=0&b=2');
    expect(normalizeQuery('a=1&a=2')).not.toBe(normalizeQuery('a=2&a=1'));
    expect(normalizeQuery('x=%7e&y=%2f')).toBe(normalizeQuery('x=~&y=%2F'));
    // Not URI-equivalent, and an upstream may tell them apart.
    expect(normalizeQuery('q=a+b')).not.toBe(normalizeQuery('q=a%20b'));
    expect(normalizeQuery('a')).not.toBe(normalizeQuery('a='));
    expect(normalizeQuery(null)).toBe('');
  });
  it('differs by method, scheme, host, forwarding fields, path, query, key headers and consumer; not by query order', () => {
    const k = { method: 'GET', origin: origin(), path: '/p', query: 'a=1&b=2', headers: [['accept', 'json']] as const, consumer: null };
    const id = cacheKeyId(k);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKeyId({ ...k, query: 'b=2&a=1' })).toBe(id);
    const others = [{ method: 'HEAD' }, { origin: origin({ scheme: 'https' }) }, { origin: origin({ host: 'g' }) }, { origin: origin({ port: '8443' }) }, { origin: origin({ prefix: '/v1' }) }, { origin: origin({ forwarded: 'proto=https' }) }, { path: '/q' }, { query: 'a=1' }, { headers: [['accept', 'xml']] as const }, { headers: [['accept', null]] as const }, { consumer: 'acme' }];
    for (const other of others) expect(cacheKeyId({ ...k, ...other }), JSON.stringify(other)).not.toBe(id);
  });
  it('length-prefixes parts so shifted boundaries never collide', () => {
    const a = cacheKeyId({ method: 'GET', origin: origin({ host: 'ab' }), path: '/c', query: null, headers: [], consumer: null });
    const b = cacheKeyId({ method: 'GET', origin: origin({ host: 'a' }), path: 'b/c', query: null, headers: [], consumer: null });
    expect(a).not.toBe(b);
  });
});

describe('request origin (scheme and host as the upstream is told)', () => {
  const src = (secure: boolean, trustForwarding: boolean, headers: Record<string, string>) => ({ secure, trustForwarding, headers });
  it('the listener decides the scheme; a trusted proxy\'s X-Forwarded-Proto and -Host replace it, an untrusted one\'s are ignored', () => {
    expect(requestOrigin(src(false, false, { host: 'a.test' }))).toEqual(origin({ host: 'a.test' }));
    expect(requestOrigin(src(true, false, { host: 'a.test' }))).toEqual(origin({ scheme: 'https', host: 'a.test' }));
    const spoof = { host: 'a.test', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.test', 'x-forwarded-port': '1', 'x-forwarded-prefix': '/x', forwarded: 'proto=https' };
    expect(requestOrigin(src(false, false, spoof))).toEqual(origin({ host: 'a.test' }));
    expect(requestOrigin(src(false, true, spoof))).toEqual({ scheme: 'https', host: 'evil.test', port: '1', prefix: '/x', forwarded: 'proto=https' });
    expect(requestOrigin(src(true, true, { host: 'a.test', 'x-forwarded-proto': 'HTTP' })).scheme).toBe('http');
  });
  it('host spellings: case and the scheme\'s default port are one; another port or a trailing dot are not', () => {
    expect(normalizeAuthority('API.Example.TEST:80', 'http')).toBe('api.example.test');
    expect(normalizeAuthority('api.example.test:', 'http')).toBe('api.example.test');
    expect(normalizeAuthority('api.example.test:443', 'https')).toBe('api.example.test');
    expect(normalizeAuthority('api.example.test:443', 'http')).toBe('api.example.test:443');
    expect(normalizeAuthority('api.example.test:8080', 'http')).toBe('api.example.test:8080');
    expect(normalizeAuthority('[::1]:80', 'http')).toBe('[::1]');
    expect(normalizeAuthority('api.example.test.', 'http')).toBe('api.example.test.');
  });
  it('Forwarded: only proto= and host= (for= is per client)', () => {
    expect(forwardedParams('for=1.2.3.4;proto=HTTPS;host="a.test", for=5.6.7.8')).toBe('proto=https,host="a.test"');
    expect(forwardedParams('for=1.2.3.4')).toBeNull();
    expect(forwardedParams(null)).toBeNull();
  });
});

describe('entry encoding', () => {
  it('round-trips and rejects garbage', () => {
    const e = entry('hello', { vary: { accept: null }, headers: { a: 'b' } });
    expect(decodeEntry(encodeEntry(e))).toEqual(e);
    const shared = entry('hello', { shared: true });
    expect(decodeEntry(encodeEntry(shared))).toEqual(shared);
    expect(decodeEntry(Buffer.from('xx'))).toBeUndefined();
    expect(decodeEntry(Buffer.from([0, 0, 0, 50, 1]))).toBeUndefined();
  });
});

describe('MemoryCacheStorage (LRU)', () => {
  it('evicts the least recently used entry past maxEntries', async () => {
    const m = new MemoryCacheStorage({ maxEntries: 2, maxBytes: 1e9 });
    m.set(at('1'), entry('one'), 10_000);
    m.set(at('2'), entry('two'), 10_000);
    expect((await m.get([at('1')]))[0]).toBeDefined(); // 1 is now the most recent
    m.set(at('3'), entry('three'), 10_000);
    expect(m.getSync(at('2'))).toBeUndefined();
    expect(m.getSync(at('1'))?.body.toString()).toBe('one');
    expect(m.size).toBe(2);
  });
  it('evicts by bytes and refuses an entry larger than the whole budget', () => {
    const m = new MemoryCacheStorage({ maxEntries: 100, maxBytes: 2_000 });
    m.set(at('1'), entry('x'.repeat(900)), 10_000);
    m.set(at('2'), entry('y'.repeat(900)), 10_000);
    expect(m.size).toBe(1);
    m.set(at('big'), entry('z'.repeat(5_000)), 10_000);
    expect(m.getSync(at('big'))).toBeUndefined();
    expect(m.bytes).toBeLessThanOrEqual(2_000);
  });
  it('drops entries past their TTL', () => {
    let now = 1_000;
    const m = new MemoryCacheStorage(undefined, () => now);
    m.set(at('1'), entry('one'), 500);
    expect(m.getSync(at('1'))).toBeDefined();
    now = 1_600;
    expect(m.getSync(at('1'))).toBeUndefined();
    expect(m.bytes).toBe(0);
  });
  it('purges all, by API, by route and by key id', () => {
    const m = new MemoryCacheStorage();
    m.set(at('1', 'a', 'r1'), entry('1'), 10_000);
    m.set(at('2', 'a', 'r2'), entry('2'), 10_000);
    m.set(at('3', 'b', 'r1'), entry('3'), 10_000);
    m.set(at('4', 'b', 'r2'), entry('4'), 10_000);
    expect(m.purgeSync({ api: 'a', route: 'r1' })).toBe(1);
    expect(m.purgeSync({ id: '4' })).toBe(1);
    expect(m.purgeSync({ api: 'a' })).toBe(1);
    expect(m.size).toBe(1);
    expect(m.purgeSync({ all: true })).toBe(1);
    expect(m.size).toBe(0);
  });
});
