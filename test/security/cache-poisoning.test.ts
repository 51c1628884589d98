import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCa, yamlBlock } from '../edge/certs.js';
import { startUpstream, type RecordingUpstream } from '../gateway/harness.js';
import { createTestDatabase, randomPrefix, testRedisUrl, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

// Issue #14, class 7: response-cache poisoning and leaks, black box. One real `tollgate start`
// process (Postgres store, Redis for `storage: redis`) with an HTTP and an HTTPS listener, a
// trusted proxy address (127.0.0.2) next to direct clients (127.0.0.1), and an upstream that
// answers differently per scheme, host, cookie, Authorization and body (and counts its calls).
// Every case runs against `storage: memory` and `storage: redis`.

const TOKEN = `tgadm_${randomBytes(24).toString('hex')}`;
const TRUSTED = '127.0.0.2';

let db: TestDatabase;
let ca: TestCa;
let up: RecordingUpstream;
let tg: TollgateProcess;
let tlsPort: number;
let served = 0;

/** Upstream calls whose path ends with `suffix`. */
const calls = (suffix: string) => up.received.filter((r) => new URL(r.url, 'http://x').pathname.endsWith(suffix)).length;

function config(): string {
  const cert = ca.issue('a.test', ['a.test']);
  const api = (storage: string) => `---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: ${storage} }
spec:
  basePath: /${storage}
  policies: [{ name: response-cache, config: { storage: ${storage}, ttlSeconds: 60 } }]
  routes:
    - name: cookies
      match: [{ path: { prefix: /cookies } }]
      destination: { upstream: origin }
      policies: [{ name: response-cache, config: { storage: ${storage}, ttlSeconds: 60, ignoreCookies: true } }]
    - name: lax
      match: [{ path: { prefix: /lax } }]
      destination: { upstream: origin }
      policies: [{ name: response-cache, config: { storage: ${storage}, ttlSeconds: 60, cacheControl: false } }]
    - { name: all, destination: { upstream: origin } }
`;
  return `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: origin }
spec: { targets: [{ url: "${up.origin}" }] }
---
apiVersion: tollgate.dev/v1
kind: Certificate
metadata: { name: site-a }
spec:
  hosts: [a.test]
  certificate: ${yamlBlock(cert.cert, 4)}
  privateKey: ${yamlBlock(cert.key, 4)}
${api('memory')}${api('redis')}`;
}

interface Call {
  path: string;
  method?: string;
  host?: string;
  headers?: Record<string, string>;
  /** Sent with Content-Length, or chunked. */
  body?: string;
  chunked?: boolean;
  /** Over the HTTPS listener (SNI a.test). */
  tls?: boolean;
  /** Through the trusted proxy address. */
  trusted?: boolean;
}

interface Answer {
  status: number;
  cache: string | undefined;
  headers: IncomingHttpHeaders;
  /** The upstream's JSON (`n`: its call number, what it saw), or null (HEAD, empty). */
  json: { n: number; proto: string; host: string; cookie: string | null; authorization: string | null; body: string } | null;
}

function call(c: Call): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: c.host ?? 'a.test', ...c.headers };
    if (c.body !== undefined && !c.chunked) headers['content-length'] = String(Buffer.byteLength(c.body));
    if (c.chunked) headers['transfer-encoding'] = 'chunked';
    const common = { host: '127.0.0.1', method: c.method ?? 'GET', path: c.path, headers, agent: false as const, localAddress: c.trusted ? TRUSTED : '127.0.0.1' };
    const onResponse = (res: import('node:http').IncomingMessage) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cache: res.headers['x-cache'] as string | undefined, headers: res.headers, json: data.startsWith('{"n"') ? JSON.parse(data) : null }));
      res.on('error', reject);
    };
    const req = c.tls ? httpsRequest({ ...common, port: tlsPort, servername: 'a.test', ca: ca.ca.cert }, onResponse) : httpRequest({ ...common, port: Number(new URL(tg.proxyUrl).port) }, onResponse);
    req.on('error', reject);
    if (c.body !== undefined) req.write(c.body);
    req.end();
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  ca = new TestCa();
  up = await startUpstream('origin', (req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    const proto = String(req.headers['x-forwarded-proto']);
    const host = String(req.headers['x-forwarded-host']);
    const h: Record<string, string> = { 'content-type': 'application/json' };
    if (q.get('cc') !== null) h['cache-control'] = q.get('cc') as string;
    if (q.get('vary') !== null) h.vary = q.get('vary') as string;
    if (q.get('setcookie') !== null) h['set-cookie'] = `sid=${randomBytes(4).toString('hex')}; HttpOnly`;
    const payload = JSON.stringify({ n: ++served, proto, host, cookie: req.headers.cookie ?? null, authorization: req.headers.authorization ?? null, body: body.toString() });
    // An upstream behind a TLS-terminating gateway that sends plain-HTTP clients to HTTPS.
    if (q.get('https') !== null && proto !== 'https') h.location = `https://${host}${req.url}`;
    res.writeHead(h.location !== undefined ? 301 : 200, { ...h, 'content-length': String(Buffer.byteLength(payload)) });
    res.end(payload);
  });
  tlsPort = await freePort();
  tg = await startTollgateProcess({
    env: { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: `${randomPrefix('cachepoison')}:`, TRUSTED_PROXIES: TRUSTED, PROXY_TLS_PORT: String(tlsPort), METERING: 'false' },
  });
  const applied = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: config() });
  expect(applied.status, await applied.text()).toBe(200);
  // Served once the config is loaded, Redis connected (until then Redis lookups are BYPASS) and the certificate installed.
  await waitUntil(async () => (await call({ path: '/redis/ready' })).cache !== 'BYPASS' && (await call({ path: '/memory/ready', tls: true })).status === 200, 20_000, 100);
}, 90_000);

afterAll(async () => {
  await tg?.stop();
  await up?.close();
  ca?.dispose();
  await db?.drop();
});

function suite(storage: 'memory' | 'redis') {
  const p = (path: string) => `/${storage}${path}`;

  it('the scheme is in the key: an HTTP client\'s redirect to HTTPS is never served to HTTPS clients (TLS listener, trusted X-Forwarded-Proto)', async () => {
    const path = p('/scheme?https=1');
    const plain = await call({ path });
    expect([plain.status, plain.cache]).toEqual([301, 'MISS']);
    expect(plain.headers.location).toBe(`https://a.test/${storage}/scheme?https=1`);
    expect((await call({ path })).cache).toBe('HIT');
    // HTTPS on the TLS listener: the upstream's own 200, then cached for HTTPS clients only.
    const secure = await call({ path, tls: true });
    expect([secure.status, secure.cache, secure.json?.proto]).toEqual([200, 'MISS', 'https']);
    expect(await call({ path, tls: true })).toMatchObject({ status: 200, cache: 'HIT', json: { n: secure.json?.n } });
    // A trusted TLS-terminating proxy saying https shares the HTTPS entry; saying http, the HTTP one.
    expect(await call({ path, trusted: true, headers: { 'x-forwarded-proto': 'https' } })).toMatchObject({ status: 200, cache: 'HIT', json: { n: secure.json?.n } });
    expect(await call({ path, tls: true, trusted: false, headers: { 'x-forwarded-proto': 'http' } })).toMatchObject({ status: 200, cache: 'HIT' });
    // A direct client cannot claim https (its X-Forwarded-Proto is dropped): it gets the HTTP answer.
    expect(await call({ path, headers: { 'x-forwarded-proto': 'https' } })).toMatchObject({ status: 301, cache: 'HIT' });
    expect(calls(p('/scheme'))).toBe(2);
  });

  it('the normalized host is in the key: spellings of one host share, other hosts and a trusted X-Forwarded-Host do not', async () => {
    const path = p('/host');
    const first = await call({ path, host: 'api.example.test' });
    expect(first.cache).toBe('MISS');
    for (const host of ['API.Example.TEST', 'api.example.test:80']) expect(await call({ path, host }), host).toMatchObject({ cache: 'HIT', json: { n: first.json?.n } });
    for (const host of ['api.example.test:8080', 'other.example.test']) {
      const r = await call({ path, host });
      expect(r.json?.host, host).toBe(host);
      expect(r.cache, host).toBe('MISS');
    }
    // The upstream is told the trusted proxy's host, so it is a different entry; a direct client's is dropped.
    const proxied = await call({ path, host: 'api.example.test', trusted: true, headers: { 'x-forwarded-host': 'evil.example.test' } });
    expect([proxied.cache, proxied.json?.host]).toEqual(['MISS', 'evil.example.test']);
    expect(await call({ path, host: 'api.example.test', headers: { 'x-forwarded-host': 'evil.example.test' } })).toMatchObject({ cache: 'HIT', json: { n: first.json?.n, host: 'api.example.test' } });
    expect(await call({ path, host: 'API.example.test', trusted: true, headers: { 'x-forwarded-host': 'EVIL.example.test:80' } })).toMatchObject({ cache: 'HIT', json: { n: proxied.json?.n } });
  });

  it('a request with Cookie is neither served from nor stored into the shared cache unless the answer is public', async () => {
    const path = p('/cookie');
    // A personalized answer to a cookie request is not stored for the next anonymous caller.
    const mine = await call({ path, headers: { cookie: 'sid=alice' } });
    expect([mine.cache, mine.json?.cookie]).toEqual(['BYPASS', 'sid=alice']);
    const anon = await call({ path });
    expect([anon.cache, anon.json?.cookie]).toEqual(['MISS', null]);
    // The anonymous entry is not served to cookie requests (the upstream may personalize on it).
    const bob = await call({ path, headers: { cookie: 'sid=bob' } });
    expect([bob.cache, bob.json?.cookie]).toEqual(['BYPASS', 'sid=bob']);
    expect(await call({ path })).toMatchObject({ cache: 'HIT', json: { n: anon.json?.n, cookie: null } });
    expect(calls(p('/cookie'))).toBe(3);
    // An answer the upstream marks public is shared with cookie requests (RFC 9111 §3.5 by analogy).
    const pub = p('/cookiepub?cc=public,max-age%3D60');
    const stored = await call({ path: pub, headers: { cookie: 'sid=alice' } });
    expect(stored.cache).toBe('MISS');
    expect(await call({ path: pub, headers: { cookie: 'sid=bob' } })).toMatchObject({ cache: 'HIT', json: { n: stored.json?.n } });
    expect(await call({ path: pub })).toMatchObject({ cache: 'HIT', json: { n: stored.json?.n } });
    // A route that opts in (ignoreCookies) caches cookie requests like others.
    const opted = p('/cookies/x');
    const a = await call({ path: opted, headers: { cookie: 'sid=alice' } });
    expect(a.cache).toBe('MISS');
    expect(await call({ path: opted, headers: { cookie: 'sid=bob' } })).toMatchObject({ cache: 'HIT', json: { n: a.json?.n } });
  });

  it('a response with Set-Cookie is never stored, even public or on a route that ignores cookies', async () => {
    for (const path of [p('/setcookie?setcookie=1'), p('/setcookie2?setcookie=1&cc=public,max-age%3D60'), p('/cookies/setcookie?setcookie=1')]) {
      const a = await call({ path });
      const b = await call({ path });
      expect([a.cache, b.cache], path).toEqual(['BYPASS', 'BYPASS']);
      expect(a.headers['set-cookie']?.[0]).not.toBe(b.headers['set-cookie']?.[0]);
    }
    expect(calls(p('/setcookie'))).toBe(2);
    expect(calls(p('/cookies/setcookie'))).toBe(2);
    expect(calls(p('/setcookie2'))).toBe(2);
  });

  it('a GET or HEAD with a body (Content-Length or chunked) is never served from the cache nor stored', async () => {
    const path = p('/body');
    // First with a body: forwarded, answered from it, not stored under the body-less key.
    const poison = await call({ path, body: 'evil' });
    expect([poison.cache, poison.json?.body]).toEqual(['BYPASS', 'evil']);
    const clean = await call({ path });
    expect([clean.cache, clean.json?.body]).toEqual(['MISS', '']);
    for (const c of [{ body: 'evil' }, { body: 'evil', chunked: true }, { body: '', chunked: true }]) {
      const r = await call({ path, ...c });
      expect(r.cache, JSON.stringify(c)).toBe('BYPASS');
      expect(r.json?.n, JSON.stringify(c)).not.toBe(clean.json?.n);
    }
    expect(await call({ path })).toMatchObject({ cache: 'HIT', json: { n: clean.json?.n, body: '' } });
    // Content-Length: 0 is no body.
    expect(await call({ path, body: '' })).toMatchObject({ cache: 'HIT', json: { n: clean.json?.n } });
    expect(calls(p('/body'))).toBe(5);
    const head = p('/headbody');
    expect((await call({ path: head, method: 'HEAD', body: 'evil' })).cache).toBe('BYPASS');
    expect((await call({ path: head, method: 'HEAD', body: 'evil', chunked: true })).cache).toBe('BYPASS');
    expect((await call({ path: head, method: 'HEAD' })).cache).toBe('MISS');
    expect((await call({ path: head, method: 'HEAD', body: 'evil' })).cache).toBe('BYPASS');
    expect((await call({ path: head, method: 'HEAD' })).cache).toBe('HIT');
    expect(calls(p('/headbody'))).toBe(4);
  });

  it('Authorization on a route without authentication: not served the shared entry, stored only when public (RFC 9111 §3.5)', async () => {
    const path = p('/authz');
    const anon = await call({ path });
    expect(anon.cache).toBe('MISS');
    const alice = await call({ path, headers: { authorization: 'Basic YWxpY2U6eA==' } });
    expect([alice.cache, alice.json?.authorization]).toEqual(['BYPASS', 'Basic YWxpY2U6eA==']);
    expect((await call({ path, headers: { authorization: 'Basic YWxpY2U6eA==' } })).cache).toBe('BYPASS');
    expect(await call({ path })).toMatchObject({ cache: 'HIT', json: { n: anon.json?.n } });
    const pub = p('/authzpub?cc=s-maxage%3D60');
    const first = await call({ path: pub, headers: { authorization: 'Bearer one' } });
    expect(await call({ path: pub, headers: { authorization: 'Bearer two' } })).toMatchObject({ cache: 'HIT', json: { n: first.json?.n } });
  });

  it('Cache-Control private and no-store are respected both ways, also on a route with cacheControl: false', async () => {
    for (const prefix of ['', '/lax']) {
      for (const cc of ['private', 'no-store', 'private,max-age%3D60', 'no-store,public']) {
        const path = p(`${prefix}/cc-${cc.replace(/\W/g, '')}?cc=${cc}`);
        expect((await call({ path })).cache, path).toBe('BYPASS');
        expect((await call({ path })).cache, path).toBe('BYPASS');
      }
      const path = p(`${prefix}/reqnostore`);
      expect((await call({ path, headers: { 'cache-control': 'no-store' } })).cache, path).toBe('BYPASS');
      const stored = await call({ path });
      expect(stored.cache, path).toBe('MISS');
      const again = await call({ path, headers: { 'cache-control': 'no-store' } });
      expect([again.cache, again.json?.n === stored.json?.n], path).toEqual(['BYPASS', false]);
    }
    // cacheControl: false still ignores the freshness directives.
    const ignored = p('/lax/nocache?cc=no-cache');
    await call({ path: ignored });
    expect((await call({ path: ignored })).cache).toBe('HIT');
  });

  it('Vary: each variant on its own; a Vary on a field the gateway sets per client is not stored', async () => {
    const path = p('/vary?vary=accept-language');
    const en = await call({ path, headers: { 'accept-language': 'en' } });
    const de = await call({ path, headers: { 'accept-language': 'de' } });
    expect([en.cache, de.cache]).toEqual(['MISS', 'MISS']);
    expect(await call({ path, headers: { 'accept-language': 'de' } })).toMatchObject({ cache: 'HIT', json: { n: de.json?.n } });
    expect((await call({ path })).json?.n).not.toBe(de.json?.n);
    const xff = p('/varyxff?vary=x-forwarded-for');
    expect((await call({ path: xff })).cache).toBe('BYPASS');
    expect((await call({ path: xff })).cache).toBe('BYPASS');
  });
}

describe('response cache poisoning, memory storage', () => suite('memory'));
describe('response cache poisoning, Redis storage', () => suite('redis'));
