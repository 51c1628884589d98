import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RequestState } from '../access-log.js';
import { requestBody, type ProtocolRequest, type ProtocolResult } from './common.js';

/** Starts a server that reads each request body with `requestBody` (limit 1 KiB) and reports the outcome. */
async function withServer(fn: (port: number, outcomes: Array<Buffer | ProtocolResult>) => Promise<void>): Promise<void> {
  const outcomes: Array<Buffer | ProtocolResult> = [];
  const server = createServer((raw: IncomingMessage, res) => {
    const req = { raw, state: new RequestState(), requestId: 'r', maxBodyBytes: 1024 } as unknown as ProtocolRequest;
    void requestBody(req).then((r) => {
      outcomes.push(r);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn((server.address() as AddressInfo).port, outcomes);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

function post(port: number, chunks: Buffer[], abort = false): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', () => resolve());
    for (const c of chunks) req.write(c);
    if (abort) setTimeout(() => (req.destroy(), resolve()), 50);
    else req.end();
  });
}

describe('requestBody', () => {
  it('reads a chunked body whole, refuses one over the limit with 413, and settles when the client goes away', async () => {
    await withServer(async (port, outcomes) => {
      await post(port, [Buffer.from('ab'), Buffer.from('cd')]);
      expect(outcomes[0]).toEqual(Buffer.from('abcd'));
      await post(port, [Buffer.alloc(800), Buffer.alloc(800)]);
      expect((outcomes[1] as ProtocolResult).status).toBe(413);
      await post(port, [Buffer.from('partial')], true);
      for (let i = 0; i < 100 && outcomes.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      expect(outcomes[2]).toMatchObject({ status: 499, close: true });
      expect(JSON.parse(String((outcomes[2] as ProtocolResult).body)).code).toBe('CLIENT_ABORTED');
    });
  });
});
