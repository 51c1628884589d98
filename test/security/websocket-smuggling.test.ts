import { createHash } from 'node:crypto';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCa, yamlBlock } from '../edge/certs.js';
import { apiYaml, startTestGateway, TestConfigSource, upstreamYaml, yamlResources, type RunningGateway } from '../gateway/harness.js';

// WebSocket smuggling: a gateway that opens a raw tunnel whatever the upstream answered to an
// upgrade lets a client write a second request on the same connection that reaches the upstream
// with no routing, policies, metering or log. Only a valid 101 (RFC 6455 §4.1: `Upgrade:
// websocket`, `Connection: upgrade`, the `Sec-WebSocket-Accept` of the key) opens the tunnel;
// any other answer is relayed and the connection closed.

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = createHash('sha1').update(`${KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

/** What the upstream answers per handshake path (the part after /s/). */
const ANSWERS: Record<string, string> = {
  '200': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello there',
  '400': 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nno websocket',
  '302': 'HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 5\r\n\r\nmoved',
  '426': 'HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nContent-Length: 16\r\n\r\nupgrade required',
  // A chunked body is relayed too (then close-delimited).
  chunked: 'HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nchunk\r\n4\r\ned!!\r\n0\r\n\r\n',
  'wrong-accept': `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${createHash('sha1').update('other').digest('base64')}\r\n\r\n`,
  'no-accept': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'no-upgrade': `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`,
  'other-upgrade': `HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`,
  'no-connection': `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`,
  ok: `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`,
};

// A raw upstream that answers the first request head of a connection as ANSWERS says, keeps the
// connection open (as a server that would read a next request does) and records every byte.
let upstream: Server;
let origin: string;
const connections: Array<{ data: string }> = [];
let g: RunningGateway;
// The same answers from an https target (the gateway's TLS connection to it).
let secure: HttpsServer;

beforeAll(async () => {
  upstream = createServer((s: Socket) => {
    const conn = { data: '' };
    connections.push(conn);
    let answered = false;
    s.on('data', (d: Buffer) => {
      conn.data += d.toString('latin1');
      const end = conn.data.indexOf('\r\n\r\n');
      if (answered || end === -1) return;
      answered = true;
      const path = /^GET \/s\/([^ ?]*)/.exec(conn.data)?.[1] ?? '';
      // `silent`: never answers (the gateway's deadline must).
      if (path !== 'silent') s.write(ANSWERS[path] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    });
    s.on('error', () => s.destroy());
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const ca = new TestCa('WS Upstream CA');
  const cert = ca.issue('ws.internal', ['ws.internal']);
  secure = createHttpsServer({ cert: cert.cert, key: cert.key });
  // Raw TLS connections are handed to the recording server above.
  secure.removeAllListeners('secureConnection');
  secure.on('secureConnection', (s) => upstream.emit('connection', s));
  await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
  const secureOrigin = `https://127.0.0.1:${(secure.address() as AddressInfo).port}`;
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('raw', [origin]) +
        upstreamYaml('tls', [secureOrigin], `  tls:\n    serverName: ws.internal\n    ca: ${yamlBlock(ca.ca.cert, 6)}\n`) +
        apiYaml('ws', `basePath: /s\nroutes: [{ name: all, destination: { upstream: raw } }]`) +
        apiYaml('wss', `basePath: /tls\nstripBasePath: true\nroutes: [{ name: all, destination: { upstream: tls } }]`) +
        apiYaml('slow', `basePath: /slow\nstripBasePath: true\nroutes: [{ name: all, timeoutMs: 300, destination: { upstream: raw } }]`),
    ),
  );
  g = await startTestGateway(source);
});
afterAll(async () => {
  await g.close();
  secure.closeAllConnections();
  await new Promise<void>((r) => secure.close(() => r()));
  await new Promise<void>((r) => upstream.close(() => r()));
});

const SMUGGLED = 'GET /s/smuggled HTTP/1.1\r\nHost: chat.test\r\n\r\n';

function handshakeHead(path: string, extra = '', key: string | null = KEY, version: string | null = '13'): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: chat.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}` +
    (key !== null ? `Sec-WebSocket-Key: ${key}\r\n` : '') +
    (version !== null ? `Sec-WebSocket-Version: ${version}\r\n` : '') +
    '\r\n'
  );
}

/**
 * Writes `first` (a handshake with a pipelined request after it), and once the answer's head is
 * in, a further request; resolves with everything the client got and whether the gateway closed
 * the connection (within 2 s).
 */
function exchange(first: string): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(g.port, '127.0.0.1', () => socket.write(first));
    let text = '';
    let wroteMore = false;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => done(false), 2_000);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (!wroteMore && text.includes('\r\n\r\n')) {
        wroteMore = true;
        socket.write(SMUGGLED, () => undefined);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.on('close', () => done(true));
  });
}

/** Everything the upstream received since `from` (connections opened after that index). */
function receivedSince(from: number): string {
  return connections
    .slice(from)
    .map((c) => c.data)
    .join('');
}

/** Lets bytes a vulnerable gateway would have piped reach the upstream before asserting. */
const settle = () => new Promise((r) => setTimeout(r, 150));

describe('WebSocket smuggling: no tunnel without a valid 101', () => {
  const relayed: Array<[string, RegExp, string]> = [
    ['200', /^HTTP\/1\.1 200 /, 'hello there'],
    ['400', /^HTTP\/1\.1 400 /, 'no websocket'],
    ['302', /^HTTP\/1\.1 302 /, 'moved'],
    ['426', /^HTTP\/1\.1 426 /, 'upgrade required'],
    ['chunked', /^HTTP\/1\.1 403 /, 'chunked!!'],
  ];
  for (const [answer, status, body] of relayed) {
    it(`an upstream ${answer} answer is relayed (status and body), the connection closed, and a pipelined request never reaches the upstream`, async () => {
      const from = connections.length;
      const r = await exchange(handshakeHead(`/s/${answer}`) + SMUGGLED);
      await settle();
      const seen = receivedSince(from);
      expect(seen).toContain(`GET /s/${answer} HTTP/1.1`);
      expect(seen).not.toContain('/s/smuggled');
      expect(r.text).toMatch(status);
      const [head, ...rest] = r.text.split('\r\n\r\n');
      expect(rest.join('\r\n\r\n')).toContain(body);
      expect(head?.toLowerCase()).toContain('connection: close');
      // Not switched: no upgrade is announced to the client.
      expect(head?.toLowerCase()).not.toMatch(/\r\nupgrade:/);
      expect(r.closed).toBe(true);
    });
  }

  const bad101: Array<[string, string]> = [
    ['wrong-accept', 'a Sec-WebSocket-Accept that is not the key'],
    ['no-accept', 'no Sec-WebSocket-Accept'],
    ['no-upgrade', 'no Upgrade field'],
    ['other-upgrade', 'Upgrade: h2c'],
    ['no-connection', 'no Connection: upgrade'],
  ];
  for (const [answer, what] of bad101) {
    it(`a 101 with ${what} is refused with 502 WEBSOCKET_HANDSHAKE_FAILED, and nothing more reaches the upstream`, async () => {
      const from = connections.length;
      const r = await exchange(handshakeHead(`/s/${answer}`) + SMUGGLED);
      await settle();
      expect(receivedSince(from)).not.toContain('/s/smuggled');
      expect(r.text).toMatch(/^HTTP\/1\.1 502 /);
      expect(r.text).not.toMatch(/^HTTP\/1\.1 101/m);
      const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
      expect(JSON.parse(body)).toMatchObject({ status: 502, code: 'WEBSOCKET_HANDSHAKE_FAILED' });
      expect(r.closed).toBe(true);
    });
  }

  for (const prefix of ['/s', '/tls/s']) {
    it(`a valid 101 still opens the tunnel: bytes sent after it reach the upstream (${prefix === '/s' ? 'http' : 'https'} target)`, async () => {
      const from = connections.length;
      const socket = connect(g.port, '127.0.0.1', () => socket.write(handshakeHead(`${prefix}/ok`)));
      const head = await new Promise<string>((resolve) => {
        let t = '';
        socket.on('data', (d: Buffer) => {
          t += d.toString('latin1');
          if (t.includes('\r\n\r\n')) resolve(t);
        });
      });
      expect(head).toMatch(/^HTTP\/1\.1 101 /);
      expect(head).toContain(`Sec-WebSocket-Accept: ${ACCEPT}`);
      expect(head.toLowerCase()).toContain('upgrade: websocket');
      socket.write('frame-bytes');
      for (let i = 0; i < 50 && !receivedSince(from).includes('frame-bytes'); i++) await settle();
      expect(receivedSince(from)).toContain('frame-bytes');
      socket.destroy();
    });
  }

  it('an https target: a non-101 answer is relayed and a pipelined request never reaches it either', async () => {
    const from = connections.length;
    const r = await exchange(handshakeHead('/tls/s/200') + SMUGGLED);
    await settle();
    expect(receivedSince(from)).toContain('GET /s/200 HTTP/1.1');
    expect(receivedSince(from)).not.toContain('/s/smuggled');
    expect(r.text).toMatch(/^HTTP\/1\.1 200 [^]*hello there$/);
    expect(r.closed).toBe(true);
  });

  it("an upstream that never answers the handshake gets the route's timeoutMs: 504 UPSTREAM_TIMEOUT, connection closed, nothing tunnelled", async () => {
    const from = connections.length;
    const t0 = performance.now();
    const r = await exchange(handshakeHead('/slow/s/silent') + SMUGGLED);
    expect(performance.now() - t0).toBeLessThan(1_500);
    await settle();
    expect(receivedSince(from)).toContain('GET /s/silent HTTP/1.1');
    expect(receivedSince(from)).not.toContain('/s/smuggled');
    expect(r.text).toMatch(/^HTTP\/1\.1 504 /);
    expect(JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    expect(r.closed).toBe(true);
  });

  it('a refused client handshake is logged (api null, code BAD_REQUEST), as any unrouted request is', async () => {
    await exchange(handshakeHead('/s/ok', 'X-Request-Id: ws-bad-handshake-1\r\n', null));
    const line = g.logs.find((l) => l.type === 'access' && l.requestId === 'ws-bad-handshake-1');
    expect(line).toMatchObject({ websocket: true, status: 400, code: 'BAD_REQUEST', api: null, route: null, upstream: null, path: '/s/ok' });
  });

  const badClient: Array<[string, string]> = [
    ['no Sec-WebSocket-Key', handshakeHead('/s/ok', '', null)],
    ['a Sec-WebSocket-Key that is not 16 bytes in base64', handshakeHead('/s/ok', '', 'c2hvcnQ=')],
    ['two Sec-WebSocket-Key fields', handshakeHead('/s/ok', `Sec-WebSocket-Key: ${KEY}\r\n`)],
    ['no Sec-WebSocket-Version', handshakeHead('/s/ok', '', KEY, null)],
    ['Sec-WebSocket-Version: 8', handshakeHead('/s/ok', '', KEY, '8')],
    ['a body (Content-Length)', handshakeHead('/s/ok', `Content-Length: ${SMUGGLED.length}\r\n`)],
    ['a chunked body', handshakeHead('/s/ok', 'Transfer-Encoding: chunked\r\n')],
    ['HTTP/1.0', handshakeHead('/s/ok').replace('HTTP/1.1', 'HTTP/1.0')],
  ];
  for (const [what, head] of badClient) {
    it(`a client upgrade with ${what} is refused with 400 and never reaches the upstream`, async () => {
      const from = connections.length;
      const r = await exchange(head + SMUGGLED);
      await settle();
      expect(receivedSince(from)).toBe('');
      expect(r.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(r.text).not.toMatch(/^HTTP\/1\.1 101/m);
      const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
      expect(JSON.parse(body)).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
      if (what.startsWith('Sec-WebSocket-Version') || what.startsWith('no Sec-WebSocket-Version')) expect(r.text.toLowerCase()).toContain('sec-websocket-version: 13');
      expect(r.closed).toBe(true);
    });
  }
});
