import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '@tollgate/model';
import { ConsumersNotFoundError, RecordNotFoundError, ResourceConflictError, type ApiKeyStore, type AuditStore, type ConfigStore } from './config-store.js';

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

/** The ApiKeyStore contract: keys are change-feed deltas (position + notify, no version bump) and never hold plaintext. */
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

    it('creating a key advances the change feed (not the version), notifies a peer with the position, and the peer reads the delta; revoking removes it', async () => {
      const seqs: number[] = [];
      const versions: number[] = [];
      const stopSeq = await h.peer.watchChanges((s) => seqs.push(s));
      const stopVersion = await h.peer.watch((v) => versions.push(v));
      const base = await h.config.version();
      const seq0 = (await h.peer.load()).changeSeq;
      const expiresAt = new Date(Date.now() + 60_000);
      const created = await h.apiKeys.create({ id: 'key_01', consumer: 'acme', hash: hex('1'), prefix: 'tg_AAAAA', last4: 'zzzz', name: 'ci', expiresAt }, { action: 'api-key.create', requestId: 'r1' });
      expect(created.version).toBe(base);
      expect(created.seq).toBe(seq0 + 1);
      expect(created.key).toMatchObject({ id: 'key_01', consumer: 'acme', name: 'ci', prefix: 'tg_AAAAA', last4: 'zzzz' });
      await expect.poll(() => seqs, { timeout: 1_000 }).toContain(seq0 + 1);
      expect(await h.peer.changesSince(seq0)).toEqual({ seq: seq0 + 1, keys: [{ id: 'key_01', consumer: 'acme', hash: hex('1'), prefix: 'tg_AAAAA', last4: 'zzzz', expiresAt, revoked: false }], resources: [] });
      const snapshot = await h.peer.load();
      expect(snapshot.apiKeys).toEqual([{ id: 'key_01', consumer: 'acme', hash: hex('1'), prefix: 'tg_AAAAA', last4: 'zzzz', expiresAt }]);
      expect([snapshot.version, snapshot.changeSeq]).toEqual([base, seq0 + 1]);
      const revoked = await h.apiKeys.revoke('acme', 'key_01', { action: 'api-key.revoke', requestId: 'r2' });
      expect([revoked.version, revoked.seq]).toEqual([base, seq0 + 2]);
      expect(revoked.key.revokedAt).toBeInstanceOf(Date);
      await expect.poll(() => seqs, { timeout: 1_000 }).toContain(seq0 + 2);
      // Create then revoke, read from before both: the key's current state (revoked), at the newest position.
      expect(await h.peer.changesSince(seq0)).toMatchObject({ seq: seq0 + 2, keys: [{ id: 'key_01', revoked: true }] });
      expect(await h.peer.changesSince(seq0 + 2)).toEqual({ seq: seq0 + 2, keys: [], resources: [] });
      expect((await h.peer.load()).apiKeys).toEqual([]);
      expect((await h.apiKeys.list('acme')).map((k) => [k.id, k.revokedAt instanceof Date])).toEqual([['key_01', true]]);
      await stopSeq();
      await stopVersion();
      // Key changes are not config versions: no version notification, no version bump.
      expect(versions).toEqual([]);
      expect(await h.config.version()).toBe(base);
      const audit = await h.audit.query({ limit: 10 });
      expect(audit.items.map((e) => [e.action, e.outcome, e.requestId])).toEqual([
        ['api-key.revoke', 'success', 'r2'],
        ['api-key.create', 'success', 'r1'],
      ]);
      expect(JSON.stringify(audit.items)).not.toContain(hex('1'));
    });

    it('refuses an unknown consumer, a plaintext instead of a digest, a duplicate hash, and revoking twice, changing nothing', async () => {
      const base = await h.config.version();
      const seq = (await h.config.changesSince(0)).seq;
      await expect(h.apiKeys.create({ id: 'key_02', consumer: 'nobody', hash: hex('2'), prefix: 'tg_', last4: 'aaaa' })).rejects.toBeInstanceOf(ResourceConflictError);
      await expect(h.apiKeys.create({ id: 'key_03', consumer: 'acme', hash: 'tg_plaintext', prefix: 'tg_', last4: 'aaaa' })).rejects.toThrow(/SHA-256/);
      await expect(h.apiKeys.create({ id: 'key_04', consumer: 'acme', hash: hex('1'), prefix: 'tg_', last4: 'aaaa' })).rejects.toThrow();
      await expect(h.apiKeys.revoke('acme', 'key_01')).rejects.toBeInstanceOf(RecordNotFoundError);
      expect(await h.config.version()).toBe(base);
      expect((await h.config.changesSince(seq)).seq).toBe(seq);
    });

    it('createMany stores keys of several consumers in one change with one feed position and one audit entry', async () => {
      await h.config.apply([consumer('bulk-a'), consumer('bulk-b')], { validate: accept });
      const seqs: number[] = [];
      const stop = await h.peer.watchChanges((s) => seqs.push(s));
      const base = await h.config.version();
      const seq0 = (await h.config.changesSince(0)).seq;
      // Past one insert batch (1,000 rows), so batching inside the one transaction is exercised.
      const keys = Array.from({ length: 1_203 }, (_, i) => ({ id: `key_b${i}`, consumer: i % 2 ? 'bulk-a' : 'bulk-b', hash: (0x100000 + i).toString(16).padStart(64, 'b'), prefix: 'tg_BBBBB', last4: String(i).padStart(4, '0').slice(-4), ...(i === 0 ? { name: 'first' } : {}) }));
      const res = await h.apiKeys.createMany(keys, { action: 'api-key.create-bulk', requestId: 'rb' });
      expect([res.version, res.seq]).toEqual([base, seq0 + 1]);
      expect(res.keys.map((k) => k.id)).toEqual(keys.map((k) => k.id));
      expect(res.keys[0]).toMatchObject({ consumer: 'bulk-b', name: 'first' });
      expect(await h.config.version()).toBe(base);
      // The payload is too long to name 1,203 keys: it still carries the position.
      await expect.poll(() => seqs, { timeout: 2_000 }).toContain(seq0 + 1);
      await stop();
      expect(seqs).toEqual([seq0 + 1]);
      const delta = await h.peer.changesSince(seq0);
      expect(delta.seq).toBe(seq0 + 1);
      expect(delta.keys.map((k) => k.id).sort()).toEqual(keys.map((k) => k.id).sort());
      const snapshot = await h.peer.load();
      expect(snapshot.apiKeys.filter((k) => k.consumer.startsWith('bulk-'))).toHaveLength(1_203);
      const audit = await h.audit.query({ action: 'api-key.create-bulk', limit: 10 });
      expect(audit.items).toHaveLength(1);
      expect(JSON.stringify(audit.items)).not.toContain(keys[5]?.hash);
      // Deleting the consumers revokes all their keys (revocation is batched too), on the feed as well.
      await h.config.apply([consumer('acme')], { prune: true, validate: accept });
      expect((await h.config.load()).apiKeys).toEqual([]);
      const gone = await h.peer.changesSince(seq0 + 1);
      expect(gone.seq).toBe(seq0 + 2);
      expect(gone.keys).toHaveLength(1_203);
      expect(gone.keys.every((k) => k.revoked)).toBe(true);
    });

    it('createMany refuses the whole batch when any consumer is missing, or any hash is not a digest or is a duplicate', async () => {
      await h.config.apply([consumer('bulk-c')], { validate: accept });
      const base = await h.config.version();
      const key = (i: number, c = 'bulk-c') => ({ id: `key_c${i}`, consumer: c, hash: (0x200000 + i).toString(16).padStart(64, 'c'), prefix: 'tg_', last4: 'cccc' });
      const err = await h.apiKeys.createMany([key(1), key(2, 'ghost-1'), key(3), key(4, 'ghost-2'), key(5, 'ghost-1')]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConsumersNotFoundError);
      expect((err as ConsumersNotFoundError).consumers).toEqual(['ghost-1', 'ghost-2']);
      await expect(h.apiKeys.createMany([key(6), { ...key(7), hash: 'tg_plaintext' }])).rejects.toThrow(/SHA-256/);
      // A duplicate in the last insert batch rolls back the batches before it.
      const seq = (await h.config.changesSince(0)).seq;
      const many = Array.from({ length: 1_100 }, (_, i) => key(100 + i));
      await expect(h.apiKeys.createMany([...many, { ...key(9_999), hash: many[0]?.hash ?? '' }])).rejects.toThrow();
      expect(await h.config.version()).toBe(base);
      expect((await h.config.changesSince(0)).seq).toBe(seq);
      expect(await h.apiKeys.list('bulk-c')).toEqual([]);
      expect(await h.apiKeys.createMany([])).toEqual({ keys: [], version: base, seq });
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
