import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { apiYaml, proxyGet } from './fixtures.js';

const TOKEN = 'e2e-admin-token-0123456789abcdef';

// SIGTERM: readiness turns 503 at once (so a load balancer stops sending), the request in flight
// finishes, then the process exits 0.
describe('graceful shutdown on SIGTERM', () => {
  let db: TestDatabase;
  let slow: Server;
  let slowUrl: string;
  let tg: TollgateProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    slow = createServer((req, res) => {
      req.resume();
      setTimeout(() => res.end('slow-done'), 1500);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    tg = await startTollgateProcess({ env: { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN } });
    const res = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: apiYaml(slowUrl) });
    expect(res.status).toBe(200);
  });

  afterAll(async () => {
    await tg?.stop();
    slow?.closeAllConnections();
    await new Promise<void>((r) => slow?.close(() => r()));
    await db?.drop();
  });

  it('turns readiness 503, finishes the in-flight request, and exits 0', async () => {
    await waitUntil(async () => (await fetch(`${tg.statusUrl}/readyz`)).status === 200, 2000);
    // Wait until the route is live (the apply's notification may take a few ms).
    await waitUntil(async () => (await proxyGet(tg.proxyUrl, '/orders/warm', 'api.example.com')).status === 200, 5000);
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${tg.proxyUrl}/orders/slow`, { headers: { host: 'api.example.com' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((r) => setTimeout(r, 300));
    tg.child.kill('SIGTERM');
    const flipped = await waitUntil(async () => (await fetch(`${tg.statusUrl}/readyz`)).status === 503, 1000, 10);
    expect(flipped).toBeLessThan(1000);
    const done = await inFlight;
    expect(done).toEqual({ status: 200, body: 'slow-done' });
    expect(await tg.exited).toBe(0);
  });
});
