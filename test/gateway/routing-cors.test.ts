import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from './harness.js';

// The cors policy: preflights answered by the gateway, CORS headers on actual responses.
let up: RecordingUpstream;
let g: RunningGateway;

beforeAll(async () => {
  up = await startUpstream('up', (_req, res) => res.writeHead(200, { vary: 'Accept-Encoding' }).end('ok'));
  const source = new TestConfigSource(
    yamlResources(
      upstreamYaml('up', [up.origin]) +
        apiYaml(
          'web',
          `hosts: [cors.test]
policies:
  - name: cors
    config:
      allowOrigins: ["https://app.example.com", "https://*.example.org"]
      allowOriginRegexes: ["https://pr-[0-9]+\\\\.preview\\\\.dev"]
      allowMethods: [GET, PUT]
      allowHeaders: [content-type, x-token]
      exposeHeaders: [x-total]
      allowCredentials: true
      maxAgeSeconds: 600
routes:
  - { name: items, match: [{ path: { prefix: /items }, methods: [GET, PUT, DELETE] }], destination: { upstream: up } }`,
        ) +
        apiYaml('open', `hosts: [open.test]\npolicies: [{ name: cors, config: { allowOrigins: ["*"] } }]\nroutes: [{ name: r, destination: { upstream: up } }]`),
    ),
  );
  g = await startTestGateway(source);
});
afterAll(async () => {
  await g.close();
  await up.close();
});

const preflight = (origin: string, method: string, headers?: string) =>
  send(g.port, { method: 'OPTIONS', path: '/items/1', headers: { host: 'cors.test', origin, 'access-control-request-method': method, ...(headers ? { 'access-control-request-headers': headers } : {}) } });

describe('cors', () => {
  it('answers an allowed preflight with 204 and the CORS headers, without calling the upstream', async () => {
    const before = up.started;
    const r = await preflight('https://app.example.com', 'PUT', 'Content-Type, X-Token');
    expect(r.status).toBe(204);
    expect(r.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'GET, PUT',
      'access-control-allow-headers': 'content-type, x-token',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
    });
    expect(r.headers.vary).toContain('Origin');
    expect(up.started).toBe(before);
  });

  it('accepts wildcard and regex origins', async () => {
    expect((await preflight('https://a.b.example.org', 'GET')).status).toBe(204);
    expect((await preflight('https://pr-12.preview.dev', 'GET')).status).toBe(204);
    expect((await preflight('https://example.org', 'GET')).status).toBe(403);
    expect((await preflight('http://a.example.org', 'GET')).status).toBe(403);
  });

  it('refuses a preflight for an origin, method or header not allowed with 403 CORS_FORBIDDEN', async () => {
    for (const r of [await preflight('https://evil.test', 'GET'), await preflight('https://app.example.com', 'DELETE'), await preflight('https://app.example.com', 'GET', 'x-other')]) {
      expect(r.status).toBe(403);
      expect(r.json()).toMatchObject({ code: 'CORS_FORBIDDEN' });
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('adds Allow-Origin, credentials, expose headers and Vary: Origin to an actual request', async () => {
    const r = await send(g.port, { path: '/items/1', headers: { host: 'cors.test', origin: 'https://app.example.com' } });
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({ 'access-control-allow-origin': 'https://app.example.com', 'access-control-allow-credentials': 'true', 'access-control-expose-headers': 'x-total', vary: 'Accept-Encoding, Origin' });
    const other = await send(g.port, { path: '/items/1', headers: { host: 'cors.test', origin: 'https://evil.test' } });
    expect(other.status).toBe(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers "*" for any origin when credentials are off', async () => {
    const r = await send(g.port, { path: '/', headers: { host: 'open.test', origin: 'https://x.test' } });
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });
});
