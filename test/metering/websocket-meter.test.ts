import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { buildGateway, type Gateway } from '@tollgate/gateway';
import { migratePglite, openPglite, usageRollups, type Database, type PgliteHandle } from '@tollgate/db';
import { Meter } from '@tollgate/metering';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, TestConfigSource, upstreamYaml, yamlResources } from '../gateway/harness.js';
import { waitUntil } from '../support/tollgate-process.js';

const KEY = 'tg_ws_meter_key_0123456789abcdefghij';
const hash = (k: string) => createHash('sha256').update(k).digest('hex');

// WebSocket sessions are routed requests too: each one is metered once, when it ends, with the
// upstream's handshake status, the session's bytes and its consumer; a refused handshake counts
// as a gateway answer.
describe('WebSocket sessions are metered', () => {
  let ws: Server;
  let gw: Gateway;
  let pglite: PgliteHandle;
  let db: Database;
  let meter: Meter;
  let port: number;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    ws = createServer((_req, res) => res.end('not a websocket'));
    ws.on('upgrade', (req, socket: Socket) => {
      const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.pipe(socket);
    });
    await new Promise<void>((r) => ws.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(ws.address() as AddressInfo).port}`;
    pglite = await openPglite();
    await migratePglite(pglite.db);
    db = pglite.db as unknown as Database;
    meter = new Meter({ db, logger: pino({ level: 'silent' }), intervalMs: 60_000 });
    const yaml =
      upstreamYaml('ws', [origin]) +
      apiYaml('chat', `basePath: /chat\nstripBasePath: true\npolicies: [{ name: key-auth }]\nroutes:\n  - { name: live, destination: { upstream: ws }, metering: { units: 3, metric: sessions } }`) +
      `---\napiVersion: tollgate.dev/v1\nkind: Consumer\nmetadata: { name: ann }\nspec: { keys: [{ name: k, hash: ${hash(KEY)} }] }\n`;
    // Access-log lines are captured from the gateway's logger.
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    gw = buildGateway({ source: new TestConfigSource(yamlResources(yaml)), logger: pino({ level: 'info' }, sink), options: { configPollMs: 60_000, metrics: true, accessLog: true }, meter });
    await gw.ready;
    await gw.proxy.listen({ host: '127.0.0.1', port: 0 });
    port = (gw.proxy.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await gw?.close();
    await meter?.close();
    ws.closeAllConnections();
    await new Promise<void>((r) => ws.close(() => r()));
    await pglite?.close();
  });

  function handshake(key: string | null): Promise<{ socket: Socket; head: string }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET /chat/room HTTP/1.1\r\nHost: chat.test\r\n${key !== null ? `apikey: ${key}\r\n` : ''}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      let buf = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        resolve({ socket, head: buf.subarray(0, end).toString() });
      };
      socket.on('data', onData);
      socket.on('error', reject);
    });
  }

  it('a session counts once when it ends (meter, metrics, access log: upstream 101, units, consumer, bytes); a refused handshake as a gateway 401', async () => {
    const { socket, head } = await handshake(KEY);
    expect(head).toMatch(/^HTTP\/1\.1 101/);
    // Nothing is recorded while the session is open.
    expect(meter.backlogRequests()).toBe(0);
    const echoed = new Promise<void>((r) => socket.once('data', () => r()));
    socket.write(Buffer.alloc(64, 1));
    await echoed;
    socket.end();
    await waitUntil(async () => meter.backlogRequests() === 1, 5_000);
    const refused = await handshake(null);
    expect(refused.head).toMatch(/^HTTP\/1\.1 401/);
    refused.socket.destroy();
    await waitUntil(async () => meter.backlogRequests() === 2, 5_000);
    await meter.flush(true);
    const rows = await db.select().from(usageRollups);
    const view = rows.map((r) => [r.consumer, r.api, r.route, r.statusClass, r.source, r.metric, r.requests, r.units].join(' ')).sort();
    expect(view).toEqual(['ann chat live 1xx upstream sessions 1 3', ' chat live 4xx gateway sessions 1 3'].sort());
    const session = rows.find((r) => r.statusClass === '1xx');
    // The handshake plus 64 bytes each way went through.
    expect(session?.bytesIn).toBeGreaterThan(64);
    expect(session?.bytesOut).toBeGreaterThan(64);

    // The same two in Prometheus (one GET each, no latency observation) and in the access log.
    const metrics = (await gw.status.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^tollgate_http_requests_total\{[^}]*route="live"[^}]*code="101"[^}]*source="upstream"[^}]*\} 1$/m);
    expect(metrics).toMatch(/^tollgate_http_requests_total\{[^}]*route="live"[^}]*code="401"[^}]*source="gateway"[^}]*\} 1$/m);
    const access = lines.filter((l) => l.type === 'access' && l.websocket === true);
    expect(access.map((l) => [l.status, l.consumer, l.route, l.code ?? null])).toEqual([
      [101, 'ann', 'live', null],
      [401, null, 'live', 'AUTH_REQUIRED'],
    ]);
    expect(access[0]?.upstream).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The key never reaches the log.
    expect(JSON.stringify(lines)).not.toContain(KEY);
  });
});
