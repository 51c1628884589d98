import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, eventually, send, startTestGateway, TestConfigSource, yamlResources, type RunningGateway } from '../gateway/harness.js';
import { startTestDnsServer, type TestDnsServer } from '../support/dns-server.js';

// Upstream targets found by DNS (A/AAAA and SRV), as a Kubernetes headless Service serves them:
// pods are loopback addresses 127.0.0.2 and 127.0.0.3 on one port, and 127.0.0.1 on two others.

/** Which backends are sick: their /health answers 503. */
const sick = new Set<string>();
const servers: Server[] = [];

function backend(name: string, host: string, port: number): Promise<number> {
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      res.statusCode = sick.has(name) ? 503 : 200;
      res.end();
      return;
    }
    res.end(`${name} host=${req.headers.host}`);
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(port, host, () => resolve((server.address() as AddressInfo).port)));
}

let dns: TestDnsServer;
let g: RunningGateway;
let pods: number;
let srvA: number;
let srvB: number;

const config = () =>
  yamlResources(
    `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: headless }
spec:
  targets: [{ url: "http://orders.shop.test:${pods}", discovery: dns }]
  healthChecks:
    active: { path: /health, intervalMs: 400, timeoutMs: 400, healthyThreshold: 1, unhealthyThreshold: 2 }
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: by-srv }
spec:
  targets: [{ url: "http://_http._tcp.billing.test", discovery: srv }]
` +
      apiYaml(
        'd',
        `routes:
  - { name: a, match: [{ path: { prefix: /orders } }], destination: { upstream: headless } }
  - { name: s, match: [{ path: { prefix: /billing } }], destination: { upstream: by-srv } }`,
      ),
  );

async function tally(path: string, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await send(g.port, { path });
    const k = r.status === 200 ? (r.body.split(' ')[0] as string) : String(r.status);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

async function targetHealth(): Promise<string[]> {
  const text = (await g.gw.status.inject({ url: '/metrics' })).body;
  return text.split('\n').filter((l) => l.startsWith('tollgate_upstream_target_health{upstream="headless"'));
}

beforeAll(async () => {
  dns = await startTestDnsServer();
  pods = await backend('pod-2', '127.0.0.2', 0);
  await backend('pod-3', '127.0.0.3', pods);
  srvA = await backend('srv-a', '127.0.0.1', 0);
  srvB = await backend('srv-b', '127.0.0.1', 0);
  dns.records.set('orders.shop.test', { A: ['127.0.0.2'], ttl: 1 });
  dns.records.set('_http._tcp.billing.test', { SRV: [{ target: 'billing-0.billing.test', port: srvA }, { target: 'billing-1.billing.test', port: srvB }] });
  dns.records.set('billing-0.billing.test', { A: ['127.0.0.1'] });
  dns.records.set('billing-1.billing.test', { A: ['127.0.0.1'] });
  g = await startTestGateway(new TestConfigSource(config()), { dnsServers: [dns.address], preserveHost: false });
});

afterAll(async () => {
  await g?.close();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await dns?.close();
});

describe('upstream targets from DNS', () => {
  it('sends to the addresses DNS gives, follows the records after their TTL, and balances and health-checks the resolved set', async () => {
    expect(await tally('/orders/x', 4)).toEqual({ 'pod-2': 4 });
    // Host (preserveHost off) is the name, not the address.
    expect((await send(g.port, { path: '/orders/x' })).body).toBe(`pod-2 host=orders.shop.test:${pods}`);
    dns.records.set('orders.shop.test', { A: ['127.0.0.2', '127.0.0.3'], ttl: 1 });
    await eventually(async () => (await tally('/orders/x', 4))['pod-3'] !== undefined, 8_000);
    expect(await tally('/orders/x', 6)).toEqual({ 'pod-2': 3, 'pod-3': 3 });
    expect(await targetHealth()).toEqual([
      `tollgate_upstream_target_health{upstream="headless",target="http://127.0.0.2:${pods}"} 1`,
      `tollgate_upstream_target_health{upstream="headless",target="http://127.0.0.3:${pods}"} 1`,
    ]);
    // The active health check runs on each resolved address.
    sick.add('pod-3');
    await eventually(async () => (await targetHealth()).some((l) => l.includes('127.0.0.3') && l.endsWith(' 0')), 5_000);
    expect(await tally('/orders/x', 4)).toEqual({ 'pod-2': 4 });
    sick.delete('pod-3');
    await eventually(async () => (await targetHealth()).every((l) => l.endsWith(' 1')), 5_000);
  });

  it('keeps the last addresses found while DNS fails', async () => {
    dns.failing = true;
    const lookups = () => dns.queries.filter((q) => q === 'A orders.shop.test').length;
    const asked = lookups();
    // Failed lookups are retried every 5 s: wait for one to have been answered SERVFAIL.
    await eventually(() => lookups() > asked, 8_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(await tally('/orders/x', 6)).toEqual({ 'pod-2': 3, 'pod-3': 3 });
    dns.failing = false;
  });

  it('uses the ports of SRV records', async () => {
    expect(await tally('/billing/x', 6)).toEqual({ 'srv-a': 3, 'srv-b': 3 });
    expect((await send(g.port, { path: '/billing/x' })).body).toMatch(/^srv-[ab] host=billing-[01]\.billing\.test:\d+$/);
    expect(srvA).not.toBe(srvB);
  });
});
