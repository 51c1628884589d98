import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from './harness.js';

let up: RecordingUpstream;
let g: RunningGateway;
const LIMIT = 64 * 1024;

beforeAll(async () => {
  up = await startUpstream('up', (_req, res, body) => res.end(createHash('sha256').update(body).digest('hex')));
  g = await startTestGateway(new TestConfigSource(yamlResources(upstreamYaml('u', [up.origin]) + apiYaml('a', 'routes: [{ name: r, destination: { upstream: u } }]'))), { maxBodyBytes: LIMIT });
});
afterAll(async () => {
  await g.close();
  await up.close();
});

async function* chunks(total: number, size: number, data: Buffer): AsyncGenerator<Buffer> {
  for (let off = 0; off < total; off += size) {
    yield data.subarray(off, Math.min(total, off + size));
    await new Promise((r) => setImmediate(r));
  }
}

describe('request bodies', () => {
  it('streams a 1 MiB chunked POST intact (under a larger limit)', async () => {
    const big = await startTestGateway(new TestConfigSource(yamlResources(upstreamYaml('u', [up.origin]) + apiYaml('a', 'routes: [{ name: r, destination: { upstream: u } }]'))));
    try {
      const data = randomBytes(1024 * 1024);
      const r = await send(big.port, { method: 'POST', path: '/upload', headers: { 'content-type': 'application/octet-stream' }, body: chunks(data.length, 16 * 1024, data) });
      expect(r.status).toBe(200);
      expect(r.body).toBe(createHash('sha256').update(data).digest('hex'));
      expect(up.received.at(-1)?.body.length).toBe(data.length);
      const withLength = await send(big.port, { method: 'PUT', path: '/upload', headers: { 'content-type': 'application/json', 'content-length': String(data.length) }, body: data });
      expect(withLength.body).toBe(createHash('sha256').update(data).digest('hex'));
    } finally {
      await big.close();
    }
  });

  it('answers 413 for a Content-Length over the limit without contacting the upstream', async () => {
    const before = up.started;
    const data = Buffer.alloc(LIMIT + 1, 1);
    const r = await send(g.port, { method: 'POST', path: '/cl', headers: { 'content-length': String(data.length) }, body: data }).catch((e: unknown) => e);
    if (r instanceof Error) throw r;
    expect((r as { status: number }).status).toBe(413);
    expect((r as { json(): unknown }).json()).toMatchObject({ code: 'BODY_TOO_LARGE', status: 413 });
    expect(up.started).toBe(before);
  });

  it('cuts a chunked body that passes the limit with 413; the upstream never receives it whole', async () => {
    const before = up.received.length;
    const data = randomBytes(LIMIT * 4);
    const r = await send(g.port, { method: 'POST', path: '/chunked', body: chunks(data.length, 8 * 1024, data) }).catch((e: unknown) => e);
    if (r instanceof Error) {
      // The gateway may close the connection while the client is still writing; that is also a refusal.
      expect((r as NodeJS.ErrnoException).code).toMatch(/EPIPE|ECONNRESET/);
    } else {
      expect((r as { status: number }).status).toBe(413);
      expect((r as { json(): unknown }).json()).toMatchObject({ code: 'BODY_TOO_LARGE' });
    }
    await new Promise((res) => setTimeout(res, 100));
    expect(up.received.slice(before).filter((x) => x.body.length >= data.length)).toHaveLength(0);
  });

  it('a body exactly at the limit passes', async () => {
    const data = randomBytes(LIMIT);
    const r = await send(g.port, { method: 'POST', path: '/exact', body: chunks(data.length, 4096, data) });
    expect(r.status).toBe(200);
    expect(r.body).toBe(createHash('sha256').update(data).digest('hex'));
  });
});
