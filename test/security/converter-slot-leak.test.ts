import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSync, type ServiceDefinition as LoaderService } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, TestConfigSource, upstreamYaml, yamlResources, type RunningGateway } from '../gateway/harness.js';
import { BOOKSTORE_FILE, BOOKSTORE_PROTO, PROTO_DIR, startBookstore, type BookstoreServer } from '../protocols/grpc-server.js';
import { rawExchange, rawGet, rawPartialUpload } from './raw-client.js';

// Issue #14 class 10: every upstream slot a request takes is given back on every path (success,
// error, client abort, a converter that cannot read the answer). Each upstream here admits ONE
// request at a time (1 connection, no pending requests), so a single leaked slot turns every
// later request into 503 UPSTREAM_OVERLOADED. Each protocol gets many failing requests, then
// good ones must still succeed.

const LIMIT = '  maxConnectionsPerTarget: 1\n  circuitBreaker: { maxPendingRequests: 0 }\n';
const SLOW_MS = 4_000;

let g: RunningGateway;
let plain: Server;
let soap: Server;
let ws: Server;
let grpc: BookstoreServer;
/** Upgraded sockets of the WebSocket upstream (the HTTP server does not track them). */
const upgraded = new Set<Socket>();
const svc = loadSync(BOOKSTORE_FILE, { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: false })['bookstore.v1.Bookstore'] as LoaderService;

const envelope = (inner: string) => `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://example.com/stock"><soap:Body>${inner}</soap:Body></soap:Envelope>`;

/** The SOAP service: the item in the envelope picks a broken answer. */
function soapAnswer(item: string, res: ServerResponse): void {
  const xml = (status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' });
    res.end(body);
  };
  // Well-formed XML that the parser refuses: deeper than its nesting limit, or a reserved name.
  if (item === 'deep') return xml(200, envelope(`${'<m:a>'.repeat(300)}${'</m:a>'.repeat(300)}`));
  if (item === 'proto') return xml(200, envelope('<m:GetPriceResponse><__proto__><m:Price>1</m:Price></__proto__></m:GetPriceResponse>'));
  if (item === 'ctor') return xml(200, envelope('<m:GetPriceResponse><constructor>1</constructor></m:GetPriceResponse>'));
  // A Fault with text content only.
  if (item === 'textfault') return xml(500, envelope('<soap:Fault>it broke</soap:Fault>'));
  if (item === 'notxml') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end('{}');
  }
  if (item === 'malformed') return xml(200, '<soap:Envelope><soap:Body>');
  if (item === 'reset') {
    res.writeHead(200, { 'content-type': 'text/xml', 'content-length': '5000' });
    res.write('<soap:Envelope>');
    return void setTimeout(() => res.socket?.destroy(), 20);
  }
  if (item === 'slow') return void setTimeout(() => xml(200, envelope('<m:GetPriceResponse><m:Price>1</m:Price></m:GetPriceResponse>')), SLOW_MS);
  xml(200, envelope(`<m:GetPriceResponse><m:Price>12</m:Price><m:Item>${item}</m:Item></m:GetPriceResponse>`));
}

/** The HTTP upstream (plain and aggregate routes): the path picks the behaviour. */
function plainAnswer(req: IncomingMessage, res: ServerResponse): void {
  const p = req.url ?? '/';
  if (p.endsWith('/slow')) {
    const t = setTimeout(() => res.end('{"late":true}'), SLOW_MS);
    res.on('close', () => clearTimeout(t));
    return;
  }
  if (p.endsWith('/reset-mid')) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
    res.write('{"a":');
    return void setTimeout(() => res.socket?.destroy(), 20);
  }
  if (p.endsWith('/reset-chunked')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"a":');
    return void setTimeout(() => res.socket?.destroy(), 20);
  }
  if (p.endsWith('/reset-headers')) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.flushHeaders();
    return void setTimeout(() => res.socket?.destroy(), 20);
  }
  if (p.endsWith('/big')) {
    // 4 MiB streamed in 64 KiB pieces: the client goes away long before the end.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let left = 64;
    const piece = Buffer.alloc(65_536, 0x62);
    const more = () => {
      while (left > 0) {
        left--;
        if (!res.write(piece)) return void res.once('drain', more);
      }
      res.end();
    };
    return more();
  }
  if (p.endsWith('/notjson')) {
    res.writeHead(200, { 'content-type': 'text/html' });
    return void res.end('<html></html>');
  }
  if (p.endsWith('/badjson')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end('{"a":');
  }
  if (p.endsWith('/error')) {
    res.writeHead(503, { 'content-type': 'application/json' });
    return void res.end('{}');
  }
  // A request body, when there is one, is read whole before the answer.
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  plain = createServer(plainAnswer);
  soap = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => soapAnswer(/<m:Item>([^<]*)<\/m:Item>/.exec(Buffer.concat(chunks).toString())?.[1] ?? '', res));
  });
  ws = createServer((_req, res) => res.end('not a websocket'));
  ws.on('upgrade', (req, socket: Socket) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    const p = req.url ?? '';
    if (p.endsWith('/garbage')) return void socket.end('garbage\r\n\r\n');
    if (p.endsWith('/slow')) return void socket.resume(); // never answers: the client gives up
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.pipe(socket);
  });
  const [plainOrigin, soapOrigin, wsOrigin] = await Promise.all([listen(plain), listen(soap), listen(ws)]);
  grpc = await startBookstore();
  const indent = (s: string, n: number) => s.replace(/^/gm, ' '.repeat(n));
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('plain', [plainOrigin], LIMIT) +
        upstreamYaml('agg', [plainOrigin], LIMIT) +
        upstreamYaml('soap', [soapOrigin], LIMIT) +
        upstreamYaml('grpc', [grpc.origin], LIMIT) +
        upstreamYaml('grpcweb', [grpc.origin], LIMIT) +
        upstreamYaml('ws', [wsOrigin], LIMIT) +
        `---
apiVersion: tollgate.dev/v1
kind: ProtoDescriptor
metadata: { name: bookstore }
spec:
  files:
    ${BOOKSTORE_FILE}: |
${indent(BOOKSTORE_PROTO, 6)}
` +
        apiYaml('plain', 'basePath: /plain\nroutes: [{ name: all, destination: { upstream: plain } }]') +
        apiYaml('chat', 'basePath: /ws\nroutes: [{ name: all, destination: { upstream: ws } }]') +
        apiYaml(
          'agg',
          `basePath: /agg
routes:
  - name: one
    match: [{ path: { template: "/{kind}" } }]
    aggregate:
      budgetMs: 10000
      backends: [{ name: a, upstream: agg, path: "/{path.kind}" }]`,
        ) +
        apiYaml(
          'prices',
          `basePath: /soap
routes:
  - name: price
    match: [{ path: { template: "/{item}" } }]
    soap:
      upstream: soap
      path: /StockService
      soapAction: "http://example.com/GetPrice"
      responsePath: Envelope.Body.GetPriceResponse
      maxResponseBytes: 100000
      envelope: '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://example.com/stock"><soap:Body><m:GetPrice><m:Item>{path.item}</m:Item></m:GetPrice></soap:Body></soap:Envelope>'`,
        ) +
        apiYaml('books', 'routes: [{ name: rest, match: [{ path: { prefix: /v1 } }], grpc: { upstream: grpc, descriptor: bookstore, useHttpAnnotations: true } }]') +
        apiYaml('web', 'basePath: /grpc\nstripBasePath: true\nroutes: [{ name: web, grpcWeb: { upstream: grpcweb } }]'),
    ),
  );
  g = await startTestGateway(source);
});

afterAll(async () => {
  await g?.close();
  await grpc?.close();
  for (const s of upgraded) s.destroy();
  for (const s of [plain, soap, ws]) {
    s?.closeAllConnections();
    await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
  }
});

/** Several good requests in a row must succeed: the failing ones gave their slot back. */
async function stillServes(good: () => Promise<number>, expected = 200): Promise<void> {
  // The gateway learns of a client reset asynchronously: a moment, far below the upstream's delay.
  await sleep(150);
  for (let i = 0; i < 3; i++) expect(await good()).toBe(expected);
}

const grpcWebFrame = (msg: Buffer): Buffer => {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(msg.length, 1);
  return Buffer.concat([h, msg]);
};
const getBook = svc.GetBook as unknown as { requestSerialize(v: object): Buffer };
const streamBooks = svc.StreamBooks as unknown as { requestSerialize(v: object): Buffer };
const slow = svc.Slow as unknown as { requestSerialize(v: object): Buffer };

describe('SOAP: malformed answers never leak the slot', () => {
  for (const item of ['deep', 'proto', 'ctor', 'textfault', 'notxml', 'malformed', 'reset']) {
    it(`${item}: 502 with a stable code, every time, then good requests still pass`, async () => {
      for (let i = 0; i < 4; i++) {
        const r = await send(g.port, { path: `/soap/${item}` });
        expect(r.status).toBe(502);
        expect(['SOAP_BAD_RESPONSE', 'SOAP_FAULT', 'UPSTREAM_UNAVAILABLE']).toContain(r.json().code);
      }
      await stillServes(async () => (await send(g.port, { path: '/soap/ok' })).status);
    });
  }

  it('the client resets while the SOAP service is slow', async () => {
    for (let i = 0; i < 3; i++) expect((await rawExchange(g.port, rawGet('/soap/slow'), { afterMs: 100 })).ended).toBe('client-reset');
    await stillServes(async () => (await send(g.port, { path: '/soap/ok' })).status);
  });
});

describe('gRPC transcoding', () => {
  it('error statuses, then a client reset during a slow call', async () => {
    for (let i = 0; i < 3; i++) expect((await send(g.port, { path: '/v1/shelves/1/books/404' })).status).toBe(404);
    for (let i = 0; i < 3; i++) expect((await rawExchange(g.port, rawGet(`/v1/slow/${SLOW_MS}`), { afterMs: 100 })).ended).toBe('client-reset');
    await stillServes(async () => (await send(g.port, { path: '/v1/shelves/1/books/2' })).status);
  });
});

describe('gRPC-Web', () => {
  it('client resets before the first message (a slow call, a slow stream), then unary calls', async () => {
    const post = (method: string, msg: Buffer) => {
      const body = grpcWebFrame(msg);
      return Buffer.concat([Buffer.from(`POST /grpc/bookstore.v1.Bookstore/${method} HTTP/1.1\r\nhost: gw.test\r\nconnection: close\r\ncontent-type: application/grpc-web+proto\r\ncontent-length: ${body.length}\r\n\r\n`), body]);
    };
    // Nothing is answered before SLOW_MS: the client gives up first.
    for (let i = 0; i < 3; i++) expect((await rawExchange(g.port, post('Slow', slow.requestSerialize({ ms: SLOW_MS })), { afterMs: 150 })).ended).toBe('client-reset');
    // The first message comes at once, the next after SLOW_MS: the client resets in between.
    for (let i = 0; i < 3; i++) expect((await rawExchange(g.port, post('StreamBooks', streamBooks.requestSerialize({ page_size: 5, shelf: String(SLOW_MS) })), { afterMs: 150 })).ended).toBe('client-reset');
    await stillServes(async () => {
      const r = await send(g.port, { method: 'POST', path: '/grpc/bookstore.v1.Bookstore/GetBook', headers: { 'content-type': 'application/grpc-web+proto' }, body: grpcWebFrame(getBook.requestSerialize({ shelf: '1', book_id: '2' })) });
      return r.headers['grpc-status'] === undefined || r.headers['grpc-status'] === '0' ? r.status : -1;
    });
  });
});

describe('aggregate', () => {
  it('backends that reset, answer non-JSON, broken JSON or 5xx, and a client reset while one is slow', async () => {
    for (const kind of ['reset-mid', 'reset-chunked', 'reset-headers', 'notjson', 'badjson', 'error']) {
      for (let i = 0; i < 2; i++) expect((await send(g.port, { path: `/agg/${kind}` })).status).toBe(502);
    }
    for (let i = 0; i < 3; i++) expect((await rawExchange(g.port, rawGet('/agg/slow'), { afterMs: 100 })).ended).toBe('client-reset');
    await stillServes(async () => (await send(g.port, { path: '/agg/ok' })).status);
  });
});

describe('plain HTTP', () => {
  it('client resets: while the upstream is slow, mid-body, and during the request body upload', async () => {
    for (let i = 0; i < 3; i++) expect((await rawExchange(g.port, rawGet('/plain/slow'), { afterMs: 100 })).ended).toBe('client-reset');
    for (let i = 0; i < 3; i++) expect((await rawExchange(g.port, rawGet('/plain/big'), { afterBytes: 100_000 })).ended).toBe('client-reset');
    for (let i = 0; i < 3; i++) expect((await rawExchange(g.port, rawPartialUpload('/plain/upload', 100_000, 10_000), { afterMs: 100 })).ended).toBe('client-reset');
    await stillServes(async () => (await send(g.port, { path: '/plain/ok' })).status);
  });

  it('upstream resets: mid-body (content-length and chunked) and right after 200 headers', async () => {
    for (const kind of ['reset-mid', 'reset-chunked', 'reset-headers']) {
      for (let i = 0; i < 3; i++) await rawExchange(g.port, rawGet(`/plain/${kind}`));
    }
    await stillServes(async () => (await send(g.port, { path: '/plain/ok' })).status);
  });
});

describe('WebSocket', () => {
  const handshake = (path: string) => rawGet(path, { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' }).replace('connection: close\r\n', '');
  it('garbage answers and clients that give up on a silent upstream, then a handshake succeeds', async () => {
    for (let i = 0; i < 3; i++) await rawExchange(g.port, handshake('/ws/garbage'));
    for (let i = 0; i < 3; i++) expect((await rawExchange(g.port, handshake('/ws/slow'), { afterMs: 100 })).ended).toBe('client-reset');
    await stillServes(async () => (await rawExchange(g.port, handshake('/ws/ok'), { afterBytes: 12 })).status ?? 0, 101);
  });
});
