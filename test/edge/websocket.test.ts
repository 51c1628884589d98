import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, startTestGateway, TestConfigSource, upstreamYaml, yamlResources, type RunningGateway } from '../gateway/harness.js';

// A WebSocket upstream: completes the RFC 6455 handshake, then echoes every byte it receives.
let ws: Server;
let wsOrigin: string;
const upgrades: Array<{ url: string; headers: Record<string, unknown> }> = [];
let g: RunningGateway;
const DRAFT_KEY = 'tg_ws_draft_key_0123456789abcdefghij';
/** The same configuration behind a trusted proxy (loopback). */
let trusted: RunningGateway;

beforeAll(async () => {
  ws = createServer((_req, res) => res.end('not a websocket'));
  ws.on('upgrade', (req, socket: Socket) => {
    upgrades.push({ url: req.url ?? '', headers: { ...req.headers } });
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((r) => ws.listen(0, '127.0.0.1', r));
  wsOrigin = `http://127.0.0.1:${(ws.address() as AddressInfo).port}`;
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('ws', [wsOrigin]) +
        apiYaml(
          'chat',
          `basePath: /chat
stripBasePath: true
routes:
  - { name: open, match: [{ path: { prefix: /open } }], destination: { upstream: ws } }
  - { name: closed, match: [{ path: { prefix: /closed } }], destination: { upstream: ws }, policies: [{ name: ip-restriction, config: { deny: ["127.0.0.1", "::1"] } }] }`,
        ) +
        apiYaml(
          'hidden',
          `basePath: /hidden
lifecycle: { state: draft, previewConsumers: [acme] }
policies: [{ name: key-auth }]
routes: [{ name: all, destination: { upstream: ws } }]`,
        ) +
        apiYaml(
          'old',
          `basePath: /old
lifecycle: { state: deprecated, deprecatedAt: "2026-01-01T00:00:00Z", sunsetAt: "2030-01-01T00:00:00Z" }
routes: [{ name: all, destination: { upstream: ws }, policies: [{ name: ip-restriction, config: { deny: ["127.0.0.1", "::1"] } }] }]`,
        ) +
        `---\napiVersion: tollgate.dev/v1\nkind: Consumer\nmetadata: { name: acme }\nspec: { keys: [{ name: k, hash: "${createHash('sha256').update(DRAFT_KEY).digest('hex')}" }] }\n`,
    ),
  );
  g = await startTestGateway(source);
  trusted = await startTestGateway(source, { trustedProxies: ['127.0.0.0/8', '::1'] });
});
afterAll(async () => {
  await g.close();
  await trusted.close();
  ws.closeAllConnections();
  await new Promise<void>((r) => ws.close(() => r()));
});

/** Opens a raw connection, sends a WebSocket handshake and resolves with the socket and the response head. */
function handshake(path: string, port = g.port, extra = ''): Promise<{ socket: Socket; head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: chat.test\r\n${extra}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      resolve({ socket, head: buf.subarray(0, end).toString(), rest: buf.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

describe('WebSocket proxying', () => {
  it('relays the 101 and then pipes bytes both ways (echo through the gateway)', async () => {
    const { socket, head } = await handshake('/chat/open/room?user=1');
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    const up = upgrades.at(-1);
    expect(up?.url).toBe('/open/room?user=1');
    expect(up?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(up?.headers.upgrade).toBe('websocket');
    // A masked text frame "hello" (RFC 6455 §5.7); the echo upstream returns the bytes as sent.
    const frame = Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    const echoed = await new Promise<Buffer>((resolve) => {
      let got = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= frame.length) resolve(got);
      });
      socket.write(frame);
    });
    expect(echoed.equals(frame)).toBe(true);
    socket.destroy();
  });

  it("runs the route's access policies before the upgrade: a denied handshake gets 403, never 101, and never reaches the upstream", async () => {
    const before = upgrades.length;
    const { socket, head, rest } = await handshake('/chat/closed/room');
    expect(head).toMatch(/^HTTP\/1\.1 403 /);
    expect(head.toLowerCase()).toContain('content-type: application/problem+json');
    const body = await new Promise<string>((resolve) => {
      let s = rest.toString();
      socket.on('data', (d: Buffer) => (s += d.toString()));
      socket.on('close', () => resolve(s));
    });
    expect(JSON.parse(body)).toMatchObject({ code: 'IP_FORBIDDEN', status: 403 });
    expect(upgrades.length).toBe(before);
  });

  it('forwards a client X-Forwarded-Proto/Host only from a trusted proxy, as for any request', async () => {
    const extra = 'X-Forwarded-Proto: https\r\nX-Forwarded-Host: public.test\r\n';
    const a = await handshake('/chat/open/a', g.port, extra);
    expect(a.head).toMatch(/^HTTP\/1\.1 101 /);
    a.socket.destroy();
    expect(upgrades.at(-1)?.headers).toMatchObject({ 'x-forwarded-proto': 'http', 'x-forwarded-host': 'chat.test' });
    const b = await handshake('/chat/open/b', trusted.port, extra);
    expect(b.head).toMatch(/^HTTP\/1\.1 101 /);
    b.socket.destroy();
    expect(upgrades.at(-1)?.headers).toMatchObject({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.test' });
  });

  it('hides a draft API from a handshake that is not its preview consumer (404, not the 401 that would tell it exists)', async () => {
    const before = upgrades.length;
    for (const extra of ['', 'apikey: tg_not_a_key_of_anyone_0123456789\r\n']) {
      const { socket, head } = await handshake('/hidden/x', g.port, extra);
      expect(head).toMatch(/^HTTP\/1\.1 404 /);
      socket.destroy();
    }
    expect(upgrades.length).toBe(before);
    const ok = await handshake('/hidden/x', g.port, `apikey: ${DRAFT_KEY}\r\n`);
    expect(ok.head).toMatch(/^HTTP\/1\.1 101 /);
    ok.socket.destroy();
  });

  it('a refused handshake to a deprecated API carries its Deprecation and Sunset headers, as any refusal does', async () => {
    const { socket, head } = await handshake('/old/x');
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 403 /);
    expect(head).toMatch(/\r\ndeprecation: @\d+/i);
    expect(head).toMatch(/\r\nsunset: Tue, 01 Jan 2030 00:00:00 GMT/i);
  });

  it('answers 404 for an upgrade no route takes', async () => {
    const { head, socket } = await handshake('/nowhere');
    expect(head).toMatch(/^HTTP\/1\.1 404 /);
    socket.destroy();
  });
});
