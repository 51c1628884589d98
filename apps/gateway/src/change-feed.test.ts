import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '@tollgate/model';
import { IdentityHolder, IdentityIndex, SubscriptionTable } from '@tollgate/policies';
import { createPgliteStores, type FeedChanges, type SqlStores } from '@tollgate/stores';
import { ChangeFeed, type ChangeSource } from './change-feed.js';

const logger = pino({ enabled: false });
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const consumer = (name: string): Resource => ({ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name, labels: {}, annotations: {} }, spec: { groups: [], jwtSubjects: [], keys: [], metadata: {} } }) as Resource;
const plan = (name: string): Resource => ({ apiVersion: 'tollgate.dev/v1', kind: 'Plan', metadata: { name, labels: {}, annotations: {} }, spec: { limits: [] } }) as unknown as Resource;
const subscription = (name: string, consumerName: string, planName: string): Resource =>
  ({ apiVersion: 'tollgate.dev/v1', kind: 'Subscription', metadata: { name, labels: {}, annotations: {} }, spec: { consumer: consumerName, plan: planName, start: '2026-01-01T00:00:00Z' } }) as unknown as Resource;
const key = (id: string, plain: string) => ({ id, consumer: 'acme', hash: sha(plain), prefix: 'tg_', last4: plain.slice(-4) });

/** The index a full reload would install: built from a snapshot, at the snapshot's feed position. */
async function snapshotIndex(stores: SqlStores): Promise<IdentityIndex> {
  const s = await stores.config.load();
  const index = new IdentityIndex(s.resources, s.apiKeys);
  index.changeSeq = s.changeSeq;
  return index;
}

// On the real embedded store (PGlite): its in-process NOTIFY carries the feed.
describe('ChangeFeed', () => {
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
    const feed = new ChangeFeed(stores.config, holder, logger, 60_000);
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

  it('reloads the whole snapshot instead of replaying when its position is older than the retained log', async () => {
    const holder = new IdentityHolder();
    const stale = await snapshotIndex(stores);
    holder.current = stale;
    let reloads = 0;
    const feed = new ChangeFeed(stores.config, holder, logger, 60_000, undefined, async () => {
      reloads++;
      holder.current = await snapshotIndex(stores);
    });
    await stores.config.apply([consumer('gone-by')], { validate: () => [] });
    await new Promise((r) => setTimeout(r, 10));
    // The node was away longer than the retention: the row of that change was pruned.
    await stores.config.pruneChanges(0);
    await feed.catchUp();
    expect(reloads).toBe(1);
    // Nothing was replayed into the stale index; the reloaded one has the change.
    expect(stale.byName('gone-by')).toBeUndefined();
    expect(holder.current).not.toBe(stale);
    expect(holder.current.byName('gone-by')?.name).toBe('gone-by');
    expect(holder.current.changeSeq).toBe((await stores.config.changesSince(0)).seq);
  });

  it('applies nothing before the first snapshot; the snapshot then catches up from its own position', async () => {
    const holder = new IdentityHolder();
    const feed = new ChangeFeed(stores.config, holder, logger, 60_000);
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
    const source: ChangeSource = {
      changesSince: async (seq: number): Promise<FeedChanges> => {
        const changes = await stores.config.changesSince(seq);
        if (reads++ === 0) await held;
        return changes;
      },
      watchChanges: (cb) => stores.config.watchChanges(cb),
    };
    const feed = new ChangeFeed(source, holder, logger, 60_000);
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
    const feed = new ChangeFeed(stores.config, holder, logger, 60_000);
    const many = Array.from({ length: 2_500 }, (_, i) => key(`key_m${i}`, `tg_many_${i}`));
    await stores.apiKeys.createMany(many);
    await feed.catchUp();
    expect(feed.applied).toBe(2_500);
    expect(holder.current.byKeyHash(sha('tg_many_0'))?.keyId).toBe('key_m0');
    expect(holder.current.byKeyHash(sha('tg_many_2499'))?.keyId).toBe('key_m2499');
  });

  it('applies a Consumer and its Subscription in place, in one step, and their deletion; keys of the new consumer work', async () => {
    await stores.config.apply([plan('gold')], { validate: () => [] });
    const holder = new IdentityHolder();
    const subscriptions = { current: new SubscriptionTable([], new Map([['gold', { limits: [], failMode: 'open' } as never]])) };
    holder.current = await snapshotIndex(stores);
    const feed = new ChangeFeed(stores.config, holder, logger, 60_000, subscriptions);
    await feed.start();
    try {
      const index = holder.current;
      const table = subscriptions.current;
      const seen: Array<[boolean, boolean]> = [];
      // Sampled on every turn of the event loop: the consumer and its subscription appear together.
      const sampler = setInterval(() => seen.push([index.byName('zed') !== undefined, table.active('zed', 'a', 'a', Date.now()) !== undefined]), 0);
      await stores.config.apply([consumer('zed'), subscription('zed-gold', 'zed', 'gold')], { validate: () => [] });
      await expect.poll(() => table.active('zed', 'a', 'a', Date.now())?.name, { timeout: 1_000, interval: 5 }).toBe('zed-gold');
      clearInterval(sampler);
      expect(index.byName('zed')?.name).toBe('zed');
      expect(seen.filter(([c, s]) => c !== s)).toEqual([]);
      expect(table.subscriptions.get('zed-gold')).toMatchObject({ consumer: 'zed', plan: 'gold' });
      await stores.apiKeys.create({ ...key('key_z', 'tg_plain_zzzz'), consumer: 'zed' });
      await expect.poll(() => index.byKeyHash(sha('tg_plain_zzzz'))?.consumer.name, { timeout: 1_000, interval: 5 }).toBe('zed');
      // Deleted together: the subscription, the consumer and its key all go; still the same objects.
      await stores.config.apply([], { prune: (r) => r.metadata.name.startsWith('zed'), validate: () => [] });
      await expect.poll(() => index.byName('zed'), { timeout: 1_000, interval: 5 }).toBeUndefined();
      expect(table.active('zed', 'a', 'a', Date.now())).toBeUndefined();
      expect(index.byKeyHash(sha('tg_plain_zzzz'))).toBeUndefined();
      expect(holder.current).toBe(index);
      expect(subscriptions.current).toBe(table);
      expect(feed.appliedResources).toBe(4);
    } finally {
      await feed.stop();
    }
  });

  it('an import of more Consumers than one slice is applied in slices with serving in between, all of it', async () => {
    const holder = new IdentityHolder();
    holder.current = await snapshotIndex(stores);
    const feed = new ChangeFeed(stores.config, holder, logger, 60_000, { current: new SubscriptionTable([], new Map()) });
    await stores.config.apply(Array.from({ length: 4_500 }, (_, i) => consumer(`bulk-${i}`)), { validate: () => [] });
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    await feed.catchUp();
    clearInterval(ticker);
    expect(feed.appliedResources).toBe(4_500);
    expect(holder.current.byName('bulk-0')?.name).toBe('bulk-0');
    expect(holder.current.byName('bulk-4499')?.name).toBe('bulk-4499');
    expect(turns).toBeGreaterThan(0);
  });
});
