import { createPublicKey, createVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteStores, type SqlStores } from '@tollgate/stores';
import { StoreTokenSigner } from './token-signer.js';

/** The embedded (PGlite, in memory) stores: the real SQL signing-key store, cheap to create per test. */
async function pglite(): Promise<SqlStores> {
  return createPgliteStores();
}

/** The kids stored, by activeFrom. */
async function kids(stores: SqlStores): Promise<string[]> {
  return (await stores.signingKeys.listLive(new Date(0))).map((k) => k.kid);
}

const logger = { info() {}, warn() {}, error() {} };
const R = 10_000;
const TTL = 3_000;

describe('StoreTokenSigner', () => {
  // Two databases for the file (PGlite takes seconds to start): one stays up, one is closed midway.
  let up: SqlStores;
  let closed: SqlStores;
  beforeAll(async () => {
    [up, closed] = await Promise.all([pglite(), pglite()]);
  });
  afterAll(async () => {
    await up?.close();
  });

  it("creates this slot's key and the next one, signs with this slot's, publishes both without private material", async () => {
    let t = 5 * R + 1_000;
    const stores = up;
    const signer = new StoreTokenSigner({ store: stores.signingKeys, issuer: 'https://gw', rotationMs: R, maxTokenTtlMs: TTL, logger, now: () => t });
    await signer.sync();
    expect(await kids(stores)).toEqual([`tgk_${(5 * R).toString(36)}`, `tgk_${(6 * R).toString(36)}`]);
    const key = signer.signingKey();
    expect(key?.kid).toBe(`tgk_${(5 * R).toString(36)}`);
    const jwks = signer.jwks();
    expect(jwks.keys).toHaveLength(2);
    for (const k of jwks.keys) expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String) });
    expect(JSON.stringify(jwks)).not.toMatch(/"d"/);
    // The published key verifies what the signing key signs.
    const data = Buffer.from('payload');
    const { sign } = await import('node:crypto');
    const sig = sign('sha256', data, { key: key?.privateKey as never, dsaEncoding: 'ieee-p1363' });
    expect(createVerify('sha256').update(data).verify({ key: createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    // Next slot: the pre-published key signs, a new next one appears; the old stays verifiable.
    t = 6 * R + 10;
    await signer.sync();
    expect(signer.signingKey()?.kid).toBe(`tgk_${(6 * R).toString(36)}`);
    expect(signer.verificationKey(`tgk_${(5 * R).toString(36)}`)).toBeDefined();
    expect(signer.jwks().keys).toHaveLength(3);
    // After the longest token lifetime (+ skew) the old key leaves the JWKS and the database.
    t = 6 * R + TTL + 61_000;
    await signer.sync();
    expect(signer.verificationKey(`tgk_${(5 * R).toString(36)}`)).toBeUndefined();
    expect(await kids(stores)).not.toContain(`tgk_${(5 * R).toString(36)}`);
  });

  it('two nodes racing agree on one key per slot', async () => {
    const stores = up;
    const t = 3 * R;
    const a = new StoreTokenSigner({ store: stores.signingKeys, issuer: 'i', rotationMs: R, maxTokenTtlMs: TTL, logger, now: () => t });
    const b = new StoreTokenSigner({ store: stores.signingKeys, issuer: 'i', rotationMs: R, maxTokenTtlMs: TTL, logger, now: () => t });
    await Promise.all([a.sync(), b.sync()]);
    expect(a.jwks()).toEqual(b.jwks());
    expect(a.signingKey()?.kid).toBe(b.signingKey()?.kid);
    expect((await kids(stores)).filter((k) => k === `tgk_${(3 * R).toString(36)}` || k === `tgk_${(4 * R).toString(36)}`)).toHaveLength(2);
  });

  it('keeps the keys in memory while the store is down, and stops signing once a token would outlive its key', async () => {
    let t = 2 * R;
    const stores = closed;
    const signer = new StoreTokenSigner({ store: stores.signingKeys, issuer: 'i', rotationMs: R, maxTokenTtlMs: TTL, logger, now: () => t });
    await signer.sync();
    // The database goes away: every later read fails.
    await stores.close();
    t = 3 * R + 500;
    await signer.sync();
    // Slot 3's key was published ahead: it signs although the store is unreachable.
    expect(signer.signingKey()?.kid).toBe(`tgk_${(3 * R).toString(36)}`);
    t = 4 * R + 61_000;
    expect(signer.signingKey()).toBeUndefined();
  });

  it('has no key before its first successful sync (the token endpoint answers 503)', async () => {
    // The database closed by the previous test.
    const stores = closed;
    const signer = new StoreTokenSigner({ store: stores.signingKeys, issuer: 'i', rotationMs: R, maxTokenTtlMs: TTL, logger });
    await signer.sync();
    expect(signer.signingKey()).toBeUndefined();
    expect(signer.jwks().keys).toEqual([]);
  });
});
