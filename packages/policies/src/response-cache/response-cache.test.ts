import { describe, expect, it } from 'vitest';
import { RequestContext } from '../context.js';
import type { PolicyInstance, PolicyReply } from '../types.js';
import { currentAge, notModified, responseCache, usable } from './index.js';
import { responseCacheSchema } from './schema.js';
import { MemoryCacheStorage, type CacheEntry } from './store.js';

const e = (over: Partial<CacheEntry> = {}): CacheEntry => ({ status: 200, headers: {}, body: Buffer.alloc(0), storedAt: 10_000, initialAge: 3, lifetime: 60, vary: {}, shared: false, ...over });
const rules = { noStore: false, noCache: false, maxAge: undefined, minFresh: undefined, onlyIfCached: false };

describe('stored response use', () => {
  it('age = initial age + whole seconds stored (RFC 9111 §4.2.3)', () => {
    expect(currentAge(e(), 10_000)).toBe(3);
    expect(currentAge(e(), 12_999)).toBe(5);
  });
  it('fresh while age < lifetime; request max-age and min-fresh narrow it', () => {
    expect(usable(e(), rules, 10_000)).toBe(true);
    expect(usable(e(), rules, 10_000 + 57_000)).toBe(false);
    expect(usable(e(), { ...rules, maxAge: 2 }, 10_000)).toBe(false);
    expect(usable(e(), { ...rules, minFresh: 58 }, 10_000)).toBe(false);
    expect(usable(e(), { ...rules, minFresh: 57 }, 10_000)).toBe(true);
  });
  it('conditional requests: If-None-Match (weak comparison, *), else If-Modified-Since', () => {
    const h = { etag: 'W/"a"', 'last-modified': 'Thu, 01 Jan 2026 00:00:00 GMT' };
    expect(notModified(h, { 'if-none-match': '"a"' })).toBe(true);
    expect(notModified(h, { 'if-none-match': '"b", W/"a"' })).toBe(true);
    expect(notModified(h, { 'if-none-match': '*' })).toBe(true);
    expect(notModified(h, { 'if-none-match': '"b"', 'if-modified-since': 'Fri, 02 Jan 2026 00:00:00 GMT' })).toBe(false);
    expect(notModified(h, { 'if-modified-since': 'Fri, 02 Jan 2026 00:00:00 GMT' })).toBe(true);
    expect(notModified(h, { 'if-modified-since': 'Wed, 31 Dec 2025 00:00:00 GMT' })).toBe(false);
    expect(notModified({}, {})).toBe(false);
  });
});


/** The policy on a fresh memory storage; `fetch` runs one request through access and, on a miss, capture. */
function harness(config: Record<string, unknown> = {}) {
  const memory = new MemoryCacheStorage();
  const policy: PolicyInstance = responseCache.build(responseCacheSchema.parse(config), { logger: { warn() {}, error() {} }, responseCache: { memory, redis: null } });
  return async (req: { method?: string; headers?: Record<string, string>; secure?: boolean; trust?: boolean; consumer?: string; strip?: string }, res: { status?: number; headers?: Record<string, string>; body?: string } = {}) => {
    const ctx = new RequestContext('id', '127.0.0.1', req.method ?? 'GET', '/p', { host: 'a.test', ...req.headers }, 'api', 'route', null);
    ctx.secure = req.secure ?? false;
    ctx.trustForwarding = req.trust ?? false;
    if (req.consumer !== undefined) ctx.authenticate({ name: req.consumer, customId: null, groups: [] });
    // As an auth policy does with the credential it consumed.
    if (req.strip !== undefined) ctx.removeUpstreamHeader(req.strip);
    const hit = (await policy.access?.(ctx)) as PolicyReply | undefined;
    if (hit !== undefined) return { cache: 'HIT', body: String(hit.body) };
    const body = Buffer.from(res.body ?? 'fresh');
    const sink = policy.capture?.(ctx, res.status ?? 200, { 'content-length': String(body.length), ...res.headers }) ?? null;
    sink?.done(body);
    const out = { status: 200, headers: {} as Record<string, string | string[] | undefined> };
    policy.response?.(ctx, out);
    return { cache: String(out.headers['x-cache']), body: body.toString() };
  };
}

describe('what a request may be served from and stored into', () => {
  it('the scheme is in the key: an answer to an http client never answers an https one (listener or trusted X-Forwarded-Proto)', async () => {
    const f = harness();
    expect((await f({}, { status: 301, body: 'to https' })).cache).toBe('MISS');
    expect((await f({})).cache).toBe('HIT');
    expect((await f({ secure: true })).cache).toBe('MISS');
    expect((await f({ headers: { 'x-forwarded-proto': 'https' }, trust: true })).cache).toBe('HIT');
    // An untrusted peer's X-Forwarded-Proto is not relayed upstream, so it does not split the key.
    expect((await f({ headers: { 'x-forwarded-proto': 'https' } })).cache).toBe('HIT');
  });
  it('the trusted X-Forwarded-Host and host spellings', async () => {
    const f = harness();
    await f({});
    expect((await f({ headers: { host: 'A.TEST:80' } })).cache).toBe('HIT');
    expect((await f({ headers: { host: 'a.test:8080' } })).cache).toBe('MISS');
    expect((await f({ headers: { 'x-forwarded-host': 'evil.test' }, trust: true })).cache).toBe('MISS');
    expect((await f({ headers: { 'x-forwarded-host': 'evil.test' } })).cache).toBe('HIT');
  });
  it('a GET or HEAD with content (Content-Length > 0, Transfer-Encoding) bypasses both ways', async () => {
    const f = harness();
    expect((await f({ headers: { 'content-length': '3' } })).cache).toBe('BYPASS');
    expect((await f({ headers: { 'transfer-encoding': 'chunked' } })).cache).toBe('BYPASS');
    expect((await f({ method: 'HEAD', headers: { 'content-length': '3' } })).cache).toBe('BYPASS');
    expect((await f({})).cache).toBe('MISS');
    expect((await f({ headers: { 'content-length': '3' } })).cache).toBe('BYPASS');
    expect((await f({ headers: { 'content-length': '0' } })).cache).toBe('HIT');
  });
  it('a forwarded Cookie: served and stored only when the answer is explicitly shareable, or the route ignores cookies', async () => {
    const f = harness();
    await f({}, { body: 'anon' });
    // Not served the shared entry, and its own answer is not stored (BYPASS).
    expect(await f({ headers: { cookie: 's=1' } }, { body: 'mine' })).toEqual({ cache: 'BYPASS', body: 'mine' });
    expect(await f({})).toEqual({ cache: 'HIT', body: 'anon' });
    expect(await f({ headers: { cookie: '' } })).toEqual({ cache: 'HIT', body: 'anon' });
    await f({ headers: { cookie: 's=1', 'cache-control': 'no-cache' } }, { headers: { 'cache-control': 'public, max-age=60' }, body: 'pub' });
    expect(await f({ headers: { cookie: 's=2' } })).toEqual({ cache: 'HIT', body: 'pub' });
    // A cookie the gateway consumed (jwt-auth's token cookie) never reaches the upstream: no restriction.
    expect(await f({ headers: { cookie: 'jwt=x' }, strip: 'cookie' })).toEqual({ cache: 'HIT', body: 'pub' });
    const g = harness({ ignoreCookies: true });
    await g({ headers: { cookie: 's=1' } });
    expect((await g({ headers: { cookie: 's=2' } })).cache).toBe('HIT');
    const k = harness({ keyHeaders: ['cookie'] });
    await k({ headers: { cookie: 's=1' } }, { body: 'one' });
    expect(await k({ headers: { cookie: 's=1' } })).toEqual({ cache: 'HIT', body: 'one' });
    expect(await k({ headers: { cookie: 's=2' } }, { body: 'two' })).toEqual({ cache: 'MISS', body: 'two' });
  });
  it('a forwarded Authorization (not consumed by an auth policy) is restricted the same way, even for a known consumer', async () => {
    const f = harness();
    await f({}, { body: 'anon' });
    expect(await f({ headers: { authorization: 'Basic eDp5' } }, { body: 'x' })).toEqual({ cache: 'BYPASS', body: 'x' });
    expect(await f({ headers: { authorization: 'Basic eDp5' }, consumer: 'c' }, { body: 'x' })).toEqual({ cache: 'BYPASS', body: 'x' });
    expect(await f({ headers: { authorization: 'Basic eDp6' }, consumer: 'c' }, { body: 'z' })).toEqual({ cache: 'BYPASS', body: 'z' });
    // Consumed by an auth policy (a JWT bearer): not the anonymous entry, the consumer's own ones.
    expect(await f({ headers: { authorization: 'Bearer t' }, consumer: 'c', strip: 'authorization' }, { body: 'c1' })).toEqual({ cache: 'MISS', body: 'c1' });
    expect(await f({ headers: { authorization: 'Bearer t' }, consumer: 'c', strip: 'authorization' })).toEqual({ cache: 'HIT', body: 'c1' });
    await f({ headers: { authorization: 'Basic eDp5', 'cache-control': 'no-cache' } }, { headers: { 'cache-control': 's-maxage=60' }, body: 'shared' });
    expect(await f({ headers: { authorization: 'Basic eDp6' } })).toEqual({ cache: 'HIT', body: 'shared' });
  });
  it('Set-Cookie, private and no-store answers are never shared, also with cacheControl: false', async () => {
    for (const config of [{}, { cacheControl: false }]) {
      for (const headers of [{ 'set-cookie': 'a=b' }, { 'cache-control': 'private' }, { 'cache-control': 'no-store' }]) {
        const f = harness(config);
        expect((await f({}, { headers })).cache, JSON.stringify({ config, headers })).toBe('BYPASS');
        expect((await f({})).cache, JSON.stringify({ config, headers })).toBe('MISS');
      }
      // A request's no-store is honoured too.
      const f = harness(config);
      expect((await f({ headers: { 'cache-control': 'no-store' } })).cache).toBe('BYPASS');
      expect((await f({})).cache).toBe('MISS');
    }
  });
});
