import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from './harness.js';

// Route timeouts and retries against real upstreams that count what reaches them.
let flaky: RecordingUpstream;
let slow: RecordingUpstream;
let healthy: RecordingUpstream;
let resetter: Server;
let resets = 0;
let deadPort = 0;
let g: RunningGateway;

beforeAll(async () => {
  flaky = await startUpstream('flaky', (_req, res) => res.writeHead(503).end('unavailable'));
  slow = await startUpstream('slow', (_req, res) => setTimeout(() => res.end('late'), 1_500).unref());
  healthy = await startUpstream('healthy');
  // Accepts the request, then cuts the connection without answering (a reset).
  resetter = createServer((req) => {
    resets++;
    req.socket.destroy();
  });
  await new Promise<void>((r) => resetter.listen(0, '127.0.0.1', r));
  // A port nothing listens on: connection refused.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const resetOrigin = `http://127.0.0.1:${(resetter.address() as AddressInfo).port}`;
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('flaky', [flaky.origin]) +
        upstreamYaml('slow', [slow.origin]) +
        upstreamYaml('reset', [resetOrigin]) +
        // One dead target and one healthy one: a connect failure is retried on the other target.
        upstreamYaml('half-dead', [`http://127.0.0.1:${deadPort}`, healthy.origin]) +
        apiYaml(
          'res',
          `hosts: [res.test]
routes:
  - { name: timeout, match: [{ path: { prefix: /timeout } }], timeoutMs: 300, destination: { upstream: slow } }
  - { name: retry-503, match: [{ path: { prefix: /r503 } }], retries: { attempts: 2, retryOn: ["503"] }, destination: { upstream: flaky } }
  - { name: retry-503-post, match: [{ path: { prefix: /p503 } }], retries: { attempts: 2, retryOn: ["503"], allowNonIdempotent: true }, destination: { upstream: flaky } }
  - { name: retry-reset, match: [{ path: { prefix: /reset } }], retries: { attempts: 3, retryOn: [reset] }, destination: { upstream: reset } }
  - { name: retry-connect, match: [{ path: { prefix: /connect } }], retries: { attempts: 1, retryOn: [connect-failure] }, destination: { upstream: half-dead } }
  - { name: per-try, match: [{ path: { prefix: /pertry } }], timeoutMs: 2000, retries: { attempts: 1, perTryTimeoutMs: 200, retryOn: ["504"] }, destination: { upstream: slow } }`,
        ),
    ),
  );
  g = await startTestGateway(source);
});
afterAll(async () => {
  await Promise.all([flaky, slow, healthy].map((u) => u.close()));
  resetter.closeAllConnections();
  await new Promise<void>((r) => resetter.close(() => r()));
  await g.close();
});

const req = (path: string, method = 'GET', body?: string) => send(g.port, { method, path, headers: { host: 'res.test' }, ...(body !== undefined ? { body } : {}) });

describe('route timeout', () => {
  it('answers 504 UPSTREAM_TIMEOUT within the timeout plus 250 ms', async () => {
    const t0 = Date.now();
    const r = await req('/timeout');
    const took = Date.now() - t0;
    expect(r.status).toBe(504);
    expect(r.json()).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    expect(took).toBeGreaterThanOrEqual(295);
    // The deadline is a native timer (not undici's 1 s wheel); 250 ms covers test-parallel load on a 2-vCPU VM.
    expect(took).toBeLessThan(550);
  });
});

describe('retries', () => {
  it('a GET on a 503 reaches the upstream 1 + attempts times, and the last 503 is returned', async () => {
    const before = flaky.started;
    const r = await req('/r503');
    expect(r.status).toBe(503);
    expect(flaky.started - before).toBe(3);
  });

  it('a POST is not retried unless the route opts in', async () => {
    const before = flaky.started;
    expect((await req('/r503', 'POST')).status).toBe(503);
    expect(flaky.started - before).toBe(1);
    const before2 = flaky.started;
    await req('/p503', 'POST');
    expect(flaky.started - before2).toBe(3);
  });

  it('a request with a body is never retried, even when the route opts in', async () => {
    const before = flaky.started;
    await req('/p503', 'POST', 'a body');
    expect(flaky.started - before).toBe(1);
  });

  it('retries a reset up to the attempts and then answers 502', async () => {
    const before = resets;
    const r = await req('/reset');
    expect(r.status).toBe(502);
    expect(resets - before).toBe(4);
  });

  it('retries a connect failure on another target picked by the balancer', async () => {
    // Round robin over [dead, healthy]: whichever comes first, every request ends on the healthy one.
    for (let i = 0; i < 4; i++) {
      const r = await req('/connect');
      expect(r.status).toBe(200);
      expect(r.body).toBe('healthy GET /connect');
    }
  });

  it('a per-try timeout counts as a 504 and is retried; the route timeout still bounds the whole', async () => {
    const before = slow.started;
    const t0 = Date.now();
    const r = await req('/pertry');
    expect(r.status).toBe(504);
    expect(slow.started - before).toBe(2);
    expect(Date.now() - t0).toBeLessThan(700);
  });
});
