import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, get, startSecurityGateway, upstream, type SecurityGateway } from './support.js';

// Issue #14, class 13: path spellings (`;` parameters, a trailing dot in a segment, case) must not
// reach the upstream through a broader route, past a narrower route with a stricter policy. Per
// API `spec.pathMatching`; the path the route matched is the one policies see and the upstream
// gets. Over the built `tollgate start` process with a recording upstream.

let g: SecurityGateway;

// The narrow route refuses everyone (ip-restriction on loopback): reaching the upstream through
// the broad route is the bypass.
const routes = `routes:
  - { name: admin, match: [{ path: { prefix: /admin } }], policies: [{ name: ip-restriction, config: { deny: ["127.0.0.0/8"] } }], destination: { upstream: app } }
  - { name: all, destination: { upstream: app } }`;
const secretRule = `policies: [{ name: authorization, config: { deny: [{ paths: ["/secret*"] }] } }]`;

beforeAll(async () => {
  g = await startSecurityGateway(
    ['app'],
    (u) =>
      upstream('app', u.app as string) +
      api('defaults', `hosts: [d.example]\n${secretRule}\n${routes}`) +
      api('stripping', `hosts: [s.example]\npathMatching: { matrixParams: strip, trailingDots: strip, caseInsensitive: true }\n${secretRule}\n${routes}`) +
      api('keeping', `hosts: [k.example]\npathMatching: { matrixParams: keep, trailingDots: keep }\n${routes}`),
    { host: 'd.example', path: '/x' },
  );
}, 150_000);

afterAll(async () => {
  await g?.stop();
});

async function expectNotForwarded(host: string, path: string, status: number, code: string): Promise<void> {
  const before = g.received();
  const r = await g.raw(get(path, [`Host: ${host}`]));
  expect(r.status, r.body).toBe(status);
  expect(r.json()).toMatchObject({ code });
  expect(g.received()).toBe(before);
}

async function forwardedAs(host: string, path: string): Promise<string | undefined> {
  const r = await g.raw(get(path, [`Host: ${host}`]));
  expect(r.status, r.body).toBe(200);
  return g.upstreams.app?.requests.at(-1)?.url;
}

describe('defaults: ";" parameters and trailing dots are refused with 400 BAD_PATH', () => {
  it.each(['/admin;x=1/', '/admin;/', '/admin;', '/admin;jsessionid=1/users', '/public/..;/admin', '/admin%3Bx/', '/x;y'])('%s', (p) => expectNotForwarded('d.example', p, 400, 'BAD_PATH'));
  it.each(['/admin./', '/admin.', '/admin%2E/', '/admin%2e%2e/', '/admin.../x', '/x/y.'])('%s', (p) => expectNotForwarded('d.example', p, 400, 'BAD_PATH'));
  it('ordinary paths with dots and the narrow route itself are unaffected', async () => {
    expect(await forwardedAs('d.example', '/v1.2/file.json')).toBe('/v1.2/file.json');
    expect(await forwardedAs('d.example', '/.well-known/x')).toBe('/.well-known/x');
    await expectNotForwarded('d.example', '/admin/x', 403, 'IP_FORBIDDEN');
  });
  it('paths stay case-sensitive by default: routed and forwarded as the same value', async () => {
    expect(await forwardedAs('d.example', '/ADMIN/x')).toBe('/ADMIN/x');
  });
});

describe('strip + caseInsensitive: the narrow route and its policy apply, the stripped path is forwarded', () => {
  it.each(['/admin;x=1/', '/admin;/users', '/public/..;/admin', '/admin./', '/admin.', '/admin%2E/x', '/ADMIN', '/Admin/Users', '/aDmIn.;x/'])('%s reaches the narrow route', (p) =>
    expectNotForwarded('s.example', p, 403, 'IP_FORBIDDEN'),
  );
  it.each(['/secret;x', '/SECRET/a', '/secret./b', '/x/..;/Secret'])('policies see the routed path: %s is denied', (p) => expectNotForwarded('s.example', p, 403, 'AUTHZ_DENIED'));
  it.each([
    ['/files;v=2/a.', '/files/a'],
    ['/FILES/Report.PDF', '/files/report.pdf'],
    ['/a;b/c;d?q=1;2', '/a/c?q=1;2'],
    ['/files/x%3By', '/files/x%3by'],
  ])('%s is forwarded as %s', async (p, want) => {
    expect(await forwardedAs('s.example', p)).toBe(want);
  });
});

describe('keep: the spellings are data, routed and forwarded unchanged', () => {
  it.each(['/admin;x=1/', '/admin./'])('%s', async (p) => {
    expect(await forwardedAs('k.example', p)).toBe(p);
  });
});

describe('the WebSocket upgrade path applies the same options', () => {
  const upgrade = (host: string, path: string) => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  it.each(['/admin;x=1/', '/admin./', '/public/..;/admin'])('%s is refused with 400 BAD_PATH by default', async (p) => {
    const before = g.received();
    const r = await g.raw(upgrade('d.example', p));
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ code: 'BAD_PATH' });
    expect(g.received()).toBe(before);
  });
  it('strip finds the narrow route (its policy refuses the handshake)', async () => {
    const before = g.received();
    const r = await g.raw(upgrade('s.example', '/ADMIN;x/'));
    expect(r.status).toBe(403);
    expect(g.received()).toBe(before);
  });
});
