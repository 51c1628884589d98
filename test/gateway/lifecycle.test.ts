import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, eventually, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream } from './harness.js';

let a: RecordingUpstream;
let b: RecordingUpstream;

beforeAll(async () => {
  a = await startUpstream('a', (req, res) => {
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? '0');
    setTimeout(() => res.end(`a ${req.url}`), ms);
  });
  b = await startUpstream('b');
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});

const config = (origin: string, route = '/') =>
  yamlResources(upstreamYaml('u', [origin]) + apiYaml('api', `routes: [{ name: r, match: [{ path: { prefix: ${route} } }], destination: { upstream: u } }]`));

describe('snapshot lifecycle', () => {
  it('hot-swaps to a new config on a watch notification and refuses one that does not compile', async () => {
    const source = new TestConfigSource(config(a.origin));
    const g = await startTestGateway(source, { configPollMs: 60_000 });
    try {
      expect((await send(g.port, { path: '/x' })).body).toBe('a /x');
      expect(g.gw.currentVersion()).toBe(1);
      const v2 = source.set(config(b.origin, '/only'));
      await eventually(() => g.gw.currentVersion() === v2);
      expect((await send(g.port, { path: '/only/x' })).body).toBe('b GET /only/x');
      expect((await send(g.port, { path: '/x' })).status).toBe(404);
      // A dangling upstream reference: the compile fails, version 2 keeps serving.
      source.set(yamlResources(apiYaml('api', 'routes: [{ name: r, destination: { upstream: missing } }]')));
      await eventually(() => g.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('config rejected')));
      expect(g.gw.currentVersion()).toBe(v2);
      expect((await send(g.port, { path: '/only/y' })).body).toBe('b GET /only/y');
      const rejected = g.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('config rejected'));
      expect(rejected?.issues).toEqual([expect.objectContaining({ code: 'dangling_reference', resource: 'Api/api' })]);
    } finally {
      await g.close();
    }
  });

  it('picks up a change by the periodic version check when no notification arrives', async () => {
    const source = new TestConfigSource(config(a.origin));
    const g = await startTestGateway(source, { configPollMs: 100 });
    try {
      const v = source.setSilently(config(b.origin));
      await eventually(() => g.gw.currentVersion() === v);
      expect((await send(g.port, { path: '/p' })).body).toBe('b GET /p');
    } finally {
      await g.close();
    }
  });

  it('answers 503 NOT_READY and readyz 503 until the first snapshot is installed', async () => {
    const source = new TestConfigSource(config(a.origin));
    let open!: () => void;
    source.gate = new Promise((r) => (open = r));
    const g = await startTestGateway(source, {}, false);
    try {
      const r = await send(g.port, { path: '/x' });
      expect(r.status).toBe(503);
      expect(r.json()).toMatchObject({ code: 'NOT_READY', status: 503 });
      expect((await send(g.statusPort, { path: '/readyz' })).status).toBe(503);
      expect((await send(g.statusPort, { path: '/healthz' })).json()).toEqual({ status: 'ok' });
      source.gate = null;
      open();
      await g.gw.ready;
      expect((await send(g.statusPort, { path: '/readyz' })).status).toBe(200);
      expect((await send(g.port, { path: '/x' })).status).toBe(200);
    } finally {
      await g.close();
    }
  });

  it('close() flips readyz to 503 at once while an in-flight slow request completes', async () => {
    const source = new TestConfigSource(config(a.origin));
    const g = await startTestGateway(source);
    const inFlight = send(g.port, { path: '/slow?ms=600' });
    await eventually(() => a.started > 0 && a.received.some((r) => r.url === '/slow?ms=600'));
    const closing = g.close();
    const ready = await send(g.statusPort, { path: '/readyz' });
    expect(ready.status).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'shutting_down' });
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.body).toBe('a /slow?ms=600');
    await closing;
    await expect(send(g.port, { path: '/x' })).rejects.toThrow();
  });

  it('close(): in-flight responses carry Connection: close; a request completed after the listener closed is 503 SHUTTING_DOWN problem+json', async () => {
    const g = await startTestGateway(new TestConfigSource(config(a.origin)));
    const open = (): { raw: () => string; socket: Socket; closed: Promise<void> } => {
      const socket = connect(g.port, '127.0.0.1');
      let raw = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (raw += d));
      socket.on('error', () => undefined);
      return { raw: () => raw, socket, closed: new Promise<void>((resolve) => socket.on('close', () => resolve())) };
    };
    // One exchange in flight when close() begins; one request whose head is still arriving then
    // (the connection is not idle, so it is not closed with the idle ones).
    const slow = open();
    slow.socket.write('GET /drain-slow?ms=800 HTTP/1.1\r\nhost: x\r\n\r\n');
    const late = open();
    late.socket.write('GET /after-close HTTP/1.1\r\nhost: x\r\n');
    await eventually(() => a.received.some((r) => r.url === '/drain-slow?ms=800'));
    const closing = g.close();
    // The listener is closed: new connections are refused.
    await eventually(async () => send(g.port, { path: '/x' }).then(() => false, () => true));
    late.socket.write('\r\n');
    await Promise.all([slow.closed, late.closed, closing]);
    expect(slow.raw()).toMatch(/^HTTP\/1\.1 200/);
    expect(slow.raw()).toMatch(/\r\nconnection: close\r\n/i);
    expect(late.raw()).toMatch(/^HTTP\/1\.1 503/);
    expect(late.raw()).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(late.raw()).toMatch(/\r\nconnection: close\r\n/i);
    expect(late.raw()).toMatch(/"code":"SHUTTING_DOWN"/);
    expect(a.received.some((r) => r.url === '/after-close')).toBe(false);
  });

  it('close() cuts requests still running after the drain timeout', async () => {
    const g = await startTestGateway(new TestConfigSource(config(a.origin)), { drainTimeoutMs: 200 });
    const inFlight = send(g.port, { path: '/slow?ms=5000' }).then(
      (r) => r.status,
      (e: NodeJS.ErrnoException) => e.code,
    );
    await eventually(() => a.received.some((r) => r.url === '/slow?ms=5000'));
    const t0 = Date.now();
    await g.close();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(await inFlight).toBe('ECONNRESET');
  });

  it('an empty config is a valid snapshot: everything is 404', async () => {
    const g = await startTestGateway(new TestConfigSource([]));
    try {
      expect((await send(g.statusPort, { path: '/readyz' })).status).toBe(200);
      expect((await send(g.port, { path: '/' })).json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    } finally {
      await g.close();
    }
  });
});
