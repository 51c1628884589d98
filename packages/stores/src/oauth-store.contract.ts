import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '@tollgate/model';
import { RecordNotFoundError, ResourceConflictError, type AuditStore, type ConfigStore } from './config-store.js';
import type { OAuthClientStore, SigningKeyRecord, SigningKeyStore } from './oauth-store.js';

/** What an OAuth store contract run needs: the stores of one database, and a peer's config view. */
export interface OAuthStoreHarness {
  config: ConfigStore;
  peer: ConfigStore;
  oauthClients: OAuthClientStore;
  signingKeys: SigningKeyStore;
  audit: AuditStore;
  destroy(): Promise<void>;
}

const consumer = (name: string): Resource => ({ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name, labels: {}, annotations: {} }, spec: { groups: [], jwtSubjects: [], keys: [], basicAuth: [], metadata: {} } }) as Resource;
const accept = () => [];
const key = (kid: string, from: number, privatePem = `pem-${kid}`): SigningKeyRecord => ({
  kid,
  alg: 'ES256',
  publicJwk: { kty: 'EC', crv: 'P-256', x: kid, y: kid },
  privatePem,
  activeFrom: new Date(from),
  activeUntil: new Date(from + 60_000),
  retireAt: new Date(from + 120_000),
});

/** The OAuthClientStore and SigningKeyStore contract. */
export function oauthStoreContract(name: string, factory: () => Promise<OAuthStoreHarness>): void {
  describe(`OAuth stores contract: ${name}`, () => {
    let h: OAuthStoreHarness;
    beforeAll(async () => {
      h = await factory();
      await h.config.apply([consumer('acme')], { validate: accept });
    });
    afterAll(async () => {
      await h?.destroy();
    });

    it('creating a client bumps the version, notifies a peer, and the peer snapshot holds it; revoking removes it', async () => {
      const versions: number[] = [];
      const stop = await h.peer.watch((v) => versions.push(v));
      const base = await h.config.version();
      const created = await h.oauthClients.create({ id: 'ocl_1', consumer: 'acme', secretHash: 'a'.repeat(64), scopes: ['orders:read'], name: 'ci' }, { action: 'oauth-client.create', requestId: 'r1' });
      expect(created.version).toBe(base + 1);
      expect(created.client).toMatchObject({ id: 'ocl_1', consumer: 'acme', scopes: ['orders:read'], name: 'ci' });
      expect((await h.peer.load()).oauthClients).toEqual([{ id: 'ocl_1', consumer: 'acme', secretHash: 'a'.repeat(64), scopes: ['orders:read'] }]);
      const revoked = await h.oauthClients.revoke('acme', 'ocl_1', { action: 'oauth-client.revoke', requestId: 'r2' });
      expect(revoked.version).toBe(base + 2);
      expect(revoked.client.revokedAt).toBeInstanceOf(Date);
      expect((await h.peer.load()).oauthClients).toEqual([]);
      expect((await h.oauthClients.list('acme')).map((c) => c.id)).toEqual(['ocl_1']);
      const deadline = Date.now() + 5000;
      while (!versions.includes(base + 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(versions).toContain(base + 2);
      await stop();
    });

    it('audits creation and revocation without the secret digest', async () => {
      await h.oauthClients.create({ id: 'ocl_2', consumer: 'acme', secretHash: 'b'.repeat(64), scopes: [] }, { action: 'oauth-client.create', requestId: 'r3' });
      const page = await h.audit.query({ limit: 50 });
      const entries = JSON.stringify(page.items.filter((e) => e.action.startsWith('oauth-client.')));
      expect(entries).toContain('ocl_2');
      expect(entries).not.toContain('b'.repeat(64));
      expect(entries).not.toContain('a'.repeat(64));
    });

    it('refuses a plaintext secret, an unknown consumer, and revoking twice or another consumer’s client', async () => {
      await expect(h.oauthClients.create({ id: 'ocl_x', consumer: 'acme', secretHash: 'plaintext-secret', scopes: [] })).rejects.toThrow(TypeError);
      await expect(h.oauthClients.create({ id: 'ocl_y', consumer: 'ghost', secretHash: 'c'.repeat(64), scopes: [] })).rejects.toBeInstanceOf(ResourceConflictError);
      await expect(h.oauthClients.revoke('acme', 'ocl_1')).rejects.toBeInstanceOf(RecordNotFoundError);
      await expect(h.oauthClients.revoke('other', 'ocl_2')).rejects.toBeInstanceOf(RecordNotFoundError);
    });

    it('signing keys: the first insert of a kid wins, live keys are listed by activeFrom, retired ones are deleted', async () => {
      const t = Date.now();
      const first = await h.signingKeys.insertIfAbsent(key('tgk_2', t));
      const racer = await h.signingKeys.insertIfAbsent(key('tgk_2', t, 'pem-of-the-losing-node'));
      expect(racer).toEqual(first);
      expect(racer.privatePem).toBe('pem-tgk_2');
      await h.signingKeys.insertIfAbsent(key('tgk_1', t - 60_000));
      await h.signingKeys.insertIfAbsent(key('tgk_0', t - 500_000));
      expect((await h.signingKeys.listLive(new Date(t))).map((k) => k.kid)).toEqual(['tgk_1', 'tgk_2']);
      expect(await h.signingKeys.deleteRetired(new Date(t))).toBe(1);
      expect(await h.signingKeys.deleteRetired(new Date(t))).toBe(0);
    });
  });
}
