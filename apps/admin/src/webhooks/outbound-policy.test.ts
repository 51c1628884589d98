import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { guardedLookup, parseCidrs, refusedAddress, refusedUrl, type OutboundPolicy } from './outbound-policy.js';

const strict: OutboundPolicy = { allowPrivate: false, allow: new BlockList(), ownPorts: new Set([8000, 8001]) };

describe('outbound policy (SSRF)', () => {
  it('refuses loopback, link-local, private, CGNAT, unspecified and IPv6 special addresses by default', () => {
    for (const u of ['http://127.0.0.1/', 'http://127.8.9.10:81/', 'http://localhost/', 'http://api.localhost./', 'http://10.0.0.1/', 'http://172.16.5.5/', 'http://192.168.1.1/', 'http://169.254.169.254/', 'http://100.64.0.1/', 'http://0.0.0.0/', 'http://[::1]/', 'http://[fe80::1]/', 'http://[fd00::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::]/']) {
      expect(refusedUrl(u, strict), u).not.toBeNull();
    }
  });

  it('lets public addresses and DNS names through at apply (names are checked after resolution)', () => {
    for (const u of ['https://203.0.113.7/hook', 'https://hooks.example.com/x', 'http://[2001:db8::1]/']) expect(refusedUrl(u, strict), u).toBeNull();
  });

  it('allows listed ranges, or everything with allowPrivate, but never this node\'s own ports', () => {
    const listed: OutboundPolicy = { ...strict, allow: parseCidrs('127.0.0.1/32, 10.20.0.0/16') };
    expect(refusedUrl('http://127.0.0.1:9999/', listed)).toBeNull();
    expect(refusedUrl('http://10.20.3.4/', listed)).toBeNull();
    expect(refusedUrl('http://10.21.3.4/', listed)).not.toBeNull();
    expect(refusedUrl('http://127.0.0.1:8001/', listed)).toMatch(/own listeners/);
    const open: OutboundPolicy = { ...strict, allowPrivate: true };
    expect(refusedUrl('http://192.168.0.1/', open)).toBeNull();
    expect(refusedUrl('http://localhost:8000/', open)).toMatch(/own listeners/);
    expect(refusedAddress('8.8.8.8', 8000, strict)).toBeNull();
  });

  it('rejects malformed CIDR lists', () => {
    expect(() => parseCidrs('10.0.0.0/33')).toThrow(/WEBHOOK_ALLOW_CIDRS/);
    expect(() => parseCidrs('example.com')).toThrow(/WEBHOOK_ALLOW_CIDRS/);
  });

  it('refuses a DNS name that resolves to a refused address at connect time', async () => {
    const lookup = guardedLookup(strict, 80);
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => lookup('localhost', {}, (e) => resolve(e)));
    expect(err?.code).toBe('WEBHOOK_SSRF_REFUSED');
  });
});
