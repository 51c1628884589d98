import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyLimiter } from './body-limit.js';
import { classifyUpstreamError, UpstreamError } from './errors.js';
import { forward } from './forward.js';
import { createUndiciPool, PoolRegistry } from './pool-registry.js';

let server: Server;
let origin: string;
const received: { body: number }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      received.push({ body: n });
      if (req.url === '/slow') setTimeout(() => res.end('late'), 500);
      else res.end(`${req.method} ${req.url} ${n}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const settings = { connections: 4, connectTimeoutMs: 1000, headersTimeoutMs: 5000, bodyTimeoutMs: 5000 };

describe('forward', () => {
  it('streams a request body and returns a streamed response', async () => {
    const pool = createUndiciPool(origin, settings);
    const body = Readable.from([Buffer.alloc(1000, 1), Buffer.alloc(24, 2)]);
    const res = await forward(pool, { method: 'POST', path: '/x?y=1', headers: { 'content-length': '1024' }, body });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('POST /x?y=1 1024');
    await pool.close();
  });

  it('maps connection refused to 502 UPSTREAM_UNAVAILABLE', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const pool = createUndiciPool(`http://127.0.0.1:${port}`, settings);
    const err = await forward(pool, { method: 'GET', path: '/', headers: {}, body: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 502 });
    await pool.close();
  });

  it('maps a response-headers timeout (route deadline) to 504 UPSTREAM_TIMEOUT', async () => {
    const pool = createUndiciPool(origin, settings);
    const t0 = Date.now();
    const err = await forward(pool, { method: 'GET', path: '/slow', headers: {}, body: null, headersDeadlineMs: 100 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UPSTREAM_TIMEOUT', status: 504 });
    expect(Date.now() - t0).toBeLessThan(450);
    await pool.destroy();
  });

  it('maps a body cut by the limiter to 413 BODY_TOO_LARGE', async () => {
    const pool = createUndiciPool(origin, settings);
    const limiter = new BodyLimiter(100);
    Readable.from([Buffer.alloc(60), Buffer.alloc(60)]).pipe(limiter);
    const err = await forward(pool, { method: 'POST', path: '/big', headers: {}, body: limiter }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BODY_TOO_LARGE', status: 413 });
    expect(limiter.bytes).toBe(120);
    await pool.destroy();
  });

  it('a cancelled exchange (the client went away) is CLIENT_ABORTED, with or without a deadline', async () => {
    const pool = createUndiciPool(origin, settings);
    const gone = Object.assign(new Error('the client closed the connection'), { code: 'ECONNABORTED' });
    for (const headersDeadlineMs of [undefined, 5_000]) {
      const ac = new AbortController();
      const t0 = performance.now();
      setTimeout(() => ac.abort(gone), 50);
      const err = await forward(pool, { method: 'GET', path: '/slow', headers: {}, body: null, headersDeadlineMs, signal: ac.signal }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpstreamError);
      expect((err as UpstreamError).code).toBe('CLIENT_ABORTED');
      expect(performance.now() - t0).toBeLessThan(400);
    }
    // Already cancelled: never sent.
    const ac = new AbortController();
    ac.abort(gone);
    expect(((await forward(pool, { method: 'GET', path: '/x', headers: {}, body: null, headersDeadlineMs: 1_000, signal: ac.signal }).catch((e: unknown) => e)) as UpstreamError).code).toBe('CLIENT_ABORTED');
    await pool.destroy();
  });

  it('works with pools handed out by the registry', async () => {
    const reg = new PoolRegistry();
    const pool = [...reg.sync([{ origin, settings }]).values()][0];
    if (!pool) throw new Error('no pool');
    const res = await forward(pool, { method: 'GET', path: '/r', headers: {}, body: null });
    expect(await res.body.text()).toBe('GET /r 0');
    await reg.closeAll();
  });
});

describe('classifyUpstreamError', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }, 'UPSTREAM_UNAVAILABLE'],
    [{ code: 'ECONNRESET' }, 'UPSTREAM_UNAVAILABLE'],
    [{ code: 'ENOTFOUND' }, 'UPSTREAM_UNAVAILABLE'],
    [{ code: 'UND_ERR_SOCKET' }, 'UPSTREAM_UNAVAILABLE'],
    [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'UPSTREAM_TIMEOUT'],
    [{ code: 'UND_ERR_HEADERS_TIMEOUT' }, 'UPSTREAM_TIMEOUT'],
    [{ code: 'UND_ERR_ABORTED' }, 'CLIENT_ABORTED'],
  ])('%o -> %s', (raw, code) => {
    expect(classifyUpstreamError(Object.assign(new Error('x'), raw)).code).toBe(code);
  });
});
