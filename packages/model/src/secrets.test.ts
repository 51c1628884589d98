import { describe, expect, it } from 'vitest';
import { hasRedactedSecret, REDACTED_SECRET, redactedSecretPaths, redactSecrets, restoreSecrets } from './secrets.js';

const upstream = { kind: 'Upstream', spec: { targets: [], tls: { clientCertificate: 'CERT', clientKey: 'KEY', insecureSkipVerify: false } } };

const jwt = (issuer: string, secrets: string[]) => ({ name: 'jwt-auth', config: { issuers: [{ issuer, algorithms: ['HS256'], secrets }] } });
const api = {
  kind: 'Api',
  spec: {
    policies: [{ name: 'ip-restriction', config: { allow: ['10.0.0.0/8'] } }, jwt('https://a', ['secret-a-0', 'secret-a-1'])],
    routes: [{ name: 'r1', policies: [jwt('https://b', ['secret-b'])] }, { name: 'r2', policies: [] }],
  },
};

describe('secrets', () => {
  it('redacts the secret fields of a kind and nothing else, without touching the input', () => {
    const r = redactSecrets(upstream);
    expect(r.spec.tls).toEqual({ clientCertificate: 'CERT', clientKey: REDACTED_SECRET, insecureSkipVerify: false });
    expect(upstream.spec.tls.clientKey).toBe('KEY');
    expect(redactSecrets({ kind: 'Upstream', spec: { targets: [] } })).toEqual({ kind: 'Upstream', spec: { targets: [] } });
  });

  it('redacts jwt-auth HMAC secrets on APIs and routes, and nothing else of the policies', () => {
    const r = redactSecrets(api);
    expect(JSON.stringify(r)).not.toMatch(/secret-/);
    expect(r.spec.policies[0]).toEqual(api.spec.policies[0]);
    expect(redactedSecretPaths(r)).toEqual([
      ['spec', 'policies', 1, 'config', 'issuers', 0, 'secrets', 0],
      ['spec', 'policies', 1, 'config', 'issuers', 0, 'secrets', 1],
      ['spec', 'routes', 0, 'policies', 0, 'config', 'issuers', 0, 'secrets', 0],
    ]);
  });

  it('redacts consumer request-signing HMAC secrets (not Ed25519 public keys) and restores them by key id', () => {
    const consumer = { kind: 'Consumer', spec: { signatureKeys: [{ keyId: 'pub', algorithm: 'ed25519', publicKey: 'PUBLIC' }, { keyId: 'mac', algorithm: 'hmac-sha256', secret: 'secret-hmac' }] } };
    const r = redactSecrets(consumer);
    expect(JSON.stringify(r)).not.toContain('secret-hmac');
    expect(r.spec.signatureKeys[0]).toEqual(consumer.spec.signatureKeys[0]);
    expect(redactedSecretPaths(r)).toEqual([['spec', 'signatureKeys', 1, 'secret']]);
    const reordered = { ...r, spec: { signatureKeys: [r.spec.signatureKeys[1], r.spec.signatureKeys[0]] } };
    expect((restoreSecrets(reordered, consumer) as typeof consumer).spec.signatureKeys[0]).toEqual(consumer.spec.signatureKeys[1]);
  });

  it('redacts the client and session secrets of oidc-login', () => {
    const doc = { kind: 'Api', spec: { policies: [{ name: 'oidc-login', config: { issuer: 'https://id.test', clientSecret: 'secret-client', sessionSecret: 'secret-session' } }], routes: [] } };
    const r = redactSecrets(doc);
    expect(JSON.stringify(r)).not.toMatch(/secret-/);
    expect(r.spec.policies[0]?.config.issuer).toBe('https://id.test');
    expect(restoreSecrets(r, doc)).toEqual(doc);
  });

  it('restores markers from the stored resource by name, even when lists were reordered', () => {
    expect(restoreSecrets(redactSecrets(upstream), upstream)).toEqual(upstream);
    const submitted = redactSecrets(api);
    expect(restoreSecrets(submitted, api)).toEqual(api);
    // Routes swapped: the secret follows the route name, not the position.
    const swapped = { ...submitted, spec: { ...submitted.spec, routes: [submitted.spec.routes[1], submitted.spec.routes[0]] } };
    const restored = restoreSecrets(swapped, api) as typeof api;
    expect(restored.spec.routes[1]).toEqual(api.spec.routes[0]);
  });

  it('leaves real values alone, and markers with nothing stored in place', () => {
    expect(restoreSecrets(upstream, { kind: 'Upstream', spec: { tls: { clientKey: 'OLD' } } })).toEqual(upstream);
    const submitted = redactSecrets(upstream);
    expect(hasRedactedSecret(submitted)).toBe(true);
    expect(restoreSecrets(submitted, undefined)).toEqual(submitted);
    const otherIssuer = restoreSecrets(redactSecrets(api), { kind: 'Api', spec: { policies: [jwt('https://elsewhere', ['x'.repeat(40)])], routes: [] } });
    expect(hasRedactedSecret(otherIssuer)).toBe(true);
  });
});
