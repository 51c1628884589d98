import type { AddressInfo } from 'node:net';
import { buildGateway, type Gateway } from '@tollgate/gateway';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream } from '../gateway/harness.js';

const SUNSET = '2027-06-30T00:00:00Z';

// The gateway hands its clock to the lifecycle policy: an autoRetire sunset flips a deprecated API
// to 410 at the instant, with no config change (the snapshot version stays the same).
describe('autoRetire with an injected clock (in-process gateway, real upstream)', () => {
  let up: RecordingUpstream;
  let gw: Gateway;
  let port: number;
  const clock = { t: Date.parse(SUNSET) - 1000 };

  beforeAll(async () => {
    up = await startUpstream('svc');
    const config =
      upstreamYaml('svc', [up.origin]) +
      apiYaml('old', `basePath: /old\nlifecycle: { state: deprecated, deprecatedAt: "2027-01-01T00:00:00Z", sunsetAt: "${SUNSET}", autoRetire: true, successor: new }\nroutes: [{ name: all, destination: { upstream: svc } }]`) +
      apiYaml('new', 'basePath: /new\nroutes: [{ name: all, destination: { upstream: svc } }]');
    gw = buildGateway({ source: new TestConfigSource(yamlResources(config)), logger: pino({ level: 'silent' }), options: { configPollMs: 60_000 }, now: () => clock.t });
    await gw.ready;
    await gw.proxy.listen({ host: '127.0.0.1', port: 0 });
    port = (gw.proxy.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await gw?.close();
    await up?.close();
  });

  it('serves with deprecation headers until the sunset, then answers 410 naming the successor', async () => {
    const before = await send(port, { path: '/old/x' });
    expect(before.status).toBe(200);
    expect(before.headers.deprecation).toBe(`@${Date.parse('2027-01-01T00:00:00Z') / 1000}`);
    expect(before.headers.sunset).toBe('Wed, 30 Jun 2027 00:00:00 GMT');
    expect(before.headers.link).toBe('</new>; rel="successor-version"');
    const version = gw.currentVersion();
    const seen = up.received.length;

    clock.t = Date.parse(SUNSET);
    const after = await send(port, { path: '/old/x' });
    expect(after.status).toBe(410);
    expect(after.headers['content-type']).toContain('application/problem+json');
    expect(after.json()).toMatchObject({ code: 'API_RETIRED', detail: 'the API old (v1) is retired; its successor is Api/new (v1) at /new' });
    expect(after.headers.link).toBe('</new>; rel="successor-version"');
    expect(up.received.length).toBe(seen);
    expect(gw.currentVersion()).toBe(version);
    expect((await send(port, { path: '/new/x' })).status).toBe(200);
  });
});
