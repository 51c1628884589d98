import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '@tollgate/model';
import { IdentityHolder, IdentityIndex } from '@tollgate/policies';
import { createPgliteStores, type FeedChanges, type SqlStores } from '@tollgate/stores';
import { CredentialFeed, type CredentialSource } from './credential-feed.js';

const logger = pino({ enabled: false });
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const consumer = (name: string): Resource => ({ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name, labels: {}, annotations: {} }, spec: { groups: [], jwtSubjects: [], keys: [], metadata: {} } }) as Resource;
const key = (id: string, plain: string) => ({ id, consumer: 'acme', hash: sha(plain), prefix: 'tg_', last4: plain.slice(-4) });

/** The index a full reload would install: built from a snapshot, at the snapshot's feed position. */
async function snapshotIndex(stores: SqlStores): Promise<IdentityIndex> {
  const s = await stores.config.load();
  const index = new IdentityIndex(s.resources, s.apiKeys);
  index.changeSeq = s.changeSeq;
  return index;
}

// On the real embedded store (PGlite): its in-process NOTIFY carries the feed.
describe('CredentialFeed', () => {
  let stores: SqlStores;
  beforeAll(async () => {
    stores = await createPgliteStores();
    await stores.config.apply([consumer('acme')], { validate: () => [] });
  });
  afterAll(async () => {
    await stores?.close();
  });

  it('applies a created key and then its revocation in place, from the notifications alone', async () => {
    const holder = new IdentityHolder();
    holder.current = await snapshotIndex(stores);
    const feed = new CredentialFeed(stores.config, holder, logger, 60_000);
    await feed.start();
    try {
      const index = holder.current;
      await stores.apiKeys.create(key('key_a', 'tg_plain_aaaa'));
      await expect.poll(() => holder.current.byKeyHash(sha('tg_plain_aaaa'))?.keyId, { timeout: 1_000, interval: 10 }).toBe('key_a');
      await stores.apiKeys.revoke('acme', 'key_a');
      await expect.poll(() => holder.current.byKeyHash(sha('tg_plain_aaaa')), { timeout: 1_000, interval: 10 }).toBeUndefined();
      // In place: the same index object, now at the feed's position.
      expect(holder.current).toBe(index);
      expect(index.changeSeq).toBe((await stores.config.changesSince(0)).seq);
    } finally {
      await feed.stop();
    }
  });

  it('applies nothing before the first snapshot; the snapshot then catches up from its own position', async () => {
    const holder = new IdentityHolder();
    const feed = new CredentialFeed(stores.config, holder, logger, 60_000);
    await stores.apiKeys.create(key('key_b', 'tg_plain_bbbb'));
    await feed.catchUp();
    expect(holder.current).toBe(IdentityIndex.EMPTY);
    // A snapshot read before the next key, installed after it: the catch-up brings it in.
    const index = await snapshotIndex(stores);
    await stores.apiKeys.create(key('key_c', 'tg_plain_cccc'));
    holder.current = index;
    await feed.catchUp();
    expect(index.byKeyHash(sha('tg_plain_bbbb'))?.keyId).toBe('key_b');
    expect(index.byKeyHash(sha('tg_plain_cccc'))?.keyId).toBe('key_c');
  });

  it('a read older than a newly installed snapshot is dropped and redone: a key revoked in the snapshot is not re-added', async () => {
    await stores.apiKeys.create(key('key_d', 'tg_plain_dddd'));
    const holder = new IdentityHolder();
    const old = await snapshotIndex(stores);
    old.changeSeq -= 1; // behind by the creation of key_d
    holder.current = old;
    // The feed's read is held until the snapshot below is installed.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reads = 0;
    const source: CredentialSource = {
      changesSince: async (seq: number): Promise<FeedChanges> => {
        const changes = await stores.config.changesSince(seq);
        if (reads++ === 0) await held;
        return changes;
      },
      watchChanges: (cb) => stores.config.watchChanges(cb),
    };
    const feed = new CredentialFeed(source, holder, logger, 60_000);
    const running = feed.catchUp();
    await expect.poll(() => reads).toBe(1);
    // Meanwhile: key_d is revoked and a full reload installs a snapshot without it.
    await stores.apiKeys.revoke('acme', 'key_d');
    const fresh = await snapshotIndex(stores);
    holder.current = fresh;
    release();
    await running;
    expect(reads).toBe(2);
    expect(fresh.byKeyHash(sha('tg_plain_dddd'))).toBeUndefined();
    expect(old.byKeyHash(sha('tg_plain_dddd'))).toBeDefined(); // the old index was left as it was
  });

  it('a bulk larger than one slice is applied in slices, all of it', async () => {
    const holder = new IdentityHolder();
    holder.current = await snapshotIndex(stores);
    const feed = new CredentialFeed(stores.config, holder, logger, 60_000);
    const many = Array.from({ length: 2_500 }, (_, i) => key(`key_m${i}`, `tg_many_${i}`));
    await stores.apiKeys.createMany(many);
    await feed.catchUp();
    expect(feed.applied).toBe(2_500);
    expect(holder.current.byKeyHash(sha('tg_many_0'))?.keyId).toBe('key_m0');
    expect(holder.current.byKeyHash(sha('tg_many_2499'))?.keyId).toBe('key_m2499');
  });
});
