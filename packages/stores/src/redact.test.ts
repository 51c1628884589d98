import { describe, expect, it } from 'vitest';
import { REDACTED, redact } from './redact.js';

describe('redact', () => {
  it('replaces keys, digests, secrets, passwords, tokens and private keys at any depth, in any casing', () => {
    const input = {
      kind: 'Certificate',
      spec: {
        certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
        key: 'k',
        privateKey: 'pk',
        keys: [{ name: 'ci', hash: 'h', key: 'plain' }],
        policies: [{ name: 'jwt-auth', config: { issuers: [{ hmacSecret: 's', clientSECRET: 's2', password: 'p', accessToken: 't', apiKey: 'a' }] } }],
        pem: '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----',
        other: '-----BEGIN EC PRIVATE KEY-----',
      },
    };
    expect(redact(input)).toEqual({
      kind: 'Certificate',
      spec: {
        certificate: input.spec.certificate,
        key: REDACTED,
        privateKey: REDACTED,
        keys: [{ name: 'ci', hash: REDACTED, key: REDACTED }],
        policies: [{ name: 'jwt-auth', config: { issuers: [{ hmacSecret: REDACTED, clientSECRET: REDACTED, password: REDACTED, accessToken: REDACTED, apiKey: REDACTED }] } }],
        pem: REDACTED,
        other: REDACTED,
      },
    });
  });

  it('keeps ordinary values and does not modify its input', () => {
    const input = { name: 'a', n: 1, ok: true, nothing: null, list: ['x'], at: new Date(0) };
    expect(redact(input)).toEqual({ name: 'a', n: 1, ok: true, nothing: null, list: ['x'], at: '1970-01-01T00:00:00.000Z' });
    expect(input.at).toBeInstanceOf(Date);
  });

  it('copies only what holds a secret: unchanged arrays and objects are returned themselves', () => {
    const api = { kind: 'Api', metadata: { name: 'a' }, spec: { basePath: '/a', routes: [{ name: 'r', match: [{ path: { prefix: '/' } }] }] } };
    expect(redact(api)).toBe(api);
    const withSecret = { kind: 'Webhook', metadata: { name: 'w' }, spec: { url: 'https://x', secret: 's', events: ['a'] }, z: 1 };
    const out = redact({ 'Api/a': api, 'Webhook/w': withSecret }) as Record<string, typeof withSecret>;
    expect(out['Api/a']).toBe(api);
    const w = out['Webhook/w'] as typeof withSecret;
    expect(w).not.toBe(withSecret);
    expect(w.metadata).toBe(withSecret.metadata);
    expect(w.spec.events).toBe(withSecret.spec.events);
    expect(w.spec).toEqual({ url: 'https://x', secret: REDACTED, events: ['a'] });
    // The fields keep their order (the audit entry reads as the document did), the input its secret.
    expect(Object.keys(w)).toEqual(['kind', 'metadata', 'spec', 'z']);
    expect(Object.keys(w.spec)).toEqual(['url', 'secret', 'events']);
    expect(withSecret.spec.secret).toBe('s');
    const list = ['a', '-----BEGIN PRIVATE KEY-----', 'c'];
    expect(redact(list)).toEqual(['a', REDACTED, 'c']);
    expect(list[1]).toBe('-----BEGIN PRIVATE KEY-----');
  });
});
