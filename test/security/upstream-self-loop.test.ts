import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTollgateProcess, type TollgateProcess } from '../support/tollgate-process.js';
import { startSecurityProcess, TOKEN, type SecurityProcess } from './admin-process.js';

const port = (url: string) => new URL(url).port;

function upstream(name: string, url: string, extra = ''): string {
  return `apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: ${name} }\nspec:\n  targets: [{ url: "${url}" }]\n${extra}`;
}

// Class 18: an Upstream pointing at the gateway's own proxy, admin or status listener (a request
// loop, or the control plane served on the data plane) is refused unless explicitly allowed.
describe('upstreams pointing back at the gateway', () => {
  let p: SecurityProcess;
  beforeAll(async () => {
    p = await startSecurityProcess('all');
  }, 60_000);
  afterAll(async () => {
    await p?.close();
  });

  async function expectSelfTarget(method: string, path: string, body: string, at: string, document?: number) {
    const res = await p.admin(method, path, body, 'application/yaml');
    expect(res.status, `${body}\n${res.body}`).toBe(422);
    expect(res.type).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem.code).toBe('INVALID_CONFIG');
    expect(problem.errors, body).toContainEqual(expect.objectContaining({ code: 'self_target', path: at, ...(document !== undefined ? { document } : {}) }));
  }

  it('refuses targets on the proxy, admin and status ports under loopback and own names', async () => {
    const proxy = port(p.tg.proxyUrl);
    const admin = port(p.tg.adminUrl);
    const status = port(p.tg.statusUrl);
    const urls = [
      `http://127.0.0.1:${proxy}`,
      `http://localhost:${admin}`,
      `http://[::1]:${status}`,
      `http://0.0.0.0:${admin}`,
      `http://127.1:${proxy}`,
      `http://2130706433:${admin}`,
      `http://[::ffff:127.0.0.1]:${status}`,
      `https://tollgate.localhost:${admin}`,
      `http://${hostname()}:${admin}`,
    ];
    for (const url of urls) {
      await expectSelfTarget('POST', '/config', upstream('loop', url), 'spec.targets[0].url', 0);
      await expectSelfTarget('POST', '/config?dryRun=true', upstream('loop', url), 'spec.targets[0].url', 0);
    }
    await expectSelfTarget('PUT', '/upstreams/loop', upstream('loop', `http://localhost:${admin}`), 'spec.targets[0].url');
    await expectSelfTarget('POST', '/upstreams', upstream('loop', `http://localhost:${proxy}`), 'spec.targets[0].url');
    expect((await p.admin('GET', '/upstreams/loop')).status).toBe(404);
  });

  it('refuses them in Istio and Kubernetes documents too', async () => {
    const serviceEntry = `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: loop }
spec:
  hosts: [loop.example.internal]
  ports: [{ number: ${port(p.tg.adminUrl)}, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
`;
    const res = await p.admin('POST', '/config?dryRun=true', serviceEntry, 'application/yaml');
    expect(res.status, res.body).toBe(422);
    expect(res.json().errors).toContainEqual(expect.objectContaining({ code: 'self_target', path: 'spec.targets[0].url' }));
    const externalName = `apiVersion: v1
kind: Service
metadata: { name: loop, namespace: default }
spec:
  type: ExternalName
  externalName: localhost
  ports: [{ name: http, port: ${port(p.tg.statusUrl)} }]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: { name: loop, namespace: default }
spec:
  hosts: [loop.example.com]
  http: [{ route: [{ destination: { host: loop, port: { number: ${port(p.tg.statusUrl)} } } }] }]
`;
    const k8s = await p.admin('POST', '/config?dryRun=true', externalName, 'application/yaml');
    expect(k8s.status, k8s.body).toBe(422);
    expect(k8s.json().errors).toContainEqual(expect.objectContaining({ code: 'self_target', path: 'spec.targets[0].url' }));
  });

  it('accepts other loopback ports, and a self target with allowSelfTarget: true', async () => {
    expect((await p.admin('POST', '/config?dryRun=true', upstream('other', 'http://127.0.0.1:9'), 'application/yaml')).status).toBe(200);
    const res = await p.admin('POST', '/config', upstream('loop', `http://127.0.0.1:${port(p.tg.proxyUrl)}`, '  allowSelfTarget: true\n'), 'application/yaml');
    expect(res.status, res.body).toBe(200);
    expect((await p.admin('GET', '/config')).body).toContain('allowSelfTarget: true');
  });
});

describe('a gateway refuses a snapshot that loops back to its own listeners', () => {
  let db: TestDatabase;
  let admin: TollgateProcess;
  let gateway: TollgateProcess;
  beforeAll(async () => {
    db = await createTestDatabase();
    const env = { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, CONFIG_POLL_MS: '200' };
    [admin, gateway] = await Promise.all([startTollgateProcess({ role: 'admin', env }), startTollgateProcess({ role: 'gateway', env })]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([admin?.stop(), gateway?.stop()]);
    await db?.drop();
  });

  it('keeps serving the previous snapshot and logs self_target', async () => {
    const version = async () => ((await (await fetch(`${gateway.statusUrl}/status`)).json()) as { config: { version: number } }).config.version;
    const before = await version();
    // The admin process listens elsewhere, so it cannot know this gateway's port and accepts it.
    const res = await fetch(`${admin.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: upstream('loop', `http://127.0.0.1:${port(gateway.proxyUrl)}`) });
    expect(res.status, await res.clone().text()).toBe(200);
    const deadline = Date.now() + 10_000;
    while (!gateway.output().includes('self_target') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(gateway.output()).toContain('self_target');
    expect(await version()).toBe(before);
  });
});
