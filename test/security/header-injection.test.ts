import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, upstreamYaml, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';

// Issue #14, class 2 (and the template half of 15): CR/LF and other non-field-value characters
// from request data (a decoded query parameter or path capture, a JWT claim) must never become a
// header: the request is refused 400 INVALID_HEADER_VALUE before anything reaches the upstream,
// on plain HTTP, on a WebSocket handshake, on aggregate backends and in response headers, and the
// upstream's health is unaffected however many such requests arrive.

const ISS = 'https://issuer.test';
const AUD = 'inj';
const SECRET = 'header-injection-test-secret-0123456789';
// Passive health that would eject the only target after two counted failures.
const PASSIVE = '  healthChecks:\n    passive: { consecutiveErrors: 2, baseEjectionMs: 60000, maxEjectionPercent: 100 }\n';

let up: RecordingUpstream;
/** Aggregate backend: answers JSON. */
let json: RecordingUpstream;
let ws: Server;
const upgrades: Array<Record<string, unknown>> = [];
let g: RunningGateway;

beforeAll(async () => {
  up = await startUpstream('up');
  json = await startUpstream('json', (_req, res) => res.setHeader('content-type', 'application/json').end('{"ok":true}'));
  ws = createServer((_req, res) => res.end('not a websocket'));
  ws.on('upgrade', (req, socket: Socket) => {
    upgrades.push({ ...req.headers });
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  });
  await new Promise<void>((r) => ws.listen(0, '127.0.0.1', r));
  const wsOrigin = `http://127.0.0.1:${(ws.address() as AddressInfo).port}`;
  g = await startTestGateway(
    new TestConfigSource(
      yamlResources(
        upstreamYaml('up', [up.origin], PASSIVE) +
          upstreamYaml('json', [json.origin], PASSIVE) +
          upstreamYaml('ws', [wsOrigin], PASSIVE) +
          apiYaml(
            'inj',
            `routes:
  - name: query
    match: [{ path: { prefix: /q } }]
    destination: { upstream: up }
    policies: [{ name: request-transformer, config: { headers: { set: { x-q: "q={query.q}" }, add: { x-a: "{query.a}", x-h: "{header.x-in}" } } } }]
  - name: jwt
    match: [{ path: { prefix: /jwt } }]
    destination: { upstream: up }
    policies:
      - { name: jwt-auth, config: { anonymous: true, issuers: [{ issuer: "${ISS}", algorithms: [HS256], audiences: ["${AUD}"], secrets: ["${SECRET}"] }], forwardClaims: [{ claim: fwd, header: x-fwd }] } }
      - { name: request-transformer, config: { headers: { set: { x-note: "{claims.note}" } } } }
  - name: response
    match: [{ path: { prefix: /resp } }]
    destination: { upstream: up }
    policies: [{ name: response-transformer, config: { headers: { set: { x-echo: "{query.q}" } } } }]
  - name: local
    match: [{ path: { prefix: /local } }]
    directResponse: { status: 200, body: local }
    policies: [{ name: response-transformer, config: { headers: { add: { x-echo: "{query.q}" } } } }]
  - name: agg
    match: [{ path: { template: "/agg/{id}" } }]
    aggregate:
      backends:
        - { name: one, upstream: json, path: /one, headers: { x-id: "{path.id}", x-q: "{query.q}" } }
  - name: ws
    match: [{ path: { prefix: /ws } }]
    destination: { upstream: ws }
    policies: [{ name: request-transformer, config: { headers: { set: { x-q: "{query.q}" } } } }]`,
          ),
      ),
    ),
  );
});
afterAll(async () => {
  await g.close();
  await up.close();
  await json.close();
  ws.closeAllConnections();
  await new Promise<void>((r) => ws.close(() => r()));
});

/** Percent-encoded values that decode to something that is not an RFC 9110 field value. */
const BAD = ['%0d', '%0a', '%0d%0a', '%0d%0aX-Injected:%20yes', 'a%0aGET%20/admin%20HTTP/1.1', '%00', '%01', '%7f', '%E2%82%AC'];

function token(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISS, aud: AUD, sub: 'someone', exp: now + 300, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
}

function expectRefused(r: { status: number; headers: Record<string, unknown>; json(): Record<string, unknown> }, header: string): void {
  expect(r.status).toBe(400);
  expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(r.json()).toMatchObject({ code: 'INVALID_HEADER_VALUE', status: 400 });
  expect(String(r.json().detail)).toContain(header);
}

/** A valid request still reaches the upstream: the target was never ejected. */
async function expectHealthy(): Promise<void> {
  const r = await send(g.port, { path: '/q/ok?q=fine' });
  expect(r.status).toBe(200);
  expect(up.received.at(-1)?.headers['x-q']).toBe('q=fine');
}

describe('request data that is no field value never becomes an upstream header', () => {
  it.each(BAD)('query value %s in a request-transformer template (set and add) is 400, upstream untouched', async (bad) => {
    const before = up.started;
    expectRefused(await send(g.port, { path: `/q/x?q=${bad}` }), 'x-q');
    expectRefused(await send(g.port, { path: `/q/x?a=${bad}` }), 'x-a');
    expect(up.started).toBe(before);
  });

  it('valid values pass, Latin-1 (obs-text) included', async () => {
    const r = await send(g.port, { path: '/q/x?q=hello%20world%09tab&a=caf%C3%A9' });
    expect(r.status).toBe(200);
    expect(up.received.at(-1)?.headers['x-q']).toBe('q=hello world\ttab');
    expect(up.received.at(-1)?.headers['x-a']).toBe(Buffer.from('café', 'latin1').toString('latin1'));
  });

  it.each(['a\x7fb', 'a\x01b', 'a\x00b', 'a\x0bb'])('a request header %j with a control character (for {header.x}) is refused before routing, upstream untouched', async (bad) => {
    const before = up.started;
    const head = await new Promise<string>((resolve, reject) => {
      const c = connect(g.port, '127.0.0.1', () => c.end(Buffer.from(`GET /q/x HTTP/1.1\r\nHost: x\r\nx-in: ${bad}\r\nConnection: close\r\n\r\n`, 'latin1')));
      let b = '';
      c.on('data', (d: Buffer) => (b += d.toString('latin1')));
      c.on('close', () => resolve(b));
      c.on('error', reject);
    });
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(up.started).toBe(before);
  });

  it.each(['a\r\nX-Injected: yes', 'a\nb', 'a\u0000b', 'a\u0001b', '\u20ac'])('a JWT claim %j is refused, in a template and in forwardClaims', async (bad) => {
    const before = up.started;
    expectRefused(await send(g.port, { path: '/jwt', headers: { authorization: `Bearer ${await token({ note: bad })}` } }), 'x-note');
    expectRefused(await send(g.port, { path: '/jwt', headers: { authorization: `Bearer ${await token({ fwd: bad })}` } }), 'x-fwd');
    expect(up.started).toBe(before);
    const ok = await send(g.port, { path: '/jwt', headers: { authorization: `Bearer ${await token({ note: 'n', fwd: { a: 'b\r\n' } })}` } });
    // A non-string claim is JSON-encoded, which escapes control characters.
    expect(ok.status).toBe(200);
    expect(up.received.at(-1)?.headers).toMatchObject({ 'x-note': 'n', 'x-fwd': '{"a":"b\\r\\n"}' });
  });

  // (An encoded NUL in the path is refused earlier by the path normalizer: 400 BAD_PATH.)
  it.each(['a%0d%0aX-Injected:%20yes', '%0a', '%0D', '%01', '%7F'])('a path capture %s decoded into an aggregate backend header is 400 before any backend is called', async (bad) => {
    const before = json.started;
    expectRefused(await send(g.port, { path: `/agg/${bad}` }), 'x-id');
    expectRefused(await send(g.port, { path: `/agg/ok?q=${bad}` }), 'x-q');
    expectRefused(await send(g.port, { path: '/agg/ok?q=%00' }), 'x-q');
    expect(json.started).toBe(before);
    const ok = await send(g.port, { path: '/agg/7?q=v' });
    expect(ok.status).toBe(200);
    expect(json.received.at(-1)?.headers).toMatchObject({ 'x-id': '7', 'x-q': 'v' });
  });

  it.each(['%0d%0aSet-Cookie:%20a=b', '%0a', '%00'])('a response header template yielding %s gives 400 INVALID_HEADER_VALUE, never a raw 500', async (bad) => {
    const r = await send(g.port, { path: `/resp?q=${bad}` });
    expectRefused(r, 'x-echo');
    expect(r.headers['set-cookie']).toBeUndefined();
    expectRefused(await send(g.port, { path: `/local?q=${bad}` }), 'x-echo');
    const ok = await send(g.port, { path: '/resp?q=v' });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-echo']).toBe('v');
  });

  it('many refused requests leave the target healthy (nothing counted against it)', async () => {
    for (let i = 0; i < 10; i++) {
      for (const bad of BAD) expect((await send(g.port, { path: `/q/x?q=${bad}` })).status).toBe(400);
      expect((await send(g.port, { path: '/agg/a%0d%0ab' })).status).toBe(400);
    }
    await expectHealthy();
    expect((await send(g.port, { path: '/agg/1' })).status).toBe(200);
  });
});

/** Sends a raw WebSocket handshake and resolves with the response head. */
function handshake(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(g.port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.destroy();
      resolve(buf);
    });
    socket.on('error', reject);
  });
}

describe('on a WebSocket handshake (raw head written to the upstream)', () => {
  it.each(['%0d%0aX-Injected:%20yes', '%0d%0a%0d%0aGET%20/admin%20HTTP/1.1%0d%0aHost:%20x', '%0a', '%00'])('a template value %s is refused 400 and the upstream sees no handshake', async (bad) => {
    const before = upgrades.length;
    const head = await handshake(`/ws?q=${bad}`);
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).toContain('INVALID_HEADER_VALUE');
    await new Promise((r) => setTimeout(r, 50));
    expect(upgrades.length).toBe(before);
  });

  it('a valid value still upgrades, with no injected header', async () => {
    const head = await handshake('/ws?q=fine');
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(upgrades.at(-1)).toMatchObject({ 'x-q': 'fine' });
    expect(upgrades.some((h) => 'x-injected' in h)).toBe(false);
  });
});
