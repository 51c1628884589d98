import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from './harness.js';

let up: RecordingUpstream;
let g: RunningGateway;
let trustedG: RunningGateway;

beforeAll(async () => {
  up = await startUpstream('up', (req, res) => {
    if (req.url === '/hop') {
      res.setHeader('Connection', 'x-bar, keep-alive');
      res.setHeader('X-Bar', 'secret-internal');
      res.setHeader('Keep-Alive', 'timeout=5');
      res.setHeader('Proxy-Authenticate', 'Basic');
      res.setHeader('X-Request-Id', 'upstream-made-this-up');
      res.setHeader('X-Kept', 'yes');
    }
    res.end('ok');
  });
  const resources = () => yamlResources(upstreamYaml('u', [up.origin]) + apiYaml('a', 'routes: [{ name: r, destination: { upstream: u } }]'));
  g = await startTestGateway(new TestConfigSource(resources()));
  trustedG = await startTestGateway(new TestConfigSource(resources()), { trustedProxies: ['127.0.0.0/8', '::1'] });
});
afterAll(async () => {
  await Promise.all([g.close(), trustedG.close()]);
  await up.close();
});

function last() {
  const r = up.received.at(-1);
  if (!r) throw new Error('upstream received nothing');
  return r;
}

describe('proxy hygiene', () => {
  it('strips hop-by-hop request headers and every header Connection names', async () => {
    await send(g.port, {
      path: '/req',
      headers: { host: 'gw.test', connection: 'x-foo, keep-alive', 'x-foo': 'drop me', 'keep-alive': 'timeout=9', te: 'trailers', 'proxy-authorization': 'Basic cHJveHk=', 'proxy-connection': 'keep-alive', 'x-other': 'keep me' },
    });
    const h = last().headers;
    expect(h['x-foo']).toBeUndefined();
    expect(h['keep-alive']).toBeUndefined();
    expect(h.te).toBeUndefined();
    expect(h['proxy-authorization']).toBeUndefined();
    expect(h['proxy-connection']).toBeUndefined();
    expect(h['x-other']).toBe('keep me');
    expect(h.host).toBe('gw.test');
  });

  it('a Connection header cannot remove the headers the gateway adds', async () => {
    await send(g.port, { path: '/conn', headers: { host: 'gw.test', connection: 'X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, X-Request-Id, keep-alive', 'x-request-id': 'keep-this-id' } });
    const h = last().headers;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe('gw.test');
    expect(h['x-request-id']).toBe('keep-this-id');
  });

  it('strips hop-by-hop response headers and those the upstream Connection names; sets the request id', async () => {
    const r = await send(g.port, { path: '/hop', headers: { 'x-request-id': 'rid-1' } });
    expect(r.status).toBe(200);
    expect(r.headers['x-bar']).toBeUndefined();
    expect(r.headers['proxy-authenticate']).toBeUndefined();
    expect(r.headers['x-kept']).toBe('yes');
    expect(r.headers['x-request-id']).toBe('rid-1');
    expect(r.body).toBe('ok');
  });

  it('replaces client-sent X-Forwarded-* from an untrusted peer', async () => {
    await send(g.port, { path: '/xff', headers: { host: 'real.test', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.test', forwarded: 'for=6.6.6.6', 'x-real-ip': '6.6.6.6' } });
    const h = last().headers;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe('real.test');
    expect(h.forwarded).toBeUndefined();
    expect(h['x-real-ip']).toBeUndefined();
  });

  it('appends to X-Forwarded-* from a trusted proxy', async () => {
    await send(trustedG.port, { path: '/xff', headers: { host: 'inner.test', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.test' } });
    const h = last().headers;
    expect(h['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('https');
    expect(h['x-forwarded-host']).toBe('public.test');
  });

  it('keeps a valid client request id and replaces an invalid one', async () => {
    const ok = await send(g.port, { path: '/id', headers: { 'x-request-id': 'abc.DEF_1:2-3' } });
    expect(ok.headers['x-request-id']).toBe('abc.DEF_1:2-3');
    expect(last().headers['x-request-id']).toBe('abc.DEF_1:2-3');
    const bad = await send(g.port, { path: '/id', headers: { 'x-request-id': 'has space<script>' } });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(last().headers['x-request-id']).toBe(bad.headers['x-request-id']);
    const long = await send(g.port, { path: '/id', headers: { 'x-request-id': 'a'.repeat(129) } });
    expect(long.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const none = await send(g.port, { path: '/id' });
    expect(none.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
