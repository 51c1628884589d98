import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, startTestGateway, TestConfigSource, upstreamYaml, yamlResources, type RunningGateway } from '../gateway/harness.js';

// A WebSocket handshake is a request like any other: it is routed on host, path, method, headers
// and query, and prepared as proxy.ts prepares a request (path rewrite, strip prefix, request
// header changes, host rewrite); the route's response header changes apply to the answer.

interface WsUpstream {
  name: string;
  server: Server;
  origin: string;
  seen: Array<{ url: string; headers: IncomingHttpHeaders }>;
}

/** A WebSocket upstream that records handshakes, answers 101 (or 403 for paths ending in /deny) with a header the routes may remove. */
async function wsUpstream(name: string): Promise<WsUpstream> {
  const up: WsUpstream = { name, server: createServer((_req, res) => res.end('not a websocket')), origin: '', seen: [] };
  up.server.on('upgrade', (req, socket: Socket) => {
    up.seen.push({ url: req.url ?? '', headers: { ...req.headers } });
    if ((req.url ?? '').split('?')[0]?.endsWith('/deny')) {
      socket.end('HTTP/1.1 403 Forbidden\r\nX-Upstream-Secret: s\r\nContent-Length: 6\r\n\r\ndenied');
      return;
    }
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Upstream-Secret: s\r\nX-Who: ${name}\r\n\r\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
  up.origin = `http://127.0.0.1:${(up.server.address() as AddressInfo).port}`;
  return up;
}

let a: WsUpstream;
let b: WsUpstream;
let g: RunningGateway;

beforeAll(async () => {
  a = await wsUpstream('a');
  b = await wsUpstream('b');
  const ops = `headers: { request: { set: { x-from: gateway }, add: { x-tag: t1 }, remove: [x-debug] }, response: { set: { x-gw: "yes" }, remove: [x-upstream-secret] } }`;
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('a', [a.origin]) +
        upstreamYaml('b', [b.origin]) +
        apiYaml(
          'hdr',
          `basePath: /hdr
routes:
  - { name: tenant-a, match: [{ path: { prefix: /room }, headers: { x-tenant: { exact: a } } }], destination: { upstream: a } }
  - { name: rest, match: [{ path: { prefix: /room } }], destination: { upstream: b } }
  - { name: post-only, match: [{ path: { prefix: /post }, methods: [POST] }], destination: { upstream: a } }`,
        ) +
        apiYaml('qry', `basePath: /qry\nroutes:\n  - { name: lobby, match: [{ path: { prefix: /room }, queryParams: { room: { exact: lobby } } }], destination: { upstream: a } }`) +
        apiYaml(
          'rw',
          `basePath: /rw
stripBasePath: true
routes:
  - { name: tpl, match: [{ path: { template: "/rooms/{id}" } }], rewrite: { path: "/v2/chat/{id}", host: ws.internal }, destination: { upstream: a }, ${ops} }
  - { name: pfx, match: [{ path: { prefix: /old } }], rewrite: { prefix: /new }, destination: { upstream: a } }
  - { name: strip, match: [{ path: { prefix: /plain } }], destination: { upstream: a } }`,
        ) +
        apiYaml('keep', `basePath: /keep\nroutes:\n  - { name: pfx, match: [{ path: { prefix: /old } }], rewrite: { prefix: /new }, destination: { upstream: a } }`) +
        apiYaml('locked', `basePath: /locked\npolicies: [{ name: key-auth }]\nroutes: [{ name: all, destination: { upstream: a } }]`),
    ),
  );
  g = await startTestGateway(source, { preserveHost: true });
});
afterAll(async () => {
  await g.close();
  for (const u of [a, b]) {
    u.server.closeAllConnections();
    await new Promise<void>((r) => u.server.close(() => r()));
  }
});

/** Sends a handshake on a raw connection; resolves with the response head and the body (read until the gateway closes, for non-101 answers). */
function handshake(path: string, extra = ''): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(g.port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: chat.test\r\n${extra}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let buf = '';
    const finish = () => {
      const end = buf.indexOf('\r\n\r\n');
      socket.destroy();
      resolve({ head: buf.slice(0, end), body: buf.slice(end + 4) });
    };
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (/^HTTP\/1\.1 101 /.test(buf) && buf.includes('\r\n\r\n')) finish();
    });
    socket.on('close', () => (buf.includes('\r\n\r\n') ? finish() : reject(new Error(`closed after ${JSON.stringify(buf)}`))));
    socket.on('error', reject);
  });
}

/** A header of a response head (case-insensitive name), or undefined. */
function field(head: string, name: string): string | undefined {
  const re = new RegExp(`\\r\\n${name}: ([^\\r]*)`, 'i');
  return re.exec(head)?.[1];
}

describe('WebSocket handshakes are routed on headers and query like any request', () => {
  it('a route matching on a header takes the handshake only when the header matches; otherwise the next route does', async () => {
    const before = { a: a.seen.length, b: b.seen.length };
    const hit = await handshake('/hdr/room/1', 'X-Tenant: a\r\n');
    expect(hit.head).toMatch(/^HTTP\/1\.1 101 /);
    expect(field(hit.head, 'x-who')).toBe('a');
    const other = await handshake('/hdr/room/1', 'X-Tenant: b\r\n');
    expect(field(other.head, 'x-who')).toBe('b');
    const none = await handshake('/hdr/room/1');
    expect(field(none.head, 'x-who')).toBe('b');
    expect(a.seen.length - before.a).toBe(1);
    expect(b.seen.length - before.b).toBe(2);
  });

  it('a route matching on a query parameter takes the handshake only when it matches, else 404', async () => {
    const before = a.seen.length;
    const hit = await handshake('/qry/room?room=lobby');
    expect(hit.head).toMatch(/^HTTP\/1\.1 101 /);
    expect(a.seen.at(-1)?.url).toBe('/qry/room?room=lobby');
    for (const q of ['?room=other', '', '?rooms=lobby']) {
      const miss = await handshake(`/qry/room${q}`);
      expect(miss.head).toMatch(/^HTTP\/1\.1 404 /);
      expect(JSON.parse(miss.body)).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    }
    expect(a.seen.length - before).toBe(1);
  });

  it('a path no GET route takes is 405 with Allow, as for any request', async () => {
    const r = await handshake('/hdr/post/x');
    expect(r.head).toMatch(/^HTTP\/1\.1 405 /);
    expect(field(r.head, 'allow')).toBe('POST');
  });
});

describe("WebSocket handshakes get the route's request preparation and response header changes", () => {
  it('path rewrite from captures, host rewrite and request header changes reach the upstream; response changes apply to the 101', async () => {
    const r = await handshake('/rw/rooms/42?x=1', 'X-Debug: 1\r\nX-Tag: c\r\n');
    expect(r.head).toMatch(/^HTTP\/1\.1 101 /);
    const seen = a.seen.at(-1);
    expect(seen?.url).toBe('/v2/chat/42?x=1');
    expect(seen?.headers.host).toBe('ws.internal');
    expect(seen?.headers['x-from']).toBe('gateway');
    expect(seen?.headers['x-tag']).toBe('c, t1');
    expect(seen?.headers['x-debug']).toBeUndefined();
    // The handshake itself is intact.
    expect(seen?.headers.upgrade).toBe('websocket');
    expect(seen?.headers['sec-websocket-key']).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    expect(field(r.head, 'x-gw')).toBe('yes');
    expect(field(r.head, 'x-upstream-secret')).toBeUndefined();
    expect(field(r.head, 'upgrade')).toBe('websocket');
    expect(field(r.head, 'sec-websocket-accept')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('response header changes apply to a relayed non-101 answer too', async () => {
    const r = await handshake('/rw/rooms/deny');
    expect(r.head).toMatch(/^HTTP\/1\.1 403 /);
    expect(r.body).toBe('denied');
    expect(field(r.head, 'x-gw')).toBe('yes');
    expect(field(r.head, 'x-upstream-secret')).toBeUndefined();
  });

  it('a prefix rewrite replaces the matched prefix, with and without stripBasePath; the client Host is kept without a host rewrite', async () => {
    await handshake('/rw/old/x?y=1');
    expect(a.seen.at(-1)?.url).toBe('/new/x?y=1');
    expect(a.seen.at(-1)?.headers.host).toBe('chat.test');
    await handshake('/keep/old/x');
    expect(a.seen.at(-1)?.url).toBe('/keep/new/x');
    await handshake('/rw/plain/y');
    expect(a.seen.at(-1)?.url).toBe('/plain/y');
  });

  it('a handshake a policy refuses is answered, logged and never reaches the upstream', async () => {
    const before = a.seen.length;
    const r = await handshake('/locked/x');
    expect(r.head).toMatch(/^HTTP\/1\.1 401 /);
    expect(JSON.parse(r.body)).toMatchObject({ code: 'AUTH_REQUIRED' });
    expect(a.seen.length).toBe(before);
    const line = g.logs.find((l) => l.type === 'access' && l.websocket === true && l.path === '/locked/x');
    expect(line).toMatchObject({ status: 401, api: 'locked', route: 'all', code: 'AUTH_REQUIRED' });
  });
});
