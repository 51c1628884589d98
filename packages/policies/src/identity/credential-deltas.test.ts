import { describe, expect, it } from 'vitest';
import { hashPasswordSync, parseResourcesYaml, type ConsumerResource, type Resource } from '@tollgate/model';
import { IdentityIndex } from './index.js';

function consumers(yaml: string): Resource[] {
  const r = parseResourcesYaml(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

const HMAC = 'a-shared-secret-of-at-least-32-characters!';
const FP = 'ab'.repeat(32);

function acme(extra: string): ConsumerResource {
  return consumers(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: acme }
spec:
${extra}`)[0] as ConsumerResource;
}

const FULL = acme(`  scopes: [orders:read, orders:write]
  basicAuth: [{ username: alice, passwordHash: "${hashPasswordSync('correct horse battery')}" }]
  signatureKeys: [{ keyId: acme-hmac, algorithm: hmac-sha256, secret: "${HMAC}" }]
  certificates: [{ fingerprint: "${FP}" }]
`);
const CLIENT = { id: 'ocl_1', consumer: 'acme', secretHash: 'ff'.repeat(32), scopes: ['orders:read', 'orders:write'] };
const facts = { fingerprint: FP, subject: 'CN=x', sans: [] };

/**
 * The credentials auth policies added beside API keys (basic-auth user names, OAuth clients,
 * request-signing keys, certificate selectors) must follow a Consumer changed on the change feed
 * exactly as its keys do: a delta that drops one stops it at once, a delete drops them all.
 */
describe('IdentityIndex: other credentials follow Consumer deltas', () => {
  it('serves them from the snapshot', () => {
    const index = new IdentityIndex([FULL], [], undefined, [CLIENT]);
    expect(index.byUsername('alice')?.consumer.name).toBe('acme');
    expect(index.credentials.signatureKey('acme-hmac')?.consumer.name).toBe('acme');
    expect(index.credentials.certificate(facts)).toMatchObject({ name: 'acme' });
    expect([...(index.byClientId('ocl_1')?.scopes ?? [])]).toEqual(['orders:read', 'orders:write']);
  });

  it('a changed Consumer drops what it no longer declares and narrows its clients to its scopes', () => {
    const index = new IdentityIndex([FULL], [], undefined, [CLIENT]);
    index.applyConsumers([{ name: 'acme', resource: acme('  scopes: [orders:read]\n') }]);
    expect(index.byUsername('alice')).toBeUndefined();
    expect(index.credentials.signatureKey('acme-hmac')).toBeUndefined();
    expect(index.credentials.certificate(facts)).toBeNull();
    expect([...(index.byClientId('ocl_1')?.scopes ?? [])]).toEqual(['orders:read']);
  });

  it('a deleted Consumer takes every credential with it, and a clash clears when one claimant leaves', () => {
    const other = consumers(`apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: beta }
spec:
  signatureKeys: [{ keyId: acme-hmac, algorithm: hmac-sha256, secret: "${HMAC}" }]
`)[0] as ConsumerResource;
    const index = new IdentityIndex([FULL, other], [], undefined, [CLIENT]);
    // Claimed by two consumers: nobody.
    expect(index.credentials.signatureKey('acme-hmac')).toBeUndefined();
    index.applyConsumers([{ name: 'acme', resource: null }]);
    expect(index.byUsername('alice')).toBeUndefined();
    expect(index.byClientId('ocl_1')).toBeUndefined();
    expect(index.credentials.certificate(facts)).toBeNull();
    expect(index.credentials.signatureKey('acme-hmac')?.consumer.name).toBe('beta');
  });
});
