import { describe, expect, it } from 'vitest';
import { TrustedProxies, unmapIp } from './client-address.js';

describe('TrustedProxies', () => {
  it('trusts nobody by default', () => {
    const t = new TrustedProxies([]);
    expect(t.isTrusted('127.0.0.1')).toBe(false);
    expect(t.clientIp('10.0.0.1', '1.2.3.4')).toBe('10.0.0.1');
  });

  it('walks X-Forwarded-For right to left past trusted proxies', () => {
    const t = new TrustedProxies(['10.0.0.0/8', '2001:db8::/32']);
    expect(t.clientIp('10.0.0.1', '198.51.100.7, 10.0.0.2')).toBe('198.51.100.7');
    // A spoofed left-most entry is ignored: the first untrusted hop from the right wins.
    expect(t.clientIp('10.0.0.1', '1.1.1.1, 198.51.100.7, 10.9.9.9')).toBe('198.51.100.7');
    expect(t.clientIp('2001:db8::1', '203.0.113.5')).toBe('203.0.113.5');
    expect(t.clientIp('192.0.2.1', '198.51.100.7')).toBe('192.0.2.1');
    expect(t.clientIp('10.0.0.1', 'garbage')).toBe('10.0.0.1');
    expect(t.clientIp('10.0.0.1', '10.0.0.3, 10.0.0.2')).toBe('10.0.0.3');
  });

  it('refuses entries that are not IPs or CIDRs', () => {
    expect(() => new TrustedProxies(['proxy.local'])).toThrow(/trustedProxies/);
  });

  it('unmaps IPv4-mapped IPv6 addresses', () => {
    expect(unmapIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(unmapIp('::1')).toBe('::1');
    expect(unmapIp('10.0.0.1')).toBe('10.0.0.1');
  });
});
