import type { CompiledConfig, CompiledUpstream } from '@tollgate/compiler';
import { describe, expect, it } from 'vitest';
import { discoveredNames, expandDiscoveredTargets, type Endpoint } from './expand-targets.js';

function configWith(u: Partial<CompiledUpstream>): CompiledConfig {
  const upstream = { name: 'u', targets: [], subsets: {}, loadBalancing: 'round-robin', hashOn: null, connectMs: 1, responseHeadersMs: 1, idleMs: 1, maxConnectionsPerTarget: 1, maxPendingRequests: 1, maxRequestsPerConnection: 0, activeCheck: null, outlier: null, tls: null, ...u } as CompiledUpstream;
  return { version: 1, hash: 'h', upstreams: { u: upstream } } as unknown as CompiledConfig;
}

describe('expandDiscoveredTargets', () => {
  it('replaces a dns target by its addresses (port from the URL, Host and weight kept) and renumbers subsets', () => {
    const config = configWith({
      targets: [
        { origin: 'http://10.0.0.1:8080', weight: 5, labels: { v: '1' } },
        { origin: 'http://orders.shop.svc:8080', weight: 7, labels: { v: '2' }, discovery: 'dns' },
      ],
      subsets: { v1: [0], v2: [1] },
    });
    const found: Endpoint[] = [{ address: '10.1.0.1' }, { address: 'fd00::2' }];
    const out = expandDiscoveredTargets(config, (kind, host) => (kind === 'dns' && host === 'orders.shop.svc' ? found : null)).upstreams.u as CompiledUpstream;
    expect(out.targets.map((t) => [t.origin, t.weight, t.hostHeader])).toEqual([
      ['http://10.0.0.1:8080', 5, undefined],
      ['http://10.1.0.1:8080', 7, 'orders.shop.svc:8080'],
      ['http://[fd00::2]:8080', 7, 'orders.shop.svc:8080'],
    ]);
    expect(out.subsets).toEqual({ v1: [0], v2: [1, 2] });
    expect(config.upstreams.u?.targets).toHaveLength(2);
  });

  it('takes ports, weights and names from SRV records, and verifies https against the name', () => {
    const config = configWith({ targets: [{ origin: 'https://_https._tcp.api.svc', weight: 100, labels: {}, discovery: 'srv' }] });
    const out = expandDiscoveredTargets(config, () => [
      { address: '10.1.0.1', port: 8443, weight: 30, host: 'pod-a.api.svc' },
      { address: '10.1.0.2', port: 443, weight: 0, host: 'pod-b.api.svc' },
    ]).upstreams.u as CompiledUpstream;
    expect(out.targets.map((t) => [t.origin, t.weight, t.hostHeader])).toEqual([
      ['https://10.1.0.1:8443', 30, 'pod-a.api.svc:8443'],
      ['https://10.1.0.2:443', 1, 'pod-b.api.svc'],
    ]);
    expect(out.tls).toEqual({ rejectUnauthorized: true, servername: '_https._tcp.api.svc' });
  });

  it('keeps the name itself until it was resolved once, and an address found twice once', () => {
    const config = configWith({
      targets: [
        { origin: 'http://a.svc', weight: 1, labels: {}, discovery: 'dns' },
        { origin: 'http://b.svc', weight: 1, labels: {}, discovery: 'dns' },
      ],
    });
    const out = expandDiscoveredTargets(config, (_k, host) => (host === 'b.svc' ? [{ address: '10.0.0.9' }] : null)).upstreams.u as CompiledUpstream;
    expect(out.targets.map((t) => t.origin)).toEqual(['http://a.svc', 'http://10.0.0.9:80']);
    const same = expandDiscoveredTargets(config, () => [{ address: '10.0.0.9' }]).upstreams.u as CompiledUpstream;
    expect(same.targets.map((t) => t.origin)).toEqual(['http://10.0.0.9:80']);
  });

  it('leaves a config without discovered targets untouched, and lists the names to resolve', () => {
    const plain = configWith({ targets: [{ origin: 'http://10.0.0.1:80', weight: 1, labels: {} }] });
    expect(expandDiscoveredTargets(plain, () => [])).toBe(plain);
    const named = configWith({ targets: [{ origin: 'http://a.svc', weight: 1, labels: {}, discovery: 'dns' }, { origin: 'http://_h._tcp.b.svc', weight: 1, labels: {}, discovery: 'srv' }] });
    expect(discoveredNames(named)).toEqual([
      { kind: 'dns', host: 'a.svc' },
      { kind: 'srv', host: '_h._tcp.b.svc' },
    ]);
  });
});
