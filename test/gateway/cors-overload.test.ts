import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, eventually, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream } from './harness.js';

// A request refused before the stages run (503 OVERLOADED while the event loop lags) still gets
// the CORS headers of the route it was for, so a browser app can read the 503 and its Retry-After.
let up: RecordingUpstream;
beforeAll(async () => {
  up = await startUpstream('svc');
});
afterAll(async () => {
  await up?.close();
});

const APP = 'https://app.example.com';

describe('CORS on an overload refusal', () => {
  it('503 OVERLOADED carries Allow-Origin and exposes Retry-After for an allowed origin only', async () => {
    const source = new TestConfigSource(
      yamlResources(
        upstreamYaml('svc', [up.origin]) +
          apiYaml('web', `basePath: /web\npolicies: [{ name: cors, config: { allowOrigins: ["${APP}"] } }]\nroutes: [{ name: all, destination: { upstream: svc } }]`) +
          apiYaml('plain', `basePath: /plain\nroutes: [{ name: all, destination: { upstream: svc } }]`),
      ),
    );
    const gw = await startTestGateway(source, { maxEventLoopDelayMs: 100, eventLoopSampleMs: 250 });
    try {
      expect((await send(gw.port, { path: '/web/a', headers: { origin: APP } })).status).toBe(200);
      // Block the event loop well past the threshold: the next sample sees the lag.
      const end = Date.now() + 700;
      while (Date.now() < end) {
        /* busy */
      }
      const [allowed, other, plain] = await Promise.all([
        send(gw.port, { path: '/web/a', headers: { origin: APP } }),
        send(gw.port, { path: '/web/a', headers: { origin: 'https://evil.test' } }),
        send(gw.port, { path: '/plain/a', headers: { origin: APP } }),
      ]);
      expect(allowed.status).toBe(503);
      expect(allowed.json().code).toBe('OVERLOADED');
      expect(allowed.headers['access-control-allow-origin']).toBe(APP);
      expect(String(allowed.headers['access-control-expose-headers'])).toContain('retry-after');
      expect(other.status).toBe(503);
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
      expect(other.headers.vary).toBe('Origin');
      expect(plain.status).toBe(503);
      expect(plain.headers['access-control-allow-origin']).toBeUndefined();
      // And it serves again once the loop keeps up.
      await eventually(async () => (await send(gw.port, { path: '/web/a', headers: { origin: APP } })).status === 200, 5_000);
    } finally {
      await gw.close();
    }
  });
});
