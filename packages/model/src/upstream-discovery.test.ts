import { describe, expect, it } from 'vitest';
import { parseResourcesYaml } from './parse.js';

const upstream = (target: string) => `apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: u }\nspec:\n  targets: [${target}]\n`;

describe('Upstream target discovery', () => {
  it('accepts a DNS name (dns) and an RFC 2782 SRV name without a port (srv)', () => {
    for (const t of ['{ url: "http://orders.shop.svc.cluster.local:8080", discovery: dns }', '{ url: "http://_http._tcp.orders.shop.svc.cluster.local", discovery: srv }']) {
      const r = parseResourcesYaml(upstream(t));
      expect(r.ok, t).toBe(true);
    }
  });

  it('refuses an IP address to resolve, an SRV name of another shape, and an SRV name with a port', () => {
    const cases: Array<[string, string]> = [
      ['{ url: "http://10.0.0.5:8080", discovery: dns }', 'is an IP address'],
      ['{ url: "http://orders.svc", discovery: srv }', '_service._proto.name'],
      ['{ url: "http://_http._tcp.orders.svc:8080", discovery: srv }', 'leave it out of url'],
    ];
    for (const [t, message] of cases) {
      const r = parseResourcesYaml(upstream(t));
      expect(r.ok, t).toBe(false);
      expect(JSON.stringify(r), t).toContain(message);
    }
  });
});
