import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';

// Issue #14, class 12: method and URL override headers let a client run another method or path
// at frameworks that honour them (a GET-only route reaching DELETE, /public reaching /admin). They
// are removed before forwarding unless the route opts in with `forwardOverrideHeaders: true`.

const OVERRIDES: Record<string, string> = {
  'X-HTTP-Method-Override': 'DELETE',
  'X-HTTP-Method': 'DELETE',
  'X-Method-Override': 'DELETE',
  'X-Original-URL': '/admin/users',
  'X-Rewrite-URL': '/admin/users',
};
const NAMES = Object.keys(OVERRIDES).map((n) => n.toLowerCase());

let up: RecordingUpstream;
let ws: Server;
const upgrades: Array<Record<string, unknown>> = [];
let g: RunningGateway;

beforeAll(async () => {
  up = await startUpstream('up');
  ws = createServer((_req, res) => res.end('not a websocket'));
  ws.on('upgrade', (req, socket: Socket) => {
    upgrades.push({ ...req.headers });
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  });
  await new Promise<void>((r) => ws.listen(0, '127.0.0.1', r));
  g = await startTestGateway(
    new TestConfigSource(
      yamlResources(
        upstreamYaml('up', [up.origin]) +
          upstreamYaml('ws', [`http://127.0.0.1:${(ws.address() as AddressInfo).port}`]) +
          apiYaml(
            'ov',
            `routes:
  - { name: readonly, match: [{ path: { prefix: /public }, methods: [GET, POST] }], destination: { upstream: up } }
  - { name: optin, match: [{ path: { prefix: /legacy } }], destination: { upstream: up }, forwardOverrideHeaders: true }
  - { name: ws, match: [{ path: { prefix: /ws } }], destination: { upstream: ws } }
  - { name: wsoptin, match: [{ path: { prefix: /wsl } }], destination: { upstream: ws }, forwardOverrideHeaders: true }`,
          ),
      ),
    ),
  );
});
afterAll(async () => {
  await g.close();
  await up.close();
  ws.closeAllConnections();
  await new Promise<void>((r) => ws.close(() => r()));
});

function handshake(path: string, extra: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(g.port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ws.test\r\n${extra}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(buf);
      }
    });
    socket.on('error', reject);
  });
}

describe('method and URL override headers', () => {
  it.each(Object.entries(OVERRIDES))('%s is removed on a route that does not opt in', async (name, value) => {
    for (const method of ['GET', 'POST']) {
      const r = await send(g.port, { method, path: '/public/items', headers: { [name]: value, 'x-other': 'kept' } });
      expect(r.status).toBe(200);
      const seen = up.received.at(-1)?.headers ?? {};
      expect(seen[name.toLowerCase()]).toBeUndefined();
      expect(seen['x-other']).toBe('kept');
    }
  });

  it('every spelling and repetition is removed (names compare case-insensitively, repeated fields too)', async () => {
    const r = await send(g.port, { path: '/public/items', headers: { 'x-http-method-override': ['DELETE', 'PUT'], 'X-ORIGINAL-URL': '/admin', 'x-Rewrite-Url': '/admin', 'X-Http-Method': 'PATCH', 'x-method-override': 'DELETE' } });
    expect(r.status).toBe(200);
    const seen = up.received.at(-1)?.headers ?? {};
    for (const n of NAMES) expect(seen[n]).toBeUndefined();
  });

  it('removed whatever else the request carries (a Connection listing, other fields)', async () => {
    await send(g.port, { path: '/public/items', headers: { connection: 'keep-alive, x-other', ...OVERRIDES } });
    for (const n of NAMES) expect(up.received.at(-1)?.headers[n]).toBeUndefined();
  });

  it('are forwarded on a route with forwardOverrideHeaders: true', async () => {
    const r = await send(g.port, { path: '/legacy/items', headers: OVERRIDES });
    expect(r.status).toBe(200);
    const seen = up.received.at(-1)?.headers ?? {};
    for (const [n, v] of Object.entries(OVERRIDES)) expect(seen[n.toLowerCase()]).toBe(v);
  });

  it('are removed from a WebSocket handshake unless the route opts in', async () => {
    const extra = Object.entries(OVERRIDES)
      .map(([n, v]) => `${n}: ${v}\r\n`)
      .join('');
    expect(await handshake('/ws/chat', extra)).toMatch(/^HTTP\/1\.1 101 /);
    for (const n of NAMES) expect(upgrades.at(-1)?.[n]).toBeUndefined();
    expect(await handshake('/wsl/chat', extra)).toMatch(/^HTTP\/1\.1 101 /);
    for (const [n, v] of Object.entries(OVERRIDES)) expect(upgrades.at(-1)?.[n.toLowerCase()]).toBe(v);
  });
});
