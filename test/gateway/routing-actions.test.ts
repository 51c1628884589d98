import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, eventually, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from './harness.js';

// Route actions against real upstreams that record what they received.
let a: RecordingUpstream;
let b: RecordingUpstream;
let shadow: RecordingUpstream;
let slowShadow: RecordingUpstream;
let g: RunningGateway;

beforeAll(async () => {
  a = await startUpstream('a', (_req, res) => res.writeHead(200, { 'x-internal': 'secret', 'x-keep': '1' }).end('a'));
  b = await startUpstream('b');
  shadow = await startUpstream('shadow', (_req, res) => res.writeHead(500).end('shadow failed'));
  // A shadow that never answers: the primary must not wait for it.
  slowShadow = await startUpstream('slow-shadow', () => undefined);
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('a', [a.origin]) +
        upstreamYaml('b', [b.origin]) +
        upstreamYaml('shadow', [shadow.origin]) +
        upstreamYaml('slow-shadow', [slowShadow.origin], '  timeouts: { connectMs: 1000, responseHeadersMs: 60000, idleMs: 60000 }\n') +
        apiYaml(
          'act',
          `hosts: [act.test]
basePath: /svc
routes:
  - { name: prefix-rw, match: [{ path: { prefix: /old } }], rewrite: { prefix: /new, host: rewritten.internal }, destination: { upstream: a } }
  - { name: tpl-rw, match: [{ path: { template: "/orders/{id}/lines/{line}" } }], rewrite: { path: "/v2/line/{line}/of/{id}" }, destination: { upstream: a } }
  - { name: regex-rw, match: [{ path: { prefix: /rx } }], rewrite: { regex: { pattern: "^/rx/([a-z]+)/([0-9]+)$", substitution: "/by-num/\\\\2/\\\\1" } }, destination: { upstream: a } }
  - { name: redirect, match: [{ path: { prefix: /moved } }], redirect: { scheme: https, host: new.example.com, path: /here, code: 308 } }
  - { name: redirect-default, match: [{ path: { prefix: /temp } }], redirect: { path: /elsewhere, code: 302 } }
  - { name: direct, match: [{ path: { exact: /health } }], directResponse: { status: 203, body: '{"ok":true}', contentType: application/json }, headers: { response: { set: { x-direct: yes } } } }
  - name: headers
    match: [{ path: { prefix: /hdr } }]
    headers:
      request: { set: { x-set: one }, add: { x-add: two }, remove: [x-drop] }
      response: { set: { x-resp: set }, add: { x-keep: "2" }, remove: [x-internal] }
    destination: { upstream: a }
  - { name: split, match: [{ path: { prefix: /split } }], destinations: [{ upstream: a, weight: 75 }, { upstream: b, weight: 25 }] }
  - { name: mirror, match: [{ path: { prefix: /mirror } }], mirror: { upstream: shadow }, destination: { upstream: b } }
  - { name: mirror-slow, match: [{ path: { prefix: /mslow } }], mirror: { upstream: slow-shadow, percentage: 100 }, destination: { upstream: b } }
  - { name: abort, match: [{ path: { prefix: /abort } }], fault: { abort: { status: 418 } }, destination: { upstream: b } }
  - { name: delay, match: [{ path: { prefix: /delay } }], fault: { delay: { fixedDelayMs: 300 } }, destination: { upstream: b } }
  - { name: half-abort, match: [{ path: { prefix: /half } }], fault: { abort: { status: 503, percentage: 50 } }, destination: { upstream: b } }`,
        ),
    ),
  );
  g = await startTestGateway(source);
});
afterAll(async () => {
  // The never-answering shadow first, so the gateway's drain does not wait on its exchange.
  await slowShadow.close();
  await g.close();
  await Promise.all([a, b, shadow].map((u) => u.close()));
});

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => send(g.port, { method, path, headers: { host: 'act.test:8080', ...headers } });
const last = (u: RecordingUpstream) => u.received[u.received.length - 1];

describe('routing actions: rewrites', () => {
  it('prefix rewrite replaces the matched prefix below the base path, and rewrites the Host', async () => {
    await get('/svc/old/x/y?q=1');
    expect(last(a)).toMatchObject({ url: '/svc/new/x/y?q=1', headers: expect.objectContaining({ host: 'rewritten.internal' }) });
  });

  it('template captures feed a path rewrite', async () => {
    await get('/svc/orders/42/lines/7');
    expect(last(a)?.url).toBe('/svc/v2/line/7/of/42');
  });

  it('regex rewrite substitutes numbered groups', async () => {
    await get('/svc/rx/abc/12');
    expect(last(a)?.url).toBe('/svc/by-num/12/abc');
  });
});

describe('routing actions: redirect and direct response', () => {
  it('redirects with scheme, host, path and code, keeping the query, without calling an upstream', async () => {
    const before = a.started + b.started;
    const r = await get('/svc/moved?x=1');
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe('https://new.example.com/here?x=1');
    const r2 = await get('/svc/temp');
    expect(r2.status).toBe(302);
    expect(r2.headers.location).toBe('http://act.test:8080/elsewhere');
    expect(a.started + b.started).toBe(before);
  });

  it('answers a direct response with status, body, content type and response header changes', async () => {
    const r = await get('/svc/health');
    expect(r.status).toBe(203);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-direct']).toBe('yes');
    expect(r.body).toBe('{"ok":true}');
  });
});

describe('routing actions: header changes', () => {
  it('sets, adds and removes request and response headers', async () => {
    const r = await get('/svc/hdr', { 'x-set': 'client', 'x-add': 'client', 'x-drop': 'gone' });
    const h = last(a)?.headers ?? {};
    expect(h['x-set']).toBe('one');
    expect(h['x-add']).toBe('client, two');
    expect(h['x-drop']).toBeUndefined();
    expect(r.headers['x-resp']).toBe('set');
    expect(r.headers['x-keep']).toBe('1, 2');
    expect(r.headers['x-internal']).toBeUndefined();
  });
});

describe('routing actions: weighted split', () => {
  it('sends 400 requests 75/25 within ±35 (4 standard deviations)', async () => {
    // Each request goes to b with probability p = 0.25 independently (random pick), so the count
    // is Binomial(400, 0.25): mean 100, sd = sqrt(400 * 0.25 * 0.75) ≈ 8.7. ±35 is ±4 sd, a false
    // failure about once in 16,000 runs, while a broken split (e.g. 50/50 or all to one) fails.
    const before = { a: a.received.length, b: b.received.length };
    for (let i = 0; i < 40; i++) await Promise.all(Array.from({ length: 10 }, () => get('/svc/split')));
    const toA = a.received.length - before.a;
    const toB = b.received.length - before.b;
    expect(toA + toB).toBe(400);
    expect(Math.abs(toB - 100)).toBeLessThanOrEqual(35);
  });
});

describe('routing actions: mirroring', () => {
  it('sends a copy to the shadow (Host suffixed -shadow) and answers from the primary even when the shadow fails', async () => {
    const before = shadow.received.length;
    const r = await get('/svc/mirror/x?y=1', { 'x-tag': 'm1' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('b GET /svc/mirror/x?y=1');
    await eventually(() => shadow.received.length > before);
    expect(last(shadow)).toMatchObject({ method: 'GET', url: '/svc/mirror/x?y=1', headers: expect.objectContaining({ host: 'act.test:8080-shadow', 'x-tag': 'm1' }) });
  });

  it('a shadow that never answers does not delay the primary', async () => {
    const t0 = Date.now();
    const r = await get('/svc/mslow');
    expect(r.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(500);
    await eventually(() => slowShadow.started > 0);
  });

  it('does not mirror a request with a body', async () => {
    const before = shadow.started;
    const r = await get('/svc/mirror/post', { 'content-type': 'text/plain' }, 'POST');
    expect(r.status).toBe(200);
    const r2 = await send(g.port, { method: 'POST', path: '/svc/mirror/post', headers: { host: 'act.test' }, body: 'payload' });
    expect(r2.body).toBe('b POST /svc/mirror/post');
    await new Promise((res) => setTimeout(res, 100));
    // The bodiless POST is mirrored, the one with a body is not.
    expect(shadow.started - before).toBe(1);
  });
});

describe('routing actions: fault injection', () => {
  it('aborts with the configured status without calling the upstream', async () => {
    const before = b.started;
    const r = await get('/svc/abort');
    expect(r.status).toBe(418);
    expect(r.json()).toMatchObject({ code: 'FAULT_ABORT', status: 418 });
    expect(b.started).toBe(before);
  });

  it('delays by the fixed duration, then forwards', async () => {
    const t0 = Date.now();
    const r = await get('/svc/delay');
    expect(r.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it('aborts about the configured percentage (200 requests at 50 %: 100 ± 35)', async () => {
    const rs = await Promise.all(Array.from({ length: 200 }, () => get('/svc/half')));
    const aborted = rs.filter((r) => r.status === 503).length;
    expect(rs.filter((r) => r.status === 200).length + aborted).toBe(200);
    // Binomial(200, 0.5): sd ≈ 7.1; ±35 ≈ ±5 sd.
    expect(Math.abs(aborted - 100)).toBeLessThanOrEqual(35);
  });
});
