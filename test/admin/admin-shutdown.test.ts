import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminHarness, type AdminHarness } from './harness.js';

// A graceful close of the admin API: a request still arriving on a connection that was open when
// the close began is refused as problem+json with a stable code and `Connection: close`, not with
// Fastify's bare JSON 503.
describe('admin API graceful close', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness('pglite');
  });
  afterAll(async () => {
    await h?.stores.close();
  });

  it('a request completed after the close began is 503 SHUTTING_DOWN problem+json with Connection: close', async () => {
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (raw += d));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    // The head is still arriving when the close begins: the connection is not idle, so it stays open.
    socket.write(`GET /upstreams HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${h.tokens.admin}\r\n`);
    await expect.poll(() => new Promise<number>((resolve) => h.app.server.getConnections((_e, n) => resolve(n))), { timeout: 5_000 }).toBeGreaterThan(0);
    const closing = h.app.close();
    await expect.poll(async () => new Promise<boolean>((resolve) => {
      const probe = connect(port, '127.0.0.1');
      probe.once('connect', () => (probe.destroy(), resolve(false)));
      probe.once('error', () => resolve(true));
    }), { timeout: 5_000 }).toBe(true);
    socket.write('\r\n');
    await Promise.all([closed, closing]);
    expect(raw).toMatch(/^HTTP\/1\.1 503/);
    expect(raw).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(raw).toMatch(/\r\nconnection: close\r\n/i);
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { code: string; status: number };
    expect(body).toMatchObject({ code: 'SHUTTING_DOWN', status: 503 });
  });
});
