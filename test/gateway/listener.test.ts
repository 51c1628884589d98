// The proxy listener itself (node:http, no framework): what it answers before any route runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange } from '../security/raw-client.js';
import { apiYaml, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from './harness.js';

let up: RecordingUpstream;
let g: RunningGateway;

beforeAll(async () => {
  up = await startUpstream('up', (_req, res) => res.end('ok'));
  g = await startTestGateway(new TestConfigSource(yamlResources(upstreamYaml('u', [up.origin]) + apiYaml('a', 'routes: [{ name: r, destination: { upstream: u } }]'))));
});
afterAll(async () => {
  await g.close();
  await up.close();
});

function split(data: Buffer): { head: string; body: string } {
  const text = data.toString('latin1');
  const i = text.indexOf('\r\n\r\n');
  return { head: text.slice(0, i), body: text.slice(i + 4) };
}

describe('proxy listener', () => {
  it('answers a request the HTTP parser refuses with 400 BAD_REQUEST problem+json and closes the connection', async () => {
    const r = await rawExchange(g.port, 'GET /x HTTP/1.1\r\nHost: gw.test\r\nBad Header Line\r\n\r\n');
    expect(r.status).toBe(400);
    const { head, body } = split(r.data);
    expect(head).toMatch(/content-type: application\/problem\+json/i);
    expect(head).toMatch(/connection: close/i);
    expect(JSON.parse(body)).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(r.ended).not.toBe('client-reset');
  });

  it('answers a method it does not route with 404 ROUTE_NOT_FOUND and a request id, never reaching the upstream', async () => {
    const before = up.received.length;
    const r = await rawExchange(g.port, 'PROPFIND /x HTTP/1.1\r\nHost: gw.test\r\nX-Request-Id: rid-propfind\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(404);
    const { head, body } = split(r.data);
    expect(head).toMatch(/x-request-id: rid-propfind/i);
    expect(JSON.parse(body)).toMatchObject({ code: 'ROUTE_NOT_FOUND', requestId: 'rid-propfind' });
    expect(up.received.length).toBe(before);
  });

  it('streams an upstream answer with one head: its status, fields and body as sent', async () => {
    const r = await rawExchange(g.port, 'GET /stream HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(200);
    const { head, body } = split(r.data);
    expect(head.match(/x-request-id:/gi)).toHaveLength(1);
    expect(body).toBe('ok');
  });
});
