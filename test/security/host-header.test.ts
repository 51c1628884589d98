import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, get, startSecurityGateway, upstream, type SecurityGateway } from './support.js';

// Issue #14, class 8: the Host header (RFC 9112 §3.2, §3.2.2). Over the built `tollgate start`
// process with recording upstreams: an invalid Host or more than one Host line is 400 BAD_HOST
// before anything is routed; an absolute-form target's authority is routed on and forwarded
// instead of Host; the WebSocket upgrade path applies the same rules.

let g: SecurityGateway;

beforeAll(async () => {
  g = await startSecurityGateway(
    ['www', 'admin', 'fallback'],
    (u) =>
      upstream('www', u.www as string) +
      upstream('admin', u.admin as string) +
      upstream('fallback', u.fallback as string) +
      api('www', 'hosts: [www.example.com]\nroutes: [{ name: all, destination: { upstream: www } }]') +
      api('admin', 'hosts: [admin.example.com]\nroutes: [{ name: all, destination: { upstream: admin } }]') +
      api('fallback', 'routes: [{ name: all, destination: { upstream: fallback } }]'),
    { host: 'www.example.com', path: '/' },
  );
}, 150_000);

afterAll(async () => {
  await g?.stop();
});

describe('invalid Host values are 400 BAD_HOST and never routed', () => {
  it.each([
    'www.example.com@admin.example.com',
    'user:pw@admin.example.com',
    'www.example.com:80x',
    'www.example.com:80:81',
    'www.example.com:99999',
    'www.example.com:-1',
    'www example.com',
    'www.example.com,admin.example.com',
    '%77ww.example.com',
    'www.example.com/admin',
    'www..example.com',
    '[::1',
  ])('Host: %s', async (host) => {
    const before = g.received();
    const r = await g.raw(get('/x', [`Host: ${host}`]));
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.json()).toMatchObject({ code: 'BAD_HOST', status: 400, type: 'https://tollgate.dev/errors/bad-host' });
    expect(g.received()).toBe(before);
  });
});

describe('more than one Host line is 400 BAD_HOST (Node keeps only the first in req.headers)', () => {
  it.each([
    [['Host: www.example.com', 'Host: admin.example.com']],
    [['Host: www.example.com', 'host: www.example.com']],
    [['HOST: admin.example.com', 'Host: www.example.com', 'hOsT: x']],
  ])('%j', async (lines) => {
    const before = g.received();
    const r = await g.raw(get('/x', lines));
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ code: 'BAD_HOST' });
    expect(g.received()).toBe(before);
  });
});

describe('valid spellings of one host route alike and are forwarded as sent', () => {
  it.each(['www.example.com', 'WWW.Example.COM', 'www.example.com.', 'www.example.com:80', 'www.example.com:443', 'www.example.com:', 'WWW.EXAMPLE.COM.:8080'])('Host: %s', async (host) => {
    const r = await g.raw(get('/x', [`Host: ${host}`]));
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ upstream: 'www', url: '/x' });
    const seen = g.upstreams.www?.requests.at(-1);
    expect(seen?.headers.host).toBe(host);
    expect(seen?.headers['x-forwarded-host']).toBe(host);
  });
});

describe("an absolute-form target's authority wins over Host (RFC 9112 §3.2.2)", () => {
  it.each([
    ['http://admin.example.com/x', 'admin.example.com'],
    ['http://admin.example.com:8080/x', 'admin.example.com:8080'],
    ['HTTP://ADMIN.example.com./x', 'ADMIN.example.com.'],
    ['https://admin.example.com/x', 'admin.example.com'],
  ])('%s with Host: www.example.com', async (target, authority) => {
    const r = await g.raw(get(target, ['Host: www.example.com']));
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ upstream: 'admin', url: '/x' });
    const seen = g.upstreams.admin?.requests.at(-1);
    // The forwarded Host is generated from the target, not the received Host.
    expect(seen?.headers.host).toBe(authority);
    expect(seen?.headers['x-forwarded-host']).toBe(authority);
  });

  it('the authority routes to any-host APIs too, and the Host the client sent is not forwarded', async () => {
    const r = await g.raw(get('http://other.example.org/y', ['Host: admin.example.com']));
    expect(r.json()).toMatchObject({ upstream: 'fallback', url: '/y' });
    expect(g.upstreams.fallback?.requests.at(-1)?.headers.host).toBe('other.example.org');
  });

  it.each(['http://www.example.com@admin.example.com/x', 'http://u:p@admin.example.com/x', 'http:///x', 'http://admin.example.com:80x/x', 'http://admin.example.com:80:81/x'])('refuses %s', async (target) => {
    const before = g.received();
    const r = await g.raw(get(target, ['Host: www.example.com']));
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ code: 'BAD_HOST' });
    expect(g.received()).toBe(before);
  });

  it('an invalid Host is refused even with an absolute-form target', async () => {
    const r = await g.raw(get('http://admin.example.com/x', ['Host: a@b']));
    expect(r.json()).toMatchObject({ code: 'BAD_HOST' });
  });
});

describe('the WebSocket upgrade path applies the same Host rules', () => {
  const ws = ['Upgrade: websocket', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'];
  const upgrade = (target: string, hostLines: readonly string[]) => `GET ${target} HTTP/1.1\r\n${[...hostLines, ...ws].map((l) => `${l}\r\n`).join('')}Connection: Upgrade\r\n\r\n`;
  it.each([[['Host: www.example.com@admin.example.com']], [['Host: www.example.com:80:81']], [['Host: www.example.com', 'Host: admin.example.com']]])('%j is 400 BAD_HOST', async (lines) => {
    const before = g.received();
    const r = await g.raw(upgrade('/ws', lines));
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ code: 'BAD_HOST' });
    expect(g.received()).toBe(before);
  });

  it('an absolute-form handshake is routed by its authority and sends it as Host', async () => {
    const before = g.upstreams.admin?.requests.length ?? 0;
    // The recording upstream answers the handshake with 200 (no 101): relayed, and recorded there.
    await g.raw(upgrade('http://admin.example.com/ws', ['Host: www.example.com']));
    expect(g.upstreams.admin?.requests.length).toBe(before + 1);
    expect(g.upstreams.admin?.requests.at(-1)?.headers.host).toBe('admin.example.com');
  });
});
