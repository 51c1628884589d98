import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponseCache } from '@tollgate/gateway';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';
import { randomPrefix, testRedisUrl } from '../support/databases.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const KEY_A = 'tg_cache_key_a_0123456789abcdefghij';
const KEY_B = 'tg_cache_key_b_0123456789abcdefghij';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The upstream answers with a per-path counter, so a cached answer is recognisable; `?cc=` sets
 * its Cache-Control, `?vary=` its Vary, `?status=` its status.
 */
let up: RecordingUpstream;
const hits = new Map<string, number>();
/** Upstream calls for a path (the upstream sees it with the API base path in front). */
const hitsOf = (suffix: string) => [...hits].reduce((n, [path, c]) => (path.endsWith(suffix) ? n + c : n), 0);

function config(storage: 'memory' | 'redis'): string {
  const consumers = ['a', 'b']
    .map((n, i) => `---\napiVersion: tollgate.dev/v1\nkind: Consumer\nmetadata: { name: consumer-${n} }\nspec: { keys: [{ name: k, hash: "${sha(i === 0 ? KEY_A : KEY_B)}" }] }\n`)
    .join('');
  return (
    upstreamYaml('u', [up.origin]) +
    apiYaml('pub', `basePath: /pub\npolicies: [{ name: response-cache, config: { storage: ${storage}, ttlSeconds: 60, keyHeaders: [accept-language] } }]\nroutes:\n  - { name: short, match: [{ path: { prefix: /short } }], destination: { upstream: u }, policies: [{ name: response-cache, config: { storage: ${storage}, ttlSeconds: 2 } }] }\n  - { name: tiny, match: [{ path: { prefix: /tiny } }], destination: { upstream: u }, policies: [{ name: response-cache, config: { storage: ${storage}, maxBodyBytes: 10 } }] }\n  - { name: all, destination: { upstream: u } }`) +
    apiYaml('mine', `basePath: /mine\npolicies: [{ name: key-auth }, { name: response-cache, config: { storage: ${storage}, perConsumer: true } }]\nroutes: [{ name: all, destination: { upstream: u } }]`) +
    apiYaml('shared', `basePath: /shared\npolicies: [{ name: key-auth }, { name: response-cache, config: { storage: ${storage} } }]\nroutes: [{ name: all, destination: { upstream: u } }]`) +
    consumers
  );
}

beforeAll(async () => {
  up = await startUpstream('up', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const n = (hits.get(url.pathname) ?? 0) + 1;
    hits.set(url.pathname, n);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const cc = url.searchParams.get('cc');
    if (cc !== null) headers['cache-control'] = cc;
    const etag = url.searchParams.get('etag');
    if (etag !== null) headers.etag = etag;
    const vary = url.searchParams.get('vary');
    if (vary !== null) headers.vary = vary;
    const body = JSON.stringify({ path: url.pathname, n, consumer: req.headers['x-consumer-name'] ?? null });
    if (url.searchParams.get('nocl') === null) headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(Number(url.searchParams.get('status') ?? 200), headers);
    res.end(body);
  });
});

afterAll(async () => {
  await up?.close();
});

/** The cache behaviour, run once on the in-memory storage and once on Redis. */
function suite(storage: 'memory' | 'redis') {
  let gw: RunningGateway;
  let cache: ResponseCache | null = null;
  const p = (path: string) => `/${storage}${path}`;

  beforeAll(async () => {
    const extra = storage === 'redis' ? (cache = new ResponseCache({ redisUrl: testRedisUrl(), keyPrefix: `${randomPrefix('cache')}:`, logger: { warn() {}, info() {} } })).storages : undefined;
    await cache?.whenReady();
    gw = await startTestGateway(new TestConfigSource(yamlResources(config(storage))), {});
    // The harness builds the gateway with its own memory storage; the Redis run needs the Redis one.
    if (extra !== undefined) {
      await gw.close();
      const { buildGateway } = await import('@tollgate/gateway');
      const { pino } = await import('pino');
      const g = buildGateway({ source: new TestConfigSource(yamlResources(config(storage))), logger: pino({ level: 'silent' }), options: { configPollMs: 200 }, cacheStorages: extra });
      await g.ready;
      await g.proxy.listen({ host: '127.0.0.1', port: 0 });
      const port = (g.proxy.server.address() as { port: number }).port;
      gw = { gw: g, port, statusPort: 0, logs: [], close: () => g.close() };
    }
  });
  afterAll(async () => {
    await gw?.close();
    if (cache !== null) {
      await cache.purge({ all: true });
      await cache.close();
    }
  });

  it('a miss goes upstream; the same request is then a hit with Age and X-Cache-Key, the upstream not called', async () => {
    const a = await send(gw.port, { path: `/pub${p('/one')}?b=2&a=1` });
    expect(a.status).toBe(200);
    expect(a.headers['x-cache']).toBe('MISS');
    expect(a.headers['x-cache-key']).toMatch(/^[0-9a-f]{64}$/);
    const b = await send(gw.port, { path: `/pub${p('/one')}?a=1&b=2` });
    expect(b.headers['x-cache']).toBe('HIT');
    expect(b.headers['x-cache-key']).toBe(a.headers['x-cache-key']);
    expect(Number(b.headers.age)).toBeLessThanOrEqual(1);
    expect(b.body).toBe(a.body);
    expect(b.headers['content-length']).toBe(String(Buffer.byteLength(a.body)));
    expect(b.headers['x-request-id']).not.toBe(a.headers['x-request-id']);
    expect(hitsOf(p('/one'))).toBe(1);
  });

  it('HEAD is cached on its own, with the upstream Content-Length', async () => {
    const a = await send(gw.port, { method: 'HEAD', path: `/pub${p('/head')}` });
    const b = await send(gw.port, { method: 'HEAD', path: `/pub${p('/head')}` });
    expect([a.headers['x-cache'], b.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(b.status).toBe(200);
    expect(b.body).toBe('');
    expect(b.headers['content-length']).toBe(a.headers['content-length']);
    expect(Number(b.headers['content-length'])).toBeGreaterThan(0);
    expect(hitsOf(p('/head'))).toBe(1);
    // Without a Content-Length a HEAD answer is not stored (a replay would claim 0).
    for (let i = 0; i < 2; i++) expect((await send(gw.port, { method: 'HEAD', path: `/pub${p('/headnocl')}?nocl=1` })).headers['x-cache']).toBe('BYPASS');
  });

  it('Age grows while the entry is stored', async () => {
    await send(gw.port, { path: `/pub${p('/age')}` });
    await sleep(2_100);
    const r = await send(gw.port, { path: `/pub${p('/age')}` });
    expect(r.headers['x-cache']).toBe('HIT');
    expect(Number(r.headers.age)).toBeGreaterThanOrEqual(2);
    expect(hitsOf(p('/age'))).toBe(1);
  });

  it('an entry expires after its TTL (ttlSeconds: 2) and is fetched again', async () => {
    const first = await send(gw.port, { path: `/pub/short${p('/ttl')}` });
    expect(first.headers['x-cache']).toBe('MISS');
    expect((await send(gw.port, { path: `/pub/short${p('/ttl')}` })).headers['x-cache']).toBe('HIT');
    await sleep(3_000);
    const again = await send(gw.port, { path: `/pub/short${p('/ttl')}` });
    expect(again.headers['x-cache']).toBe('MISS');
    expect(hitsOf(p('/ttl'))).toBe(2);
  });

  it('response max-age sets the lifetime', async () => {
    await send(gw.port, { path: `/pub${p('/maxage')}?cc=max-age%3D2` });
    await sleep(3_000);
    expect((await send(gw.port, { path: `/pub${p('/maxage')}?cc=max-age%3D2` })).headers['x-cache']).toBe('MISS');
    expect(hitsOf(p('/maxage'))).toBe(2);
  });

  it('a request with no-store bypasses; a no-cache request refetches; a no-store response is never stored', async () => {
    await send(gw.port, { path: `/pub${p('/req')}` });
    const bypass = await send(gw.port, { path: `/pub${p('/req')}`, headers: { 'cache-control': 'no-store' } });
    expect(bypass.headers['x-cache']).toBe('BYPASS');
    expect(hitsOf(p('/req'))).toBe(2);
    const refresh = await send(gw.port, { path: `/pub${p('/req')}`, headers: { 'cache-control': 'no-cache' } });
    expect(refresh.headers['x-cache']).toBe('MISS');
    expect(hitsOf(p('/req'))).toBe(3);
    const stored = await send(gw.port, { path: `/pub${p('/req')}` });
    expect(stored.headers['x-cache']).toBe('HIT');
    expect(stored.json()).toMatchObject({ n: 3 });

    for (let i = 0; i < 2; i++) expect((await send(gw.port, { path: `/pub${p('/nostore')}?cc=no-store` })).headers['x-cache']).toBe('BYPASS');
    expect(hitsOf(p('/nostore'))).toBe(2);
  });

  it('a conditional request matching the stored ETag gets 304 from the cache', async () => {
    const path = `/pub${p('/cond')}?etag=%22v1%22`;
    await send(gw.port, { path });
    const r = await send(gw.port, { path, headers: { 'if-none-match': 'W/"v1", "v0"' } });
    expect(r.status).toBe(304);
    expect(r.headers['x-cache']).toBe('HIT');
    expect(r.headers.etag).toBe('"v1"');
    expect(r.body).toBe('');
    expect((await send(gw.port, { path, headers: { 'if-none-match': '"v2"' } })).status).toBe(200);
    expect(hitsOf(p('/cond'))).toBe(1);
  });

  it('a body over maxBodyBytes is passed through and not stored', async () => {
    for (let i = 0; i < 2; i++) expect((await send(gw.port, { path: `/pub/tiny${p('/big')}` })).headers['x-cache']).not.toBe('HIT');
    expect(hitsOf(p('/big'))).toBe(2);
  });

  it('only-if-cached answers 504 on a miss', async () => {
    const r = await send(gw.port, { path: `/pub${p('/never')}`, headers: { 'cache-control': 'only-if-cached' } });
    expect(r.status).toBe(504);
    expect(r.json()).toMatchObject({ code: 'NOT_CACHED' });
    expect(hitsOf(p('/never'))).toBe(0);
  });

  it('only the configured statuses are stored; POST is not cached', async () => {
    for (let i = 0; i < 2; i++) await send(gw.port, { path: `/pub${p('/err')}?status=500` });
    expect(hitsOf(p('/err'))).toBe(2);
    for (let i = 0; i < 2; i++) await send(gw.port, { path: `/pub${p('/missing')}?status=404` });
    expect(hitsOf(p('/missing'))).toBe(1);
    for (let i = 0; i < 2; i++) expect((await send(gw.port, { method: 'POST', path: `/pub${p('/post')}` })).headers['x-cache']).toBe('BYPASS');
    expect(hitsOf(p('/post'))).toBe(2);
  });

  it('key headers and Vary separate variants', async () => {
    await send(gw.port, { path: `/pub${p('/lang')}`, headers: { 'accept-language': 'en' } });
    expect((await send(gw.port, { path: `/pub${p('/lang')}`, headers: { 'accept-language': 'de' } })).headers['x-cache']).toBe('MISS');
    expect((await send(gw.port, { path: `/pub${p('/lang')}`, headers: { 'accept-language': 'en' } })).headers['x-cache']).toBe('HIT');
    await send(gw.port, { path: `/pub${p('/vary')}?vary=x-variant`, headers: { 'x-variant': '1' } });
    expect((await send(gw.port, { path: `/pub${p('/vary')}?vary=x-variant`, headers: { 'x-variant': '2' } })).headers['x-cache']).toBe('MISS');
    expect(hitsOf(p('/vary'))).toBe(2);
  });

  it('perConsumer keys: each consumer gets its own entry, private answers included', async () => {
    const a1 = await send(gw.port, { path: `/mine${p('/me')}?cc=private`, headers: { apikey: KEY_A } });
    const b1 = await send(gw.port, { path: `/mine${p('/me')}?cc=private`, headers: { apikey: KEY_B } });
    expect(a1.json()).toMatchObject({ consumer: 'consumer-a' });
    expect(b1.json()).toMatchObject({ consumer: 'consumer-b' });
    const a2 = await send(gw.port, { path: `/mine${p('/me')}?cc=private`, headers: { apikey: KEY_A } });
    const b2 = await send(gw.port, { path: `/mine${p('/me')}?cc=private`, headers: { apikey: KEY_B } });
    expect([a2.headers['x-cache'], b2.headers['x-cache']]).toEqual(['HIT', 'HIT']);
    expect(a2.json()).toMatchObject({ consumer: 'consumer-a' });
    expect(b2.json()).toMatchObject({ consumer: 'consumer-b' });
    expect(hitsOf(p('/me'))).toBe(2);
    // A hit still needs a valid key.
    expect((await send(gw.port, { path: `/mine${p('/me')}?cc=private` })).status).toBe(401);
  });

  it('without perConsumer, a private answer is kept under the caller\'s own key, a public one is shared', async () => {
    const a1 = await send(gw.port, { path: `/shared${p('/priv')}?cc=private`, headers: { apikey: KEY_A } });
    const b1 = await send(gw.port, { path: `/shared${p('/priv')}?cc=private`, headers: { apikey: KEY_B } });
    expect([a1.headers['x-cache'], b1.headers['x-cache']]).toEqual(['MISS', 'MISS']);
    expect(a1.headers['x-cache-key']).not.toBe(b1.headers['x-cache-key']);
    const a2 = await send(gw.port, { path: `/shared${p('/priv')}?cc=private`, headers: { apikey: KEY_A } });
    const b2 = await send(gw.port, { path: `/shared${p('/priv')}?cc=private`, headers: { apikey: KEY_B } });
    expect([a2.headers['x-cache'], b2.headers['x-cache']]).toEqual(['HIT', 'HIT']);
    expect(a2.json()).toMatchObject({ consumer: 'consumer-a' });
    expect(b2.json()).toMatchObject({ consumer: 'consumer-b' });
    expect(hitsOf(p('/priv'))).toBe(2);
    // An answer the upstream marks public is one entry for everyone.
    await send(gw.port, { path: `/shared${p('/pubans')}?cc=public`, headers: { apikey: KEY_A } });
    const other = await send(gw.port, { path: `/shared${p('/pubans')}?cc=public`, headers: { apikey: KEY_B } });
    expect(other.headers['x-cache']).toBe('HIT');
    expect(other.json()).toMatchObject({ consumer: 'consumer-a' });
  });

  it('an authenticated caller\'s answer without Cache-Control is never served to another consumer (credentials, RFC 9111 §3.5)', async () => {
    // The upstream personalizes on X-Consumer-Name and says nothing about caching.
    const a1 = await send(gw.port, { path: `/shared${p('/plain')}`, headers: { apikey: KEY_A } });
    const b1 = await send(gw.port, { path: `/shared${p('/plain')}`, headers: { apikey: KEY_B } });
    expect([a1.headers['x-cache'], b1.headers['x-cache']]).toEqual(['MISS', 'MISS']);
    expect(b1.json()).toMatchObject({ consumer: 'consumer-b' });
    const b2 = await send(gw.port, { path: `/shared${p('/plain')}`, headers: { apikey: KEY_B } });
    expect(b2.headers['x-cache']).toBe('HIT');
    expect(b2.json()).toMatchObject({ consumer: 'consumer-b' });
    expect(hitsOf(p('/plain'))).toBe(2);
  });

  it('a private answer to an anonymous caller is never stored (a shared cache must not, RFC 9111 §5.2.2.7)', async () => {
    for (let i = 0; i < 2; i++) expect((await send(gw.port, { path: `/pub${p('/anonpriv')}?cc=private` })).headers['x-cache']).toBe('BYPASS');
    expect(hitsOf(p('/anonpriv'))).toBe(2);
  });

  it('requests with Authorization are only cached when the answer is public (RFC 9111 §3.5)', async () => {
    const h = { authorization: 'Bearer whatever' };
    await send(gw.port, { path: `/pub${p('/authz')}`, headers: h });
    expect((await send(gw.port, { path: `/pub${p('/authz')}`, headers: h })).headers['x-cache']).toBe('BYPASS');
    await send(gw.port, { path: `/pub${p('/authzpub')}?cc=public`, headers: h });
    expect((await send(gw.port, { path: `/pub${p('/authzpub')}?cc=public`, headers: h })).headers['x-cache']).toBe('HIT');
  });

  it('hits, misses and bypasses are counted in tollgate_cache_responses_total', async () => {
    if (storage === 'redis') return; // the Redis run's gateway has no status listener
    const text = await (await fetch(`http://127.0.0.1:${gw.statusPort}/metrics`)).text();
    for (const result of ['HIT', 'MISS', 'BYPASS']) expect(text).toMatch(new RegExp(`tollgate_cache_responses_total\\{[^}]*route="all"[^}]*result="${result}"[^}]*\\} [1-9]`));
  });

  it('a purge removes entries (route purge keeps other routes)', async () => {
    await send(gw.port, { path: `/pub${p('/purge1')}` });
    await send(gw.port, { path: `/pub/short${p('/purge2')}` });
    const storages = cache?.storages ?? gw.gw.cacheStorages;
    const s = storage === 'redis' ? storages.redis : storages.memory;
    expect(await s?.purge({ api: 'pub', route: 'all' })).toBeGreaterThanOrEqual(1);
    expect((await send(gw.port, { path: `/pub${p('/purge1')}` })).headers['x-cache']).toBe('MISS');
    expect((await send(gw.port, { path: `/pub/short${p('/purge2')}` })).headers['x-cache']).toBe('HIT');
  });
}

describe('response-cache, memory storage', () => suite('memory'));
describe('response-cache, Redis storage', () => suite('redis'));
