import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsServer } from '../../../../test/support/dns-server.js';
import { DnsDiscovery } from './dns-discovery.js';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DnsDiscovery against a DNS server', () => {
  let dns: TestDnsServer;
  beforeAll(async () => {
    dns = await startTestDnsServer();
  });
  afterAll(async () => {
    await dns.close();
  });

  it('resolves A and AAAA, follows a change after the TTL, and keeps the last set while DNS fails', async () => {
    dns.records.set('web.test', { A: ['10.0.0.2'], AAAA: ['fd00::1'], ttl: 1 });
    let changes = 0;
    const d = new DnsDiscovery({ logger: silent, servers: [dns.address], onChange: () => changes++, retryMs: 300 });
    try {
      await d.track([{ kind: 'dns', host: 'web.test' }]);
      expect(d.lookup('dns', 'web.test')).toEqual([{ address: '10.0.0.2' }, { address: 'fd00::1' }]);
      dns.records.set('web.test', { A: ['10.0.0.2', '10.0.0.3'], ttl: 1 });
      const t0 = Date.now();
      while (changes === 0 && Date.now() - t0 < 4_000) await sleep(50);
      expect(changes).toBe(1);
      expect(d.lookup('dns', 'web.test')).toEqual([{ address: '10.0.0.2' }, { address: '10.0.0.3' }]);
      dns.failing = true;
      const asked = dns.queries.length;
      await sleep(1_800);
      expect(dns.queries.length).toBeGreaterThan(asked);
      expect(d.lookup('dns', 'web.test')).toEqual([{ address: '10.0.0.2' }, { address: '10.0.0.3' }]);
      expect(changes).toBe(1);
    } finally {
      dns.failing = false;
      d.close();
    }
  });

  it('reads SRV records of the lowest priority and resolves their targets', async () => {
    dns.records.set('_http._tcp.api.test', {
      SRV: [
        { target: 'a.api.test', port: 8081, priority: 10, weight: 60 },
        { target: 'b.api.test', port: 8082, priority: 10, weight: 40 },
        { target: 'backup.api.test', port: 9000, priority: 20 },
      ],
    });
    dns.records.set('a.api.test', { A: ['10.0.1.1'] });
    dns.records.set('b.api.test', { A: ['10.0.1.2'] });
    dns.records.set('backup.api.test', { A: ['10.0.9.9'] });
    const d = new DnsDiscovery({ logger: silent, servers: [dns.address], onChange: () => undefined });
    try {
      await d.track([{ kind: 'srv', host: '_http._tcp.api.test' }]);
      expect(d.lookup('srv', '_http._tcp.api.test')).toEqual([
        { address: '10.0.1.1', port: 8081, weight: 60, host: 'a.api.test' },
        { address: '10.0.1.2', port: 8082, weight: 40, host: 'b.api.test' },
      ]);
      // A name that never resolved stays unknown (the target is then used as written).
      await d.track([{ kind: 'dns', host: 'missing.test' }]);
      expect(d.lookup('dns', 'missing.test')).toBeNull();
      expect(d.lookup('srv', '_http._tcp.api.test')).toBeNull();
    } finally {
      d.close();
    }
  });
});
