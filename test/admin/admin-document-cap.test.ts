import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startAdminHarness, stream, upstreamJson, upstreamYaml, type AdminHarness } from './harness.js';
import { expectProblem } from './problem-assertions.js';

// The admin API's size limits are enforced while the body is read and parsed, not afterwards:
// bytes by the body parser (413 as soon as the limit is passed), documents by the YAML/JSON
// document iteration (413 at the first document past the cap).
const CAP = 5;
const BODY_LIMIT = 64 * 1024;

describe.each(BACKENDS)('admin body and document limits (%s)', (backend) => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness(backend, { maxDocuments: CAP, bodyLimit: BODY_LIMIT });
  });
  afterAll(async () => {
    await h?.close();
  });

  const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const yamlList = (items: string[]) => `apiVersion: v1\nkind: List\nitems:\n${items.map((n) => `  - ${JSON.stringify(upstreamJson(n))}\n`).join('')}`;
  const post = (payload: string | object, contentType: string, headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'POST', url: '/config', headers: { ...h.auth(), 'content-type': contentType, ...headers }, payload: payload as string });

  async function expectRefusedForCount(res: Awaited<ReturnType<typeof post>>, document: number) {
    const body = expectProblem(res, 413, 'PAYLOAD_TOO_LARGE', '/config');
    expect(body.errors).toEqual([expect.objectContaining({ code: 'too_many_documents', document })]);
    expect(await h.exportYaml()).not.toContain('name: over');
  }

  it('accepts exactly the cap in every form', async () => {
    expect((await post(stream(...names('yaml', CAP).map((n) => upstreamYaml(n))), 'application/yaml')).statusCode).toBe(200);
    expect((await post(yamlList(names('ylist', CAP)), 'application/yaml')).statusCode).toBe(200);
    expect((await post(names('json', CAP).map((n) => upstreamJson(n)), 'application/json')).statusCode).toBe(200);
    expect((await post({ apiVersion: 'v1', kind: 'List', items: names('jlist', CAP).map((n) => upstreamJson(n)) }, 'application/json')).statusCode).toBe(200);
  });

  it('refuses multi-document YAML one past the cap (413 too_many_documents), storing nothing', async () => {
    await expectRefusedForCount(await post(stream(...names('over', CAP + 1).map((n) => upstreamYaml(n))), 'application/yaml'), CAP);
    // Counting stops at the cap: a broken document after it is never reached.
    await expectRefusedForCount(await post(`${stream(...names('over', CAP + 1).map((n) => upstreamYaml(n)))}---\nkind: [unclosed\n`, 'application/yaml'), CAP);
  });

  it('refuses a YAML kind: List past the cap, and documents before a List count too', async () => {
    await expectRefusedForCount(await post(yamlList(names('over', CAP + 1)), 'application/yaml'), 0);
    await expectRefusedForCount(await post(stream(upstreamYaml('over-a'), upstreamYaml('over-b'), yamlList(names('over', CAP - 1))), 'application/yaml'), 2);
  });

  it('refuses a JSON array and a JSON List past the cap', async () => {
    await expectRefusedForCount(await post(names('over', CAP + 1).map((n) => upstreamJson(n)), 'application/json'), CAP);
    await expectRefusedForCount(await post({ apiVersion: 'v1', kind: 'List', items: names('over', CAP + 1).map((n) => upstreamJson(n)) }, 'application/json'), CAP);
  });

  it('refuses a body over the byte limit with 413, declared or streamed, without reading it to its end', async () => {
    const big = `# ${'x'.repeat(BODY_LIMIT)}\n`;
    expectProblem(await post(big, 'application/yaml'), 413, 'PAYLOAD_TOO_LARGE');
    expectProblem(await post(JSON.stringify([{ pad: 'x'.repeat(BODY_LIMIT) }]), 'application/json'), 413, 'PAYLOAD_TOO_LARGE');
    // A streamed (chunked) body with no declared length, far larger than the limit, to the
    // listening server: the 413 comes once the limit is passed, before the client is done
    // sending (Fastify counts bytes as they arrive; what follows is discarded, not buffered).
    const total = 256 * 1024 * 1024;
    const { status, sent } = await streamUntilAnswered(h, total);
    expect([413, 0]).toContain(status);
    expect(sent).toBeLessThan(total);
  });
});

describe('default document cap', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness('pglite');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is 10,000 documents: 10,001 JSON documents are refused before any is validated', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/config', headers: h.auth(), payload: Array.from({ length: 10_001 }, () => ({ kind: 'Nonsense' })) });
    const body = expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(body.errors).toEqual([expect.objectContaining({ code: 'too_many_documents', document: 10_000 })]);
  });
});

/** Sends a chunked YAML body of up to `total` bytes, stopping once the server has answered. */
async function streamUntilAnswered(h: AdminHarness, total: number): Promise<{ status: number; sent: number }> {
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = h.app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/config', headers: { ...h.auth(), 'content-type': 'application/yaml', 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode ?? 0, sent });
    });
    // The server may close the connection right after its 413 while the client is still writing:
    // the client then sees EPIPE/ECONNRESET instead of the response. Either way it stopped reading.
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (answered) return;
      answered = true;
      if (e.code === 'EPIPE' || e.code === 'ECONNRESET') resolve({ status: 0, sent });
      else reject(e);
    });
    const chunk = `# ${'y'.repeat(16 * 1024 - 3)}\n`;
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}
