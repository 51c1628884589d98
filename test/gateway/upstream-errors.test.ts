import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from './harness.js';

let slow: RecordingUpstream;
let g: RunningGateway;
let deadPort: number;
const ROUTE_TIMEOUT = 300;

beforeAll(async () => {
  slow = await startUpstream('slow', (req, res) => {
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? '0');
    setTimeout(() => res.end(`slept ${ms}`), ms);
  });
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  g = await startTestGateway(
    new TestConfigSource(
      yamlResources(
        upstreamYaml('dead', [`http://127.0.0.1:${deadPort}`]) +
          upstreamYaml('slow', [slow.origin]) +
          apiYaml(
            'a',
            `routes:
  - { name: dead, match: [{ path: { prefix: /dead } }], destination: { upstream: dead } }
  - { name: slow, match: [{ path: { prefix: /slow } }], destination: { upstream: slow }, timeoutMs: ${ROUTE_TIMEOUT} }`,
          ),
      ),
    ),
  );
});
afterAll(async () => {
  await g.close();
  await slow.close();
});

describe('upstream failures', () => {
  it('answers 502 UPSTREAM_UNAVAILABLE when the upstream refuses connections', async () => {
    const r = await send(g.port, { path: '/dead/x', headers: { 'x-request-id': 'dead-1' } });
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.json()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 502, requestId: 'dead-1', type: 'https://tollgate.dev/errors/upstream-unavailable' });
  });

  it('answers 504 UPSTREAM_TIMEOUT at the route timeout (plus a small margin)', async () => {
    const t0 = Date.now();
    const r = await send(g.port, { path: '/slow?ms=3000' });
    const took = Date.now() - t0;
    expect(r.status).toBe(504);
    expect(r.json()).toMatchObject({ code: 'UPSTREAM_TIMEOUT', status: 504 });
    expect(took).toBeGreaterThanOrEqual(ROUTE_TIMEOUT - 20);
    expect(took).toBeLessThan(ROUTE_TIMEOUT + 400);
  });

  it('a response within the route timeout passes', async () => {
    const r = await send(g.port, { path: '/slow?ms=50' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('slept 50');
  });
});
