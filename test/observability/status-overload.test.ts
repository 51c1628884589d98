import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway } from '@tollgate/gateway';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream } from '../gateway/harness.js';
import type { AddressInfo } from 'node:net';

let up: RecordingUpstream;
const resources = () => yamlResources(upstreamYaml('svc', [`http://127.0.0.1:1`]) + apiYaml('open', `basePath: /open\nroutes: [{ name: all, destination: { upstream: svc } }]`));

beforeAll(async () => {
  up = await startUpstream('svc');
});
afterAll(async () => {
  await up?.close();
});

describe('/status and readiness hooks', () => {
  it('/status summarizes version, config, stores and node; a readiness hook and store probes are honoured', async () => {
    let redisUp = true;
    const gw = buildGateway({
      source: new TestConfigSource(resources()),
      logger: pino({ enabled: false }),
      options: { nodeId: 'node-a' },
      storeProbes: { redis: async () => redisUp, postgres: async () => { throw new Error('down'); } },
      notReadyReason: () => (redisUp ? null : 'redis unreachable and a plan fails closed'),
    });
    try {
      await gw.status.listen({ host: '127.0.0.1', port: 0 });
      const port = (gw.status.server.address() as AddressInfo).port;
      await gw.ready;
      const s = (await send(port, { path: '/status' })).json();
      expect(s).toMatchObject({ nodeId: 'node-a', ready: true, shuttingDown: false, config: { version: 1 }, stores: { redis: true, postgres: false } });
      expect(typeof (s.config as { hash: unknown }).hash).toBe('string');
      expect(typeof s.uptimeSeconds).toBe('number');
      const m = (await send(port, { path: '/metrics' })).body;
      expect(m).toContain('tollgate_datastore_reachable{store="redis"} 1');
      expect(m).toContain('tollgate_datastore_reachable{store="postgres"} 0');
      expect((await send(port, { path: '/readyz' })).status).toBe(200);
      redisUp = false;
      const r = await send(port, { path: '/readyz' });
      expect(r.status).toBe(503);
      expect(r.json().reason).toBe('redis unreachable and a plan fails closed');
    } finally {
      await gw.close();
    }
  });

  it('metrics can be turned off: no /metrics route', async () => {
    const gw = await startTestGateway(new TestConfigSource(resources()), { metrics: false });
    try {
      expect((await send(gw.statusPort, { path: '/metrics' })).status).toBe(404);
      expect(gw.gw.metrics).toBeNull();
    } finally {
      await gw.close();
    }
  });
});

describe('overload protection', () => {
  it('answers 503 OVERLOADED with Retry-After while the event loop lags, then serves again', async () => {
    const source = new TestConfigSource(yamlResources(upstreamYaml('svc', [up.origin]) + apiYaml('open', `basePath: /open\nroutes: [{ name: all, destination: { upstream: svc } }]`)));
    const gw = await startTestGateway(source, { maxEventLoopDelayMs: 100, eventLoopSampleMs: 250 });
    try {
      expect((await send(gw.port, { path: '/open/a' })).status).toBe(200);
      // Block the event loop well past the threshold: the next sample sees the lag.
      const end = Date.now() + 700;
      while (Date.now() < end) {
        /* busy */
      }
      const r = await send(gw.port, { path: '/open/a' });
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('1');
      expect(r.json().code).toBe('OVERLOADED');
      await new Promise((res) => setTimeout(res, 600));
      expect((await send(gw.port, { path: '/open/a' })).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});
