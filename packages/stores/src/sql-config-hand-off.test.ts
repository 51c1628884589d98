import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { migratePglite, openPglite, type Database } from '@tollgate/db';
import type { ConfigIssue, Resource } from '@tollgate/model';
import { createTestDatabase } from '../../../test/support/databases.js';
import { api, consumerDoc, subscriptionDoc, upstream } from './config-store.contract.js';
import type { ConfigStore } from './config-store.js';
import { PgliteChangeNotifier } from './pglite-notifier.js';
import { SqlConfigStore } from './sql-config-store.js';
import { createPostgresStores } from './sql-stores.js';

// A store with `handOff` hands the set a config-version commit wrote to the next load in its
// process instead of that load reading every resource back (#16, `start all` on PGlite). These
// tests pin what the hand-off must keep: the load serves exactly what is committed.

const accept = (): ConfigIssue[] => [];

/** A Plan document (a Subscription names one). */
function plan(name: string): Resource {
  return { apiVersion: 'tollgate.dev/v1', kind: 'Plan', metadata: { name, labels: {}, annotations: {} }, spec: { limits: [] } } as unknown as Resource;
}

interface Writers {
  /** The store with the hand-off (the one `start all` loads from). */
  store: ConfigStore;
  /** Another writer on the same database (another process, or another store object). */
  other: ConfigStore;
  /** The database, for a trigger that fails a COMMIT. */
  db: Database;
  destroy(): Promise<void>;
}

const setups: Array<[string, () => Promise<Writers>]> = [
  [
    'PGlite',
    async () => {
      const handle = await openPglite();
      await migratePglite(handle.db);
      const notifier = new PgliteChangeNotifier(handle.client);
      const store = new SqlConfigStore(handle.db, notifier, async () => undefined, undefined, true);
      const other = new SqlConfigStore(handle.db, notifier, async () => undefined);
      return { store, other, db: handle.db, destroy: () => handle.close() };
    },
  ],
  [
    'Postgres',
    async () => {
      const database = await createTestDatabase();
      const [a, b] = await Promise.all([createPostgresStores({ url: database.url, handOff: true }), createPostgresStores({ url: database.url })]);
      return {
        store: a.config,
        other: b.config,
        db: a.db,
        async destroy() {
          await Promise.all([a.close(), b.close()]);
          await database.drop();
        },
      };
    },
  ],
];

for (const [name, setup] of setups) {
  describe(`SqlConfigStore hand-off: ${name}`, () => {
    let w: Writers | undefined;
    const open = async () => (w = await setup());
    afterEach(async () => {
      await w?.destroy();
      w = undefined;
    });

    it('the next load serves the objects the apply committed, in the order a full read gives', async () => {
      const { store, other } = await open();
      await store.apply([consumerDoc('acme'), plan('gold'), subscriptionDoc('acme-gold', 'acme')], { validate: accept });
      const docs = [upstream('backend'), api('orders', 'backend'), api('billing', 'backend')];
      const applied = await store.apply(docs, { validate: accept });
      const loaded = await store.load();
      expect(loaded.version).toBe(applied.version);
      // The same objects the apply validated and wrote: nothing was read back.
      const written = new Map(applied.changes.map((c) => [`${c.kind}/${c.name}`, c.after]));
      for (const key of ['Upstream/backend', 'Api/orders', 'Api/billing']) expect(loaded.resources.find((r) => `${r.kind}/${r.metadata.name}` === key)).toBe(written.get(key));
      // Equal to a read of the database, order included, Consumers and Subscriptions whole.
      expect(loaded).toEqual(await other.load());
    });

    it('hands a set to one load only: the store keeps no copy after it', async () => {
      const { store, other } = await open();
      const applied = await store.apply([upstream('backend'), api('orders', 'backend')], { validate: accept });
      const first = await store.load();
      const second = await store.load();
      const after = applied.changes.find((c) => c.name === 'orders')?.after;
      expect(first.resources.find((r) => r.metadata.name === 'orders')).toBe(after);
      expect(second.resources.find((r) => r.metadata.name === 'orders')).not.toBe(after);
      expect(second).toEqual(first);
      expect(second).toEqual(await other.load());
    });

    it('another writer committed in between: the load serves what that writer committed', async () => {
      const { store, other } = await open();
      await store.apply([upstream('backend'), api('orders', 'backend')], { validate: accept });
      const theirs = await other.apply([upstream('backend', 'http://moved.internal:9090'), api('billing', 'backend')], { validate: accept });
      const loaded = await store.load();
      expect(loaded.version).toBe(theirs.version);
      expect(loaded).toEqual(await other.load());
      expect(loaded.resources.map((r) => r.metadata.name)).toEqual(['backend', 'billing', 'orders']);
      expect(loaded.resources[0]).toEqual(upstream('backend', 'http://moved.internal:9090'));
    });

    it('Consumers and Subscriptions changed on the feed since (same version) are served as stored', async () => {
      const { store, other } = await open();
      await store.apply([consumerDoc('acme'), plan('gold'), plan('silver')], { validate: accept });
      const applied = await store.apply([upstream('backend'), api('orders', 'backend')], { validate: accept });
      // Feed changes keep the version: one from this store, one from the other writer.
      const feed = await other.apply([consumerDoc('acme', ['partners']), subscriptionDoc('acme-gold', 'acme', 'silver')], { validate: accept });
      expect(feed.version).toBe(applied.version);
      const loaded = await store.load();
      expect(loaded.version).toBe(applied.version);
      expect(loaded.resources.find((r) => r.kind === 'Consumer')).toEqual(consumerDoc('acme', ['partners']));
      expect(loaded.resources.find((r) => r.kind === 'Subscription')).toEqual(subscriptionDoc('acme-gold', 'acme', 'silver'));
      expect(loaded.resources.find((r) => r.metadata.name === 'orders')).toBe(applied.changes.find((c) => c.name === 'orders')?.after);
      expect(loaded).toEqual(await other.load());
    });

    it('an apply that holds Consumers name-only (no prune) hands none of them: they are served whole', async () => {
      const { store, other } = await open();
      await store.apply([consumerDoc('acme', ['partners']), consumerDoc('globex', ['staff'])], { validate: accept });
      let validated: Resource[] = [];
      await store.apply([upstream('backend'), api('orders', 'backend')], {
        validate: (set) => {
          validated = set;
          return [];
        },
      });
      // What the apply validated held them name-only; the load holds them as stored.
      expect(validated.find((r) => r.metadata.name === 'acme')?.spec).toEqual({});
      const loaded = await store.load();
      expect(loaded.resources.filter((r) => r.kind === 'Consumer')).toEqual([consumerDoc('acme', ['partners']), consumerDoc('globex', ['staff'])]);
      expect(loaded).toEqual(await other.load());
    });

    it('a dry run, a rejected apply and a delete hand what is committed', async () => {
      const { store, other } = await open();
      await store.apply([upstream('backend'), api('orders', 'backend')], { validate: accept });
      await store.load();
      const committed = await store.apply([api('billing', 'backend')], { validate: accept });
      await store.apply([api('draft', 'backend')], { validate: accept, dryRun: true });
      await expect(store.apply([api('refused', 'backend')], { validate: () => [{ code: 'x', message: 'no', path: 'spec' }] })).rejects.toThrow('configuration rejected');
      const loaded = await store.load();
      expect(loaded.version).toBe(committed.version);
      expect(loaded.resources.map((r) => r.metadata.name)).toEqual(['backend', 'billing', 'orders']);
      await store.delete('Api', 'orders', { validate: accept });
      expect((await store.load()).resources.map((r) => r.metadata.name)).toEqual(['backend', 'billing']);
      expect(await store.load()).toEqual(await other.load());
    });

    it('a COMMIT that fails hands nothing, even once another writer committed that version', async () => {
      const { store, other, db } = await open();
      await store.apply([upstream('backend')], { validate: accept });
      await store.load();
      // A deferred constraint trigger: checked at COMMIT, after everything the apply did inside.
      await db.execute(sql.raw(`CREATE FUNCTION refuse_doomed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.name = 'doomed' THEN RAISE EXCEPTION 'refused at commit'; END IF; RETURN NULL; END $$`));
      await db.execute(sql.raw(`CREATE CONSTRAINT TRIGGER refuse_doomed AFTER INSERT ON resources DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_doomed()`));
      const version = await store.version();
      await expect(store.apply([api('doomed', 'backend')], { validate: accept })).rejects.toThrow();
      expect(await store.version()).toBe(version);
      // The version the failed commit would have had is now another writer's, with its own set.
      const theirs = await other.apply([api('orders', 'backend')], { validate: accept });
      expect(theirs.version).toBe(version + 1);
      const loaded = await store.load();
      expect(loaded.resources.map((r) => r.metadata.name)).toEqual(['backend', 'orders']);
      expect(loaded).toEqual(await other.load());
    });

    it('the load a version notification starts (the gateway reload) gets the committed set', async () => {
      const { store } = await open();
      const loads: Array<Promise<{ version: number; orders: Resource | undefined }>> = [];
      const heard = new Promise<void>((resolve) => {
        void store.watch(() => {
          // Called as the notification is delivered: on PGlite, before the apply's own code resumes.
          loads.push(store.load().then((s) => ({ version: s.version, orders: s.resources.find((r) => r.metadata.name === 'orders') })));
          resolve();
        });
      }).then(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
      const applied = await store.apply([upstream('backend'), api('orders', 'backend')], { validate: accept });
      await heard;
      const [first] = await Promise.all(loads);
      expect(first?.version).toBe(applied.version);
      expect(first?.orders).toBe(applied.changes.find((c) => c.name === 'orders')?.after);
    });
  });
}
