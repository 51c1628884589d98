import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '@tollgate/model';
import { RecordNotFoundError, ResourceConflictError, type ApiKeyStore, type AuditStore, type ConfigStore } from './config-store.js';

/** What an API-key contract run needs: the stores of one database, and a peer's config view. */
export interface ApiKeyStoreHarness {
  config: ConfigStore;
  peer: ConfigStore;
  apiKeys: ApiKeyStore;
  audit: AuditStore;
  destroy(): Promise<void>;
}

const consumer = (name: string): Resource => ({ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name, labels: {}, annotations: {} }, spec: { groups: [], jwtSubjects: [], keys: [], metadata: {} } }) as Resource;
const hex = (c: string) => c.repeat(64);
const accept = () => [];

/** The ApiKeyStore contract: keys are config changes (version + notify) and never hold plaintext. */
export function apiKeyStoreContract(name: string, factory: () => Promise<ApiKeyStoreHarness>): void {
  describe(`ApiKeyStore contract: ${name}`, () => {
    let h: ApiKeyStoreHarness;
    beforeAll(async () => {
      h = await factory();
      await h.config.apply([consumer('acme')], { validate: accept });
    });
    afterAll(async () => {
      await h?.destroy();
    });

    it('creating a key bumps the version, notifies a peer, and appears in the peer snapshot; revoking removes it', async () => {
      const versions: number[] = [];
      const stop = await h.peer.watch((v) => versions.push(v));
      const base = await h.config.version();
      const expiresAt = new Date(Date.now() + 60_000);
      const created = await h.apiKeys.create({ id: 'key_01', consumer: 'acme', hash: hex('1'), prefix: 'tg_AAAAA', last4: 'zzzz', name: 'ci', expiresAt }, { action: 'api-key.create', requestId: 'r1' });
      expect(created.version).toBe(base + 1);
      expect(created.key).toMatchObject({ id: 'key_01', consumer: 'acme', name: 'ci', prefix: 'tg_AAAAA', last4: 'zzzz' });
      await expect.poll(() => versions, { timeout: 1_000 }).toContain(base + 1);
      expect((await h.peer.load()).apiKeys).toEqual([{ id: 'key_01', consumer: 'acme', hash: hex('1'), prefix: 'tg_AAAAA', last4: 'zzzz', expiresAt }]);
      const revoked = await h.apiKeys.revoke('acme', 'key_01', { action: 'api-key.revoke', requestId: 'r2' });
      expect(revoked.version).toBe(base + 2);
      expect(revoked.key.revokedAt).toBeInstanceOf(Date);
      await expect.poll(() => versions, { timeout: 1_000 }).toContain(base + 2);
      expect((await h.peer.load()).apiKeys).toEqual([]);
      expect((await h.apiKeys.list('acme')).map((k) => [k.id, k.revokedAt instanceof Date])).toEqual([['key_01', true]]);
      await stop();
      const audit = await h.audit.query({ limit: 10 });
      expect(audit.items.map((e) => [e.action, e.outcome, e.requestId])).toEqual([
        ['api-key.revoke', 'success', 'r2'],
        ['api-key.create', 'success', 'r1'],
      ]);
      expect(JSON.stringify(audit.items)).not.toContain(hex('1'));
    });

    it('refuses an unknown consumer, a plaintext instead of a digest, a duplicate hash, and revoking twice, changing nothing', async () => {
      const base = await h.config.version();
      await expect(h.apiKeys.create({ id: 'key_02', consumer: 'nobody', hash: hex('2'), prefix: 'tg_', last4: 'aaaa' })).rejects.toBeInstanceOf(ResourceConflictError);
      await expect(h.apiKeys.create({ id: 'key_03', consumer: 'acme', hash: 'tg_plaintext', prefix: 'tg_', last4: 'aaaa' })).rejects.toThrow(/SHA-256/);
      await expect(h.apiKeys.create({ id: 'key_04', consumer: 'acme', hash: hex('1'), prefix: 'tg_', last4: 'aaaa' })).rejects.toThrow();
      await expect(h.apiKeys.revoke('acme', 'key_01')).rejects.toBeInstanceOf(RecordNotFoundError);
      expect(await h.config.version()).toBe(base);
    });

    it('deleting the consumer revokes its keys in the same change', async () => {
      await h.apiKeys.create({ id: 'key_05', consumer: 'acme', hash: hex('5'), prefix: 'tg_', last4: 'bbbb' });
      const res = await h.config.delete('Consumer', 'acme', { validate: accept });
      const snapshot = await h.config.load();
      expect(snapshot.version).toBe(res.version);
      expect(snapshot.apiKeys).toEqual([]);
    });
  });
}
