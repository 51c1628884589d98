import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';

const KEY = 'tg_transform_key_0123456789abcdefgh';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** What the upstream answers on `/json…` (a JSON document) and on `/text` (plain text); `/big` is 64 KiB of JSON. */
let up: RecordingUpstream;
let gw: RunningGateway;

const consumer = `---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec: { customId: cust-42, groups: [gold], keys: [{ name: ci, hash: "${sha(KEY)}" }] }
`;

beforeAll(async () => {
  up = await startUpstream('up', (req, res) => {
    if (req.url?.startsWith('/text')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-internal': 'secret', 'x-old': 'o' });
      return void res.end('{"not":"json, text/plain"}');
    }
    if (req.url?.startsWith('/big')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ pad: 'x'.repeat(64 * 1024) }));
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-internal': 'secret', 'x-old': 'o', etag: '"v1"' });
    res.end(JSON.stringify({ id: 7, password: 'hunter2', nested: { debug: true, keep: 1 }, legacyName: 'n' }));
  });
  const policies = `policies:
  - { name: key-auth }
  - name: request-transformer
    config:
      headers:
        remove: [x-remove-me]
        rename: [{ from: x-old-name, to: x-new-name }]
        set: { x-customer: "{consumer.customId}", x-trace: "{method} {path}" }
        add: { x-tenant: "{header.x-tenant-hint}", x-present: "added" }
      query:
        remove: [debug]
        rename: [{ from: q, to: search }]
        set: { who: "{consumer.name}" }
        add: { page: "1" }
      body:
        remove: [internal]
        rename: [{ from: user.nick, to: user.displayName }]
        set: { owner.name: "{consumer.name}", owner.groups: "{consumer.groups}" }
        add: { source: "gateway", count: 0 }
      maxBodyBytes: 1024
  - name: response-transformer
    config:
      headers:
        remove: [x-internal]
        rename: [{ from: x-old, to: x-new }]
        set: { x-served-to: "{consumer.name}" }
      body:
        remove: [password, nested.debug]
        rename: [{ from: legacyName, to: name }]
        add: { consumer: "{consumer.customId}" }
      maxBodyBytes: 4096`;
  const resources = yamlResources(upstreamYaml('u', [up.origin]) + apiYaml('shop', `basePath: /shop\nstripBasePath: true\n${policies}\nroutes: [{ name: all, destination: { upstream: u } }]`) +
    apiYaml('open', `basePath: /open\npolicies: [{ name: request-transformer, config: { headers: { set: { x-customer: "{consumer.customId}" } } } }]\nroutes: [{ name: all, destination: { upstream: u } }]`) +
    apiYaml('cached', `basePath: /cached\npolicies:\n  - { name: response-cache }\n  - { name: response-transformer, config: { headers: { set: { x-who: "{header.x-who}" } }, body: { set: { who: "{header.x-who}" } } } }\nroutes: [{ name: all, destination: { upstream: u } }]`) +
    apiYaml('echoq', `basePath: /echoq\npolicies: [{ name: response-transformer, config: { headers: { set: { x-q: "{query.q}" } }, body: { set: { q: "{query.q}" } } } }]\nroutes: [{ name: all, destination: { upstream: u } }]`) +
    consumer);
  gw = await startTestGateway(new TestConfigSource(resources));
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const auth = { apikey: KEY };

describe('request-transformer', () => {
  it('changes headers with consumer and request templates', async () => {
    const before = up.received.length;
    const r = await send(gw.port, { path: '/shop/json', headers: { ...auth, 'x-remove-me': '1', 'x-old-name': 'v', 'x-tenant-hint': 'blue', 'x-present': 'client' } });
    expect(r.status).toBe(200);
    const h = up.received[before]?.headers ?? {};
    expect(h['x-remove-me']).toBeUndefined();
    expect(h['x-old-name']).toBeUndefined();
    expect(h['x-new-name']).toBe('v');
    expect(h['x-customer']).toBe('cust-42');
    expect(h['x-trace']).toBe('GET /shop/json');
    expect(h['x-tenant']).toBe('blue');
    // add never overwrites what the client sent
    expect(h['x-present']).toBe('client');
  });

  it('skips an add whose template has no value (absent header)', async () => {
    const before = up.received.length;
    await send(gw.port, { path: '/shop/json', headers: auth });
    expect(up.received[before]?.headers['x-tenant']).toBeUndefined();
  });

  it('a set whose template has no value removes the client value (an anonymous caller cannot spoof it)', async () => {
    const before = up.received.length;
    await send(gw.port, { path: '/open/json', headers: { 'x-customer': 'someone-else' } });
    expect(up.received[before]?.headers['x-customer']).toBeUndefined();
  });

  it('changes the query: remove, rename, set from the consumer, add when absent', async () => {
    const before = up.received.length;
    await send(gw.port, { path: '/shop/json?debug=1&q=shoes&who=spoofed&keep=a%20b', headers: auth });
    const url = new URL(up.received[before]?.url ?? '', 'http://x');
    expect(url.pathname).toBe('/json');
    expect(url.searchParams.get('debug')).toBeNull();
    expect(url.searchParams.get('q')).toBeNull();
    expect(url.searchParams.get('search')).toBe('shoes');
    expect(url.searchParams.getAll('who')).toEqual(['acme']);
    expect(url.searchParams.get('page')).toBe('1');
    expect(url.searchParams.get('keep')).toBe('a b');
    const withPage = up.received.length;
    await send(gw.port, { path: '/shop/json?page=3', headers: auth });
    expect(new URL(up.received[withPage]?.url ?? '', 'http://x').searchParams.getAll('page')).toEqual(['3']);
  });

  it('changes JSON body fields with consumer templates and fixes Content-Length', async () => {
    const before = up.received.length;
    const body = JSON.stringify({ internal: 'x', user: { nick: 'bob' }, owner: { name: 'spoof' }, count: 5 });
    const r = await send(gw.port, { method: 'POST', path: '/shop/json', headers: { ...auth, 'content-type': 'application/json' }, body });
    expect(r.status).toBe(200);
    const rec = up.received[before];
    const sent = JSON.parse(rec?.body.toString() ?? '{}') as Record<string, unknown>;
    expect(sent).toEqual({ user: { displayName: 'bob' }, owner: { name: 'acme', groups: 'gold' }, count: 5, source: 'gateway' });
    expect(rec?.headers['content-length']).toBe(String(rec?.body.length));
  });

  it('transforms a chunked JSON body too (the length is then set)', async () => {
    const before = up.received.length;
    async function* parts() {
      yield Buffer.from('{"internal":1,');
      yield Buffer.from('"a":2}');
    }
    const r = await send(gw.port, { method: 'PUT', path: '/shop/json', headers: { ...auth, 'content-type': 'application/vnd.api+json' }, body: parts() });
    expect(r.status).toBe(200);
    const rec = up.received[before];
    expect(JSON.parse(rec?.body.toString() ?? '{}')).toEqual({ a: 2, owner: { name: 'acme', groups: 'gold' }, source: 'gateway', count: 0 });
    expect(rec?.headers['transfer-encoding']).toBeUndefined();
    expect(rec?.headers['content-length']).toBe(String(rec?.body.length));
  });

  it('passes non-JSON and malformed JSON bodies through unchanged', async () => {
    const before = up.received.length;
    await send(gw.port, { method: 'POST', path: '/shop/json', headers: { ...auth, 'content-type': 'text/plain' }, body: '{"internal":"x"}' });
    expect(up.received[before]?.body.toString()).toBe('{"internal":"x"}');
    await send(gw.port, { method: 'POST', path: '/shop/json', headers: { ...auth, 'content-type': 'application/json' }, body: '{"internal": oops' });
    expect(up.received[before + 1]?.body.toString()).toBe('{"internal": oops');
  });

  it('refuses a JSON body over the transformer cap with 413, without calling the upstream', async () => {
    const before = up.started;
    const r = await send(gw.port, { method: 'POST', path: '/shop/json', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(2048) }) });
    expect(r.status).toBe(413);
    expect(r.json()).toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect(up.started).toBe(before);
  });
});

describe('response-transformer', () => {
  it('changes response headers and JSON fields; Content-Length matches; the stale ETag is dropped', async () => {
    const r = await send(gw.port, { path: '/shop/json', headers: auth });
    expect(r.status).toBe(200);
    expect(r.headers['x-internal']).toBeUndefined();
    expect(r.headers['x-old']).toBeUndefined();
    expect(r.headers['x-new']).toBe('o');
    expect(r.headers['x-served-to']).toBe('acme');
    expect(r.headers.etag).toBeUndefined();
    expect(r.json()).toEqual({ id: 7, nested: { keep: 1 }, name: 'n', consumer: 'cust-42' });
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(r.body)));
  });

  it('passes a non-JSON response body unchanged (headers still change)', async () => {
    const r = await send(gw.port, { path: '/shop/text', headers: auth });
    expect(r.body).toBe('{"not":"json, text/plain"}');
    expect(r.headers['x-internal']).toBeUndefined();
    expect(r.headers['x-new']).toBe('o');
  });

  it('reads the query in its templates on a route without access policies', async () => {
    const r = await send(gw.port, { path: '/echoq/json?q=hello' });
    expect(r.status).toBe(200);
    expect(r.headers['x-q']).toBe('hello');
    expect(r.json()).toMatchObject({ q: 'hello' });
  });

  it('answers 502 RESPONSE_TOO_LARGE for a JSON response over the cap', async () => {
    const r = await send(gw.port, { path: '/shop/big', headers: auth });
    expect(r.status).toBe(502);
    expect(r.json()).toMatchObject({ code: 'RESPONSE_TOO_LARGE' });
  });
});

describe('transformations and the response cache', () => {
  it('the cache keeps the upstream answer; each hit is transformed for its own request', async () => {
    const before = up.started;
    const a = await send(gw.port, { path: '/cached/json', headers: { 'x-who': 'alice' } });
    const b = await send(gw.port, { path: '/cached/json', headers: { 'x-who': 'bob' } });
    expect([a.headers['x-cache'], b.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(up.started).toBe(before + 1);
    expect(a.json()).toMatchObject({ id: 7, who: 'alice' });
    expect(b.json()).toMatchObject({ id: 7, who: 'bob' });
    expect(b.headers['x-who']).toBe('bob');
    expect(b.headers['content-length']).toBe(String(Buffer.byteLength(b.body)));
  });
});
