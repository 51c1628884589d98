import { describe, expect, it } from 'vitest';
import { cacheKeyId, normalizeQuery } from './key.js';
import { decodeEntry, encodeEntry, MemoryCacheStorage, type CacheEntry } from './store.js';

const entry = (body: string, extra: Partial<CacheEntry> = {}): CacheEntry => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from(body), storedAt: 1, initialAge: 0, lifetime: 60, vary: {}, ...extra });
const at = (id: string, api = 'a', route = 'r') => ({ api, route, id });

describe('cache keys', () => {
  it('sorts the query by name then value and re-encodes it canonically', () => {
    expect(normalizeQuery('b=2&a=1&a=0')).toBe('a=0&a=1&b=2');
    expect(normalizeQuery('q=a+b&x=%7e')).toBe(normalizeQuery('x=~&q=a%20b'));
    expect(normalizeQuery(null)).toBe('');
  });
  it('differs by method, host, path, query, key headers and consumer; not by query order', () => {
    const k = { method: 'GET', host: 'h', path: '/p', query: 'a=1&b=2', headers: [['accept', 'json']] as const, consumer: null };
    const id = cacheKeyId(k);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKeyId({ ...k, query: 'b=2&a=1' })).toBe(id);
    for (const other of [{ method: 'HEAD' }, { host: 'g' }, { path: '/q' }, { query: 'a=1' }, { headers: [['accept', 'xml']] as const }, { headers: [['accept', null]] as const }, { consumer: 'acme' }]) {
      expect(cacheKeyId({ ...k, ...other }), JSON.stringify(other)).not.toBe(id);
    }
  });
  it('length-prefixes parts so shifted boundaries never collide', () => {
    const a = cacheKeyId({ method: 'GET', host: 'ab', path: '/c', query: null, headers: [], consumer: null });
    const b = cacheKeyId({ method: 'GET', host: 'a', path: 'b/c', query: null, headers: [], consumer: null });
    expect(a).not.toBe(b);
  });
});

describe('entry encoding', () => {
  it('round-trips and rejects garbage', () => {
    const e = entry('hello', { vary: { accept: null }, headers: { a: 'b' } });
    expect(decodeEntry(encodeEntry(e))).toEqual(e);
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
