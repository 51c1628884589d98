import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { buildGateway, type Gateway } from '@tollgate/gateway';
import { migratePglite, openPglite, usageRollups, type Database, type PgliteHandle } from '@tollgate/db';
import { Meter } from '@tollgate/metering';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, eventually, send, TestConfigSource, upstreamYaml, yamlResources } from '../gateway/harness.js';
import { rawExchange, rawGet, rawPartialUpload, type RawResult } from './raw-client.js';

// Issue #14 class 4 and #15 item 3: a request whose response is cut short — the client resets
// (while the upstream works, mid-body, during its upload) or the upstream resets (mid-body,
// right after its status line) — is metered, logged and counted exactly once, with the status
// the client was given (499 when none), the bytes actually sent, and a flag saying who cut it.

const KEY = 'tg_abort_gold_0123456789abcdefghij';
const hash = (k: string) => createHash('sha256').update(k).digest('hex');
const doc = (kind: string, name: string, spec: string) => `---\napiVersion: tollgate.dev/v1\nkind: ${kind}\nmetadata: { name: ${name} }\nspec: ${spec}\n`;
const BIG = 4 * 1024 * 1024;

let up: Server;
/** A WebSocket upstream that never answers the handshake, or answers garbage and closes. */
let wsUp: Server;
const wsSockets = new Set<Socket>();
let gw: Gateway;
let port: number;
let pglite: PgliteHandle;
let db: Database;
let meter: Meter;
const logs: Array<Record<string, unknown>> = [];

function upstream(req: IncomingMessage, res: ServerResponse): void {
  const p = req.url ?? '/';
  if (p.startsWith('/shop/slow')) {
    const t = setTimeout(() => res.end('late'), 5_000);
    res.on('close', () => clearTimeout(t));
    return;
  }
  if (p.startsWith('/shop/big')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG) });
    let left = BIG / 65_536;
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
  if (p.startsWith('/shop/resetmid') || p.startsWith('/shop/resetchunked')) {
    res.writeHead(200, p.startsWith('/shop/resetmid') ? { 'content-type': 'text/plain', 'content-length': '10000' } : { 'content-type': 'text/plain' });
    res.write('x'.repeat(3_000));
    return void setTimeout(() => res.socket?.resetAndDestroy(), 30);
  }
  if (p.startsWith('/shop/resetheaders')) {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10000', etag: '"upstream"' });
    res.flushHeaders();
    return void setTimeout(() => res.socket?.resetAndDestroy(), 30);
  }
  // Uploads and the control: the body is read whole, then answered.
  req.resume();
  req.on('end', () => res.end('ok'));
}

beforeAll(async () => {
  up = createServer(upstream);
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(up.address() as AddressInfo).port}`;
  wsUp = createServer((_req, res) => res.end());
  wsUp.on('upgrade', (req, socket: Socket) => {
    wsSockets.add(socket);
    socket.once('close', () => wsSockets.delete(socket));
    if ((req.url ?? '').includes('garbage')) return void socket.end('garbage\r\n\r\n');
    socket.resume(); // silent: the client gives up
  });
  await new Promise<void>((r) => wsUp.listen(0, '127.0.0.1', r));
  const wsOrigin = `http://127.0.0.1:${(wsUp.address() as AddressInfo).port}`;
  const routes = ['slow', 'big', 'upload', 'resetmid', 'resetchunked', 'resetheaders', 'ok'].map((n) => `  - { name: ${n}, match: [{ path: { prefix: /${n} } }], destination: { upstream: svc } }`).join('\n');
  const resources =
    upstreamYaml('svc', [origin]) +
    upstreamYaml('ws', [wsOrigin]) +
    apiYaml('chat', 'basePath: /chat\npolicies: [{ name: key-auth }]\nroutes: [{ name: ws, destination: { upstream: ws } }]') +
    apiYaml('shop', `version: v1\nbasePath: /shop\npolicies: [{ name: key-auth }]\nroutes:\n${routes}`) +
    doc('Consumer', 'gold', `{ keys: [{ name: k, hash: ${hash(KEY)} }] }`) +
    doc('Plan', 'gold', '{ billing: { currency: EUR } }') +
    doc('Subscription', 'gold-shop', '{ consumer: gold, api: shop, plan: gold, start: "2020-01-01T00:00:00Z" }');
  pglite = await openPglite();
  await migratePglite(pglite.db);
  db = pglite.db as unknown as Database;
  meter = new Meter({ db, logger: pino({ level: 'silent' }), intervalMs: 60_000 });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  gw = buildGateway({ source: new TestConfigSource(yamlResources(resources)), logger: pino({ level: 'info' }, sink), options: { configPollMs: 60_000, metrics: true }, meter });
  await gw.ready;
  await gw.proxy.listen({ host: '127.0.0.1', port: 0 });
  port = (gw.proxy.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await gw?.close();
  await meter?.close();
  up?.closeAllConnections();
  for (const sock of wsSockets) sock.destroy();
  await new Promise<void>((r) => (wsUp ? wsUp.close(() => r()) : r()));
  await new Promise<void>((r) => (up ? up.close(() => r()) : r()));
  await pglite?.close();
});

const auth = { apikey: KEY };
const accessLines = (id: string) => logs.filter((l) => l.type === 'access' && l.requestId === id);

/** The one access line of a request (waits for it: the account runs when the response closes). */
async function lineOf(id: string): Promise<Record<string, unknown>> {
  await eventually(() => accessLines(id).length > 0);
  return accessLines(id)[0] as Record<string, unknown>;
}

/** The value of a sample whose line contains every `label="value"` given. */
async function sample(name: string, labels: Record<string, string>): Promise<number> {
  const body = (await gw.status.inject({ method: 'GET', url: '/metrics' })).body;
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const lines = body.split('\n').filter((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Body bytes after the head of a raw answer. */
function bodyOf(r: RawResult): Buffer {
  const i = r.data.indexOf('\r\n\r\n');
  return i === -1 ? Buffer.alloc(0) : r.data.subarray(i + 4);
}

describe('a response cut short is metered, logged and counted once, flagged', () => {
  it('the client resets while the upstream is still working: 499, aborted by the client', async () => {
    const r = await rawExchange(port, rawGet('/shop/slow', { ...auth, 'x-request-id': 'abort-slow' }), { afterMs: 150 });
    expect(r.status).toBeNull();
    const line = await lineOf('abort-slow');
    expect(line).toMatchObject({ status: 499, aborted: 'client', code: 'CLIENT_ABORTED', route: 'slow', consumer: 'gold' });
    expect(typeof line.upstream).toBe('string');
    expect(line.latencyMs as number).toBeGreaterThanOrEqual(100);
    expect(await sample('tollgate_http_requests_aborted_total', { route: 'slow', by: 'client' })).toBe(1);
    expect(await sample('tollgate_http_requests_total', { route: 'slow', code: '499' })).toBe(1);
  });

  it('the client resets mid-body: the upstream status, the bytes actually sent', async () => {
    const r = await rawExchange(port, rawGet('/shop/big', { ...auth, 'x-request-id': 'abort-big' }), { afterBytes: 200_000 });
    expect(r.status).toBe(200);
    const line = await lineOf('abort-big');
    expect(line).toMatchObject({ status: 200, aborted: 'client', route: 'big' });
    expect(line.code).toBeUndefined();
    // More than the client read before resetting, far less than the whole body.
    expect(line.bytesOut as number).toBeGreaterThanOrEqual(200_000);
    expect(line.bytesOut as number).toBeLessThan(BIG);
    expect(await sample('tollgate_http_requests_aborted_total', { route: 'big', by: 'client' })).toBe(1);
    expect(await sample('tollgate_http_requests_total', { route: 'big', code: '200', source: 'upstream' })).toBe(1);
  });

  it('the client resets during its request body upload', async () => {
    const r = await rawExchange(port, rawPartialUpload('/shop/upload', 200_000, 20_000, { ...auth, 'x-request-id': 'abort-upload' }), { afterMs: 150 });
    expect(r.status).toBeNull();
    const line = await lineOf('abort-upload');
    expect(line).toMatchObject({ status: 499, aborted: 'client', code: 'CLIENT_ABORTED', route: 'upload' });
    expect(await sample('tollgate_http_requests_aborted_total', { route: 'upload', by: 'client' })).toBe(1);
  });

  for (const [name, framing] of [
    ['resetmid', 'Content-Length'],
    ['resetchunked', 'chunked'],
  ] as const) {
    it(`the upstream resets mid-body (${framing}): the client connection is cut, never a second status`, async () => {
      const id = `abort-${name}`;
      const r = await rawExchange(port, rawGet(`/shop/${name}`, { ...auth, 'x-request-id': id }));
      expect(r.status).toBe(200);
      const text = r.data.toString('latin1');
      // One status line only, and a truncated body: fewer bytes than declared, or no last chunk.
      expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
      if (framing === 'chunked') expect(text.endsWith('0\r\n\r\n')).toBe(false);
      else expect(bodyOf(r).length).toBeLessThan(10_000);
      const line = await lineOf(id);
      expect(line).toMatchObject({ status: 200, aborted: 'upstream', route: name });
      expect(line.bytesOut as number).toBeGreaterThan(3_000);
      expect(await sample('tollgate_http_requests_aborted_total', { route: name, by: 'upstream' })).toBe(1);
    });
  }

  it('the upstream resets right after its 200 headers: 502 UPSTREAM_UNAVAILABLE, not 500, without the upstream headers', async () => {
    const r = await send(port, { path: '/shop/resetheaders', headers: { ...auth, 'x-request-id': 'abort-headers' } });
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.headers.etag).toBeUndefined();
    expect(r.json()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 502 });
    const line = await lineOf('abort-headers');
    expect(line).toMatchObject({ status: 502, aborted: 'upstream', code: 'UPSTREAM_UNAVAILABLE', route: 'resetheaders' });
    expect(await sample('tollgate_http_requests_aborted_total', { route: 'resetheaders', by: 'upstream' })).toBe(1);
    expect(await sample('tollgate_http_requests_total', { route: 'resetheaders', code: '500' })).toBe(0);
  });

  const handshake = (path: string, id: string) => rawGet(path, { ...auth, 'x-request-id': id, upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' }).replace('connection: close\r\n', '');

  it('a WebSocket client that gives up before the upstream answers its handshake: 499, aborted by the client', async () => {
    const r = await rawExchange(port, handshake('/chat/silent', 'abort-ws'), { afterMs: 150 });
    expect(r.ended).toBe('client-reset');
    const line = await lineOf('abort-ws');
    expect(line).toMatchObject({ websocket: true, status: 499, aborted: 'client', code: 'CLIENT_ABORTED', route: 'ws', consumer: 'gold' });
    expect(await sample('tollgate_http_requests_aborted_total', { api: 'chat', by: 'client' })).toBe(1);
  });

  it('a WebSocket upstream that closes without a handshake status: a gateway 502, once', async () => {
    await rawExchange(port, handshake('/chat/garbage', 'ws-garbage'));
    const line = await lineOf('ws-garbage');
    expect(line).toMatchObject({ websocket: true, status: 502, code: 'UPSTREAM_UNAVAILABLE', route: 'ws' });
    expect(line.aborted).toBeUndefined();
  });

  it('a complete answer is not flagged', async () => {
    const r = await send(port, { path: '/shop/ok', headers: { ...auth, 'x-request-id': 'complete-ok' } });
    expect(r.status).toBe(200);
    const line = await lineOf('complete-ok');
    expect(line.aborted).toBeUndefined();
    expect(await sample('tollgate_http_requests_aborted_total', { route: 'ok' })).toBe(0);
  });

  it('each request exactly once in the access log, the metrics and the usage rollups; billable when the upstream answered', async () => {
    // Late events (the slow upstream's answer time, the upload's remainder) must not add a second record.
    await new Promise((r) => setTimeout(r, 300));
    const ids = ['abort-slow', 'abort-big', 'abort-upload', 'abort-resetmid', 'abort-resetchunked', 'abort-headers', 'complete-ok', 'abort-ws', 'ws-garbage'];
    for (const id of ids) expect(accessLines(id), id).toHaveLength(1);
    expect(await sample('tollgate_http_requests_total', { api: 'shop' })).toBe(ids.length - 2);
    expect(await sample('tollgate_http_requests_total', { api: 'chat' })).toBe(2);
    await meter.flush(true);
    const rows = await db.select().from(usageRollups);
    const view = rows.map((r) => [r.route, r.statusClass, r.source, r.billable, r.requests].join(' ')).sort();
    // (The WebSocket rows are under subscription-less usage: the plan's subscription is to shop only.)
    expect(view).toEqual(
      [
        // The upstream answered (the client stopped reading, or the upstream cut its own body): billable.
        'big 2xx upstream true 1',
        'resetmid 2xx upstream true 1',
        'resetchunked 2xx upstream true 1',
        'ok 2xx upstream true 1',
        // No answer reached the client: the gateway's 499 / 502, not billable by default.
        'slow 4xx gateway false 1',
        'upload 4xx gateway false 1',
        'resetheaders 5xx gateway false 1',
        'ws 4xx gateway false 1',
        'ws 5xx gateway false 1',
      ].sort(),
    );
    const big = rows.find((r) => r.route === 'big');
    expect(big?.bytesOut).toBe((await lineOf('abort-big')).bytesOut);
  });
});
