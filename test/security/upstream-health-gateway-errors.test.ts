import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { POLICY_DEFINITIONS, POLICY_REGISTRY, type PolicyDefinition, type PolicyMeta } from '@tollgate/policies';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';

// Issue #14, class 5: a request the gateway itself could not send must never count against the
// upstream (passive health / outlier ejection, circuit breaking). Two kinds:
// - a body over the gateway's limit (413 BODY_TOO_LARGE, cut off mid-stream for a chunked body);
// - a request the HTTP client refuses to send (a header value that is no RFC 9110 field value).
//   Every producer of header values validates them first (see header-injection.test.ts), so to
//   exercise the last line of defence this test installs a policy that sets such a value without
//   validation, standing in for a producer that forgot to: the answer must be 500
//   INVALID_UPSTREAM_REQUEST, nothing sent, and the target never ejected.

/** Sets `x-raw` to its configured value, unchecked (a stand-in for a buggy header producer). */
const rawHeader: PolicyDefinition = {
  name: 'test-raw-header',
  summary: 'Test only: sets x-raw to a configured value the HTTP client refuses.',
  errors: {},
  priority: 500,
  phases: ['access'],
  schema: z.strictObject({ value: z.string() }),
  build(config) {
    const value = (config as { value: string }).value;
    return {
      access(ctx) {
        ctx.setUpstreamHeader('x-raw', value);
        return undefined;
      },
    };
  },
};

// One target, ejected after two counted failures, for a minute.
const PASSIVE = '  healthChecks:\n    passive: { consecutiveErrors: 2, baseEjectionMs: 60000, maxEjectionPercent: 100 }\n';
// 'a@NUL@b' stands for a\0b: the YAML reader refuses a NUL in any text field (docs/security.md), and
// this suite is about what the gateway does with a value the HTTP client refuses, so the NUL is put
// into the parsed resources directly (as a store written by something else could hold it).
const NUL_MARK = 'a@NUL@b';
const RAW = ['a\\r\\nX-Injected: yes', 'a\\nb', NUL_MARK, 'a\\x01b', 'a\\x7fb', '\\u20ac'];

/** The resources with every NUL_MARK string value replaced by a\0b. */
function withNul<T>(value: T): T {
  if (value === NUL_MARK) return 'a\0b' as T;
  if (Array.isArray(value)) return value.map((v: unknown) => withNul(v)) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withNul(v)])) as T;
  return value;
}
const MAX_BODY = 1024;

let up: RecordingUpstream;
let json: RecordingUpstream;
let ws: Server;
let upgrades = 0;
let g: RunningGateway;

beforeAll(async () => {
  // Registered like a real policy: its definition (what the compiler validates) and its builder.
  (POLICY_DEFINITIONS as Map<string, PolicyMeta>).set(rawHeader.name, rawHeader);
  (POLICY_REGISTRY as Map<string, PolicyDefinition>).set(rawHeader.name, rawHeader);
  up = await startUpstream('up');
  json = await startUpstream('json', (_req, res) => res.setHeader('content-type', 'application/json').end('{"ok":true}'));
  ws = createServer((_req, res) => res.end('not a websocket'));
  ws.on('upgrade', (req, socket: Socket) => {
    upgrades++;
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  });
  await new Promise<void>((r) => ws.listen(0, '127.0.0.1', r));
  const routes = RAW.map(
    (v, i) => `  - { name: raw${i}, match: [{ path: { prefix: /raw${i} } }], destination: { upstream: up }, retries: { attempts: 2, retryOn: [connect-failure, reset, '502', '503'] }, mirror: { upstream: up, percentage: 100 }, policies: [{ name: test-raw-header, config: { value: "${v}" } }] }
  - { name: agg${i}, match: [{ path: { prefix: /agg${i} } }], aggregate: { backends: [{ name: one, upstream: json, path: /one }] }, policies: [{ name: test-raw-header, config: { value: "${v}" } }] }
  - { name: ws${i}, match: [{ path: { prefix: /ws${i} } }], destination: { upstream: ws }, policies: [{ name: test-raw-header, config: { value: "${v}" } }] }`,
  );
  g = await startTestGateway(
    new TestConfigSource(
      withNul(yamlResources(
        upstreamYaml('up', [up.origin], PASSIVE) +
          upstreamYaml('json', [json.origin], PASSIVE) +
          upstreamYaml('ws', [`http://127.0.0.1:${(ws.address() as AddressInfo).port}`], PASSIVE) +
          apiYaml(
            'gw',
            `routes:
  - { name: ok, match: [{ path: { prefix: /ok } }], destination: { upstream: up } }
  - { name: wsok, match: [{ path: { prefix: /wsok } }], destination: { upstream: ws } }
  - { name: aggok, match: [{ path: { prefix: /aggok } }], aggregate: { backends: [{ name: one, upstream: json, path: /one }] } }
${routes.join('\n')}`,
          ),
      )),
    ),
    { maxBodyBytes: MAX_BODY },
  );
});
afterAll(async () => {
  await g.close();
  await up.close();
  await json.close();
  ws.closeAllConnections();
  await new Promise<void>((r) => ws.close(() => r()));
  (POLICY_REGISTRY as Map<string, PolicyDefinition>).delete(rawHeader.name);
});

/** Sends a raw WebSocket handshake and resolves with the response head and body. */
function handshake(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(g.port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let buf = '';
    socket.on('data', (d: Buffer) => (buf += d.toString('latin1')));
    socket.on('close', () => resolve(buf));
    socket.on('end', () => socket.destroy());
    socket.on('error', reject);
  });
}

async function expectHealthy(): Promise<void> {
  expect((await send(g.port, { path: '/ok' })).status).toBe(200);
  expect((await send(g.port, { path: '/aggok' })).status).toBe(200);
  expect(await handshake('/wsok')).toMatch(/^HTTP\/1\.1 101 /);
}

describe('gateway-side request errors never count against the upstream', () => {
  it.each(RAW.map((v, i) => [v, i] as const))('a header value %s the HTTP client refuses is 500 INVALID_UPSTREAM_REQUEST, not sent, not retried, not mirrored', async (_v, i) => {
    const before = up.started;
    for (let n = 0; n < 5; n++) {
      const r = await send(g.port, { path: `/raw${i}` });
      expect(r.status).toBe(500);
      expect(r.json()).toMatchObject({ code: 'INVALID_UPSTREAM_REQUEST', status: 500 });
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(up.started).toBe(before);
    await expectHealthy();
  });

  it.each(RAW.map((v, i) => [v, i] as const))('on aggregate backends (%s): the backend is left out, its target stays healthy', async (_v, i) => {
    const before = json.started;
    for (let n = 0; n < 5; n++) expect((await send(g.port, { path: `/agg${i}` })).json()).toMatchObject({ code: 'AGGREGATE_FAILED' });
    expect(json.started).toBe(before);
    await expectHealthy();
  });

  it.each(RAW.map((v, i) => [v, i] as const))('on a WebSocket handshake, written raw (%s): 500 INVALID_UPSTREAM_REQUEST, nothing written, target healthy', async (_v, i) => {
    const before = upgrades;
    for (let n = 0; n < 5; n++) {
      const head = await handshake(`/ws${i}`);
      expect(head).toMatch(/^HTTP\/1\.1 500 /);
      expect(head).toContain('INVALID_UPSTREAM_REQUEST');
      expect(head).not.toContain('X-Injected');
    }
    expect(upgrades).toBe(before);
    await expectHealthy();
  });

  it('bodies over the limit (declared or chunked, cut off mid-stream) are 413 and never eject the target', async () => {
    for (let n = 0; n < 5; n++) {
      const declared = await send(g.port, { method: 'POST', path: '/ok', headers: { 'content-length': String(MAX_BODY + 1) }, body: Buffer.alloc(MAX_BODY + 1) });
      expect(declared.json()).toMatchObject({ code: 'BODY_TOO_LARGE' });
      const chunked = await send(g.port, { method: 'POST', path: '/ok', body: Readable.from([Buffer.alloc(600), Buffer.alloc(600), Buffer.alloc(600)]) });
      expect(chunked.status).toBe(413);
    }
    await expectHealthy();
  });
});
