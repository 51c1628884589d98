import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigIssue, Resource } from '@tollgate/model';
import { ApplyRejectedError, ResourceConflictError, type AdminTokenStore, type ConfigStore } from './config-store.js';

/** What a config-store contract run needs from one implementation. */
export interface ConfigStoreHarness {
  config: ConfigStore;
  /** Another store on the same database (a second process's view); PGlite returns the same one. */
  peer: ConfigStore;
  destroy(): Promise<void>;
}

const accept = (): ConfigIssue[] => [];

/** An Upstream document; the store does not interpret specs, so any valid-looking one serves. */
export function upstream(name: string, url = `http://${name}.internal:8080`): Resource {
  return { apiVersion: 'tollgate.dev/v1', kind: 'Upstream', metadata: { name, labels: {}, annotations: {} }, spec: { targets: [{ url }] } } as unknown as Resource;
}

/** An Api document referring to an upstream. */
export function api(name: string, upstreamName: string): Resource {
  return {
    apiVersion: 'tollgate.dev/v1',
    kind: 'Api',
    metadata: { name, labels: { team: 'a' }, annotations: {} },
    spec: { routes: [{ path: `/${name}`, destination: { upstream: upstreamName } }] },
  } as unknown as Resource;
}

/** A Consumer document. */
export function consumerDoc(name: string, groups: string[] = []): Resource {
  return { apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name, labels: {}, annotations: {} }, spec: { groups, keys: [], jwtSubjects: [] } } as unknown as Resource;
}

/** A Subscription document of `consumer` on `plan` (all APIs). */
export function subscriptionDoc(name: string, consumer: string, plan = 'gold'): Resource {
  return { apiVersion: 'tollgate.dev/v1', kind: 'Subscription', metadata: { name, labels: {}, annotations: {} }, spec: { consumer, plan, start: '2026-01-01T00:00:00Z' } } as unknown as Resource;
}

const names = (rs: Resource[]) => rs.map((r) => `${r.kind}/${r.metadata.name}`);

/** The ConfigStore contract: every implementation must pass it unchanged. */
export function configStoreContract(name: string, factory: () => Promise<ConfigStoreHarness>): void {
  describe(`ConfigStore contract: ${name}`, () => {
    let h: ConfigStoreHarness;
    let store: ConfigStore;
    let base: number;

    beforeAll(async () => {
      h = await factory();
      store = h.config;
    });
    afterAll(async () => {
      await h?.destroy();
    });
    beforeEach(async () => {
      // Tests share one database; start each from an empty set.
      const r = await store.apply([], { prune: true, validate: accept });
      base = r.version;
    });

    it('creates resources in one change, bumping the version once', async () => {
      const res = await store.apply([api('orders', 'backend'), upstream('backend')], { validate: accept });
      expect(res.version).toBe(base + 1);
      expect(res.dryRun).toBe(false);
      expect(res.changes.map((c) => [c.kind, c.name, c.action])).toEqual([
        ['Upstream', 'backend', 'create'],
        ['Api', 'orders', 'create'],
      ]);
      expect(await store.version()).toBe(base + 1);
      const stored = await store.get('Upstream', 'backend');
      expect(stored?.resource).toEqual(upstream('backend'));
      expect(stored?.version).toBe(base + 1);
      expect(stored?.createdAt).toBeInstanceOf(Date);
      expect(await store.get('Upstream', 'absent')).toBeUndefined();
    });

    it('reports unchanged resources and does not bump the version when nothing changed', async () => {
      await store.apply([upstream('a'), upstream('b')], { validate: accept });
      const reordered = upstream('a');
      // Same content, different key order: canonical comparison must see no change.
      const spec = reordered.spec as unknown as Record<string, unknown>;
      const flipped = { ...reordered, spec: Object.fromEntries(Object.entries(spec).reverse()), metadata: { annotations: {}, labels: {}, name: 'a' } } as unknown as Resource;
      const res = await store.apply([flipped, upstream('b')], { validate: accept });
      expect(res.version).toBe(base + 1);
      expect(res.changes.map((c) => c.action)).toEqual(['unchanged', 'unchanged']);
      expect(await store.version()).toBe(base + 1);
    });

    it('updates only what changed, stamping changed rows with the new version', async () => {
      await store.apply([upstream('a'), upstream('b')], { validate: accept });
      const before = await store.get('Upstream', 'a');
      const res = await store.apply([upstream('a', 'http://moved:1'), upstream('b')], { validate: accept });
      expect(res.version).toBe(base + 2);
      expect(res.changes.map((c) => [c.name, c.action])).toEqual([
        ['a', 'update'],
        ['b', 'unchanged'],
      ]);
      expect(res.changes[0]?.before).toEqual(upstream('a'));
      expect(res.changes[0]?.after).toEqual(upstream('a', 'http://moved:1'));
      const a = await store.get('Upstream', 'a');
      expect(a?.version).toBe(base + 2);
      expect(a?.resource).toEqual(upstream('a', 'http://moved:1'));
      expect(a?.createdAt.getTime()).toBe(before?.createdAt.getTime());
      expect((await store.get('Upstream', 'b'))?.version).toBe(base + 1);
    });

    it('writes a large apply in batches, every document exactly as given, and an update moves updatedAt only', async () => {
      // More than one upsert statement's worth, with text JSON must escape (quotes, backslashes,
      // control characters, non-ASCII, astral), numbers, booleans, nulls and empty containers.
      const odd = 'say "hi" \\ back\tslash \n é ✓ 😀';
      const many = Array.from({ length: 130 }, (_, i) => {
        const r = upstream(`u${String(i).padStart(3, '0')}`) as unknown as { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: Record<string, unknown> };
        r.metadata.labels = { team: `t${i % 7}` };
        r.metadata.annotations = { note: odd };
        r.spec = { ...r.spec, weight: i / 4, big: 2 ** 53 - 1, on: i % 2 === 0, none: null, empty: {}, list: [] };
        return r as unknown as Resource;
      });
      const created = await store.apply(many, { validate: accept });
      expect(created.version).toBe(base + 1);
      expect((await store.load()).resources).toEqual(many);
      const first = await store.get('Upstream', 'u042');
      expect(first?.version).toBe(base + 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const moved = many.map((r, i) => (i === 42 ? upstream('u042', 'http://moved:1') : r));
      await store.apply(moved, { validate: accept });
      const after = await store.get('Upstream', 'u042');
      expect(after?.resource).toEqual(upstream('u042', 'http://moved:1'));
      expect(after?.version).toBe(base + 2);
      expect(after?.createdAt.getTime()).toBe(first?.createdAt.getTime());
      expect(after?.updatedAt.getTime()).toBeGreaterThan(first?.updatedAt.getTime() ?? Infinity);
      expect((await store.get('Upstream', 'u041'))?.version).toBe(base + 1);
    });

    it('keeps resources not in the set unless prune is given, then deletes them', async () => {
      await store.apply([upstream('a'), upstream('b'), api('x', 'a')], { validate: accept });
      const kept = await store.apply([upstream('a')], { validate: accept });
      expect(kept.version).toBe(base + 1);
      expect(names((await store.load()).resources)).toEqual(['Upstream/a', 'Upstream/b', 'Api/x']);
      const seen: Resource[][] = [];
      const pruned = await store.apply([upstream('a')], { prune: true, validate: (set) => (seen.push(set), []) });
      expect(pruned.version).toBe(base + 2);
      expect(pruned.changes.map((c) => [c.kind, c.name, c.action])).toEqual([
        ['Upstream', 'a', 'unchanged'],
        ['Upstream', 'b', 'delete'],
        ['Api', 'x', 'delete'],
      ]);
      expect(seen.map(names)).toEqual([['Upstream/a']]);
      expect(names((await store.load()).resources)).toEqual(['Upstream/a']);
    });

    it('deletes one resource, and reports a missing one as not_found without a version bump', async () => {
      await store.apply([upstream('a'), upstream('b')], { validate: accept });
      const res = await store.delete('Upstream', 'b', { validate: accept });
      expect(res.version).toBe(base + 2);
      expect(res.changes).toEqual([{ kind: 'Upstream', name: 'b', action: 'delete', before: upstream('b') }]);
      expect(await store.get('Upstream', 'b')).toBeUndefined();
      const err = await store.delete('Upstream', 'b', { validate: accept }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ResourceConflictError);
      expect((err as ResourceConflictError).reason).toBe('not_found');
      expect(await store.version()).toBe(base + 2);
    });

    it('changes nothing when validation rejects the resulting set', async () => {
      await store.apply([upstream('a'), api('x', 'a')], { validate: accept });
      const before = await store.load();
      const issue: ConfigIssue = { code: 'dangling_reference', message: 'upstream a is missing', resource: 'Api/x', path: 'spec.routes[0].destination.upstream' };
      const reject = (set: Resource[]) => (set.some((r) => r.kind === 'Upstream' && r.metadata.name === 'a') ? [] : [issue]);
      const err = await store.apply([api('x', 'a'), upstream('c')], { prune: true, validate: reject }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplyRejectedError);
      expect((err as ApplyRejectedError).issues).toEqual([issue]);
      await expect(store.delete('Upstream', 'a', { validate: reject })).rejects.toBeInstanceOf(ApplyRejectedError);
      expect(await store.load()).toEqual(before);
      expect((await store.get('Upstream', 'a'))?.version).toBe(base + 1);
    });

    it('dry runs report the changes and commit nothing', async () => {
      await store.apply([upstream('a')], { validate: accept });
      const before = await store.load();
      const res = await store.apply([upstream('a', 'http://new:1'), upstream('b')], { prune: true, dryRun: true, validate: accept });
      expect(res).toMatchObject({ version: base + 1, dryRun: true });
      expect(res.changes.map((c) => [c.name, c.action])).toEqual([
        ['a', 'update'],
        ['b', 'create'],
      ]);
      const del = await store.delete('Upstream', 'a', { dryRun: true, validate: accept });
      expect(del.changes.map((c) => c.action)).toEqual(['delete']);
      expect(await store.load()).toEqual(before);
    });

    it('createOnly refuses to overwrite an existing resource and applies nothing of the batch', async () => {
      await store.apply([upstream('a')], { validate: accept });
      const err = await store.apply([upstream('new'), upstream('a')], { createOnly: true, validate: accept }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ResourceConflictError);
      expect(err).toMatchObject({ kind: 'Upstream', resourceName: 'a', reason: 'exists' });
      expect(await store.get('Upstream', 'new')).toBeUndefined();
      expect(await store.version()).toBe(base + 1);
      const ok = await store.apply([upstream('new')], { createOnly: true, validate: accept });
      expect(ok.changes.map((c) => c.action)).toEqual(['create']);
    });

    it('rejects the same resource twice in one apply', async () => {
      await expect(store.apply([upstream('a'), upstream('a', 'http://other:1')], { validate: accept })).rejects.toMatchObject({
        name: 'ApplyRejectedError',
        issues: [{ code: 'duplicate_resource', document: 1, resource: 'Upstream/a' }],
      });
      expect(await store.version()).toBe(base);
    });

    it('applies, updates and prunes more resources than one statement can carry (65,535 bind parameters), in one change', async () => {
      // 5,000 Upstreams + 6,000 Apis: one multi-row INSERT of them would need ~66,000 parameters.
      const set = [...Array.from({ length: 5_000 }, (_, i) => upstream(`big-u${i}`)), ...Array.from({ length: 6_000 }, (_, i) => api(`big-a${i}`, `big-u${i % 5_000}`))];
      const created = await store.apply(set, { validate: accept });
      expect(created.version).toBe(base + 1);
      expect(created.changes.filter((c) => c.action === 'create')).toHaveLength(11_000);
      const loaded = await store.load();
      expect(loaded.resources).toHaveLength(11_000);
      expect((await store.get('Api', 'big-a5999'))?.version).toBe(base + 1);
      // Updating every one of them and pruning (deleting) them all are as large.
      const moved = set.map((r) => (r.kind === 'Upstream' ? upstream(r.metadata.name, 'http://moved:1') : r));
      const updated = await store.apply(moved, { validate: accept });
      expect(updated.version).toBe(base + 2);
      expect((await store.get('Upstream', 'big-u4999'))?.resource).toEqual(upstream('big-u4999', 'http://moved:1'));
      const pruned = await store.apply([upstream('kept')], { prune: true, validate: accept });
      expect(pruned.version).toBe(base + 3);
      expect(pruned.changes.filter((c) => c.action === 'delete')).toHaveLength(11_000);
      expect(names((await store.load()).resources)).toEqual(['Upstream/kept']);
    });

    it('a large apply whose last batch fails at the database changes nothing (all batches share one transaction)', async () => {
      await store.apply([upstream('kept')], { validate: accept });
      const before = await store.load();
      // Postgres refuses U+0000 in jsonb: the last row written fails after earlier batches went in.
      const set = [...Array.from({ length: 11_000 }, (_, i) => upstream(`doomed${String(i).padStart(5, '0')}`)), upstream('zzz-bad', 'http://bad\u0000:1')];
      await expect(store.apply(set, { validate: accept })).rejects.toThrow();
      expect(await store.load()).toEqual(before);
      expect(await store.get('Upstream', 'doomed00000')).toBeUndefined();
    });

    it('lists one kind by name with keyset pagination', async () => {
      const all = ['u7', 'u1', 'u5', 'u3', 'u2', 'u6', 'u4'];
      await store.apply([...all.map((n) => upstream(n)), api('zz', 'u1')], { validate: accept });
      const seen: string[] = [];
      let after: string | undefined;
      const pages: number[] = [];
      do {
        const page = await store.list('Upstream', after === undefined ? { limit: 3 } : { limit: 3, after });
        pages.push(page.items.length);
        seen.push(...page.items.map((i) => i.resource.metadata.name));
        after = page.next;
      } while (after !== undefined);
      expect(pages).toEqual([3, 3, 1]);
      expect(seen).toEqual([...all].sort());
      const exact = await store.list('Upstream', { limit: 7 });
      expect(exact.items).toHaveLength(7);
      expect(exact.next).toBeUndefined();
      expect((await store.list('Api', { limit: 10 })).items.map((i) => i.resource.metadata.name)).toEqual(['zz']);
      // Search: name contains the text (case-insensitive), still keyset-paged in name order; LIKE wildcards are literal.
      const found = await store.list('Upstream', { limit: 10, search: 'U5' });
      expect(found.items.map((i) => i.resource.metadata.name)).toEqual(['u5']);
      expect((await store.list('Upstream', { limit: 10, search: '%' })).items).toEqual([]);
      expect((await store.list('Upstream', { limit: 10, search: 'u_' })).items).toEqual([]);
      const searchPage = await store.list('Upstream', { limit: 2, search: 'u', after: 'u2' });
      expect(searchPage.items.map((i) => i.resource.metadata.name)).toEqual(['u3', 'u4']);
      expect(searchPage.next).toBe('u4');
      await expect(store.list('Upstream', { limit: 0 })).rejects.toBeInstanceOf(RangeError);
      await expect(store.list('Upstream', { limit: 501 })).rejects.toBeInstanceOf(RangeError);
    });

    it('an apply of only Consumers and Subscriptions goes on the change feed: no version bump, a feed position, the current state of each', async () => {
      const versions: number[] = [];
      const seqs: number[] = [];
      const stopVersion = await h.peer.watch((v) => versions.push(v));
      const stopSeq = await h.peer.watchChanges((s) => seqs.push(s));
      const seq0 = (await store.load()).changeSeq;
      const created = await store.apply([consumerDoc('ann'), consumerDoc('bob'), subscriptionDoc('ann-gold', 'ann')], { validate: accept });
      expect(created.version).toBe(base);
      expect(created.seq).toBe(seq0 + 1);
      expect(created.changes.map((c) => `${c.kind}/${c.name}:${c.action}`)).toEqual(['Consumer/ann:create', 'Consumer/bob:create', 'Subscription/ann-gold:create']);
      await expect.poll(() => seqs, { timeout: 2_000 }).toContain(seq0 + 1);
      const first = await h.peer.changesSince(seq0);
      expect(first.seq).toBe(seq0 + 1);
      expect(first.keys).toEqual([]);
      expect(first.resources.map((d) => [d.kind, d.name, d.resource?.metadata.name ?? null])).toEqual([
        ['Consumer', 'ann', 'ann'],
        ['Consumer', 'bob', 'bob'],
        ['Subscription', 'ann-gold', 'ann-gold'],
      ]);
      // The rows are stored (and a snapshot has them) at the unchanged version.
      expect((await store.get('Consumer', 'ann'))?.version).toBe(base);
      expect(names((await h.peer.load()).resources)).toEqual(['Consumer/ann', 'Consumer/bob', 'Subscription/ann-gold']);

      // An update, then a delete (one resource each), read together from the first position:
      // each resource once, in its current state (null = deleted), in the order of its last change.
      const updated = await store.apply([consumerDoc('bob', ['vip'])], { validate: accept });
      expect([updated.version, updated.seq]).toEqual([base, seq0 + 2]);
      const deleted = await store.delete('Subscription', 'ann-gold', { validate: accept });
      expect([deleted.version, deleted.seq]).toEqual([base, seq0 + 3]);
      const later = await h.peer.changesSince(seq0 + 1);
      expect(later.seq).toBe(seq0 + 3);
      expect(later.resources.map((d) => [d.kind, d.name])).toEqual([
        ['Consumer', 'bob'],
        ['Subscription', 'ann-gold'],
      ]);
      expect(later.resources[0]?.resource?.spec).toMatchObject({ groups: ['vip'] });
      expect(later.resources[1]?.resource).toBeNull();
      const all = await h.peer.changesSince(seq0);
      expect(all.resources.map((d) => [d.name, d.resource === null])).toEqual([
        ['ann', false],
        ['bob', false],
        ['ann-gold', true],
      ]);
      expect(await h.peer.changesSince(seq0 + 3)).toEqual({ seq: seq0 + 3, keys: [], resources: [] });
      await stopVersion();
      await stopSeq();
      expect(versions).toEqual([]);
      expect(await store.version()).toBe(base);
    });

    it('prunes the feed log past a retention: a reader behind it is told to reload, one at or after it reads on', async () => {
      const seq0 = (await store.load()).changeSeq;
      const a = await store.apply([consumerDoc('pruned-a')], { validate: accept });
      expect(a.seq).toBe(seq0 + 1);
      // Nothing is a day old: the log still replays from seq0.
      await store.pruneChanges(86_400_000);
      expect((await h.peer.changesSince(seq0)).resources.map((d) => d.name)).toEqual(['pruned-a']);
      await new Promise((r) => setTimeout(r, 10));
      // Retention 0: every row logged before now goes; the floor is the newest position pruned.
      expect(await store.pruneChanges(0)).toBe(seq0 + 1);
      expect(await h.peer.changesSince(seq0)).toEqual({ seq: seq0 + 1, keys: [], resources: [], reload: true });
      expect(await h.peer.changesSince(seq0 + 1)).toEqual({ seq: seq0 + 1, keys: [], resources: [] });
      // A snapshot's position is never behind the floor, and later changes replay as before.
      expect((await h.peer.load()).changeSeq).toBeGreaterThanOrEqual(seq0 + 1);
      await store.apply([consumerDoc('pruned-b')], { validate: accept });
      expect((await h.peer.changesSince(seq0 + 1)).resources.map((d) => d.name)).toEqual(['pruned-b']);
      expect((await h.peer.changesSince(seq0)).reload).toBe(true);
    });

    it('without prune, the validator sees the Consumers an apply does not name by name only, and their rows stay whole', async () => {
      await store.apply([consumerDoc('full', ['vip']), consumerDoc('other', ['x'])], { validate: accept });
      let seen: Resource[] = [];
      const spy = (rs: Resource[]): ConfigIssue[] => {
        seen = rs;
        return [];
      };
      await store.apply([consumerDoc('other', ['y'])], { validate: spy });
      const byName = new Map(seen.map((r) => [r.metadata.name, r] as const));
      expect(byName.get('full')?.spec).toEqual({});
      expect(byName.get('other')?.spec).toMatchObject({ groups: ['y'] });
      expect((await store.get('Consumer', 'full'))?.resource.spec).toMatchObject({ groups: ['vip'] });
      // A prune may select by labels or fields: it gets every Consumer whole.
      await store.apply([consumerDoc('full', ['vip']), consumerDoc('other', ['y'])], { prune: true, validate: spy });
      expect(seen.find((r) => r.metadata.name === 'full')?.spec).toMatchObject({ groups: ['vip'] });
    });

    it('an apply that changes any other kind as well is a config version, and a rejected or dry-run feed apply changes nothing', async () => {
      const seq0 = (await store.load()).changeSeq;
      const mixed = await store.apply([upstream('mixed'), consumerDoc('carl')], { validate: accept });
      expect(mixed.version).toBe(base + 1);
      expect(mixed.seq).toBeUndefined();
      expect((await store.changesSince(seq0)).resources).toEqual([]);
      const dry = await store.apply([consumerDoc('dora')], { validate: accept, dryRun: true });
      expect([dry.version, dry.seq]).toEqual([base + 1, undefined]);
      await expect(store.apply([consumerDoc('erin')], { validate: () => [{ code: 'x', message: 'no', path: '' }] })).rejects.toBeInstanceOf(ApplyRejectedError);
      const unchanged = await store.apply([consumerDoc('carl')], { validate: accept });
      expect(unchanged.seq).toBeUndefined();
      expect(await store.changesSince(seq0)).toEqual({ seq: seq0, keys: [], resources: [] });
      expect(await store.get('Consumer', 'dora')).toBeUndefined();
    });

    it('notifies watchers of changes committed through another store on the same database', async () => {
      const versions: number[] = [];
      const stop = await store.watch((v) => versions.push(v));
      const res = await h.peer.apply([upstream('watched')], { validate: accept });
      await expect.poll(() => versions, { timeout: 5_000 }).toContain(res.version);
      // Unchanged applies and rejected ones commit nothing and notify nothing.
      await h.peer.apply([upstream('watched')], { validate: accept });
      await h.peer.apply([upstream('other')], { validate: () => [{ code: 'x', message: 'no', path: '' }] }).catch(() => {});
      await stop();
      const del = await h.peer.delete('Upstream', 'watched', { validate: accept });
      await new Promise((r) => setTimeout(r, 200));
      expect(versions).toEqual([res.version]);
      expect(del.version).toBe(res.version + 1);
    });

    it('serializes concurrent applies: all succeed with distinct versions', async () => {
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store.apply([upstream(`c${i}`)], { validate: accept })));
      expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6].map((d) => base + d));
      expect((await store.load()).resources).toHaveLength(6);
    });

    it('load returns a consistent snapshot while changes are committed', async () => {
      // Each apply adds one resource, so a consistent snapshot has exactly (version - base) of them.
      const writer = (async () => {
        for (let i = 0; i < 12; i++) await h.peer.apply([upstream(`l${String(i).padStart(2, '0')}`)], { validate: accept });
      })();
      const snapshots = [];
      let done = false;
      void writer.finally(() => (done = true));
      while (!done) snapshots.push(await store.load());
      await writer;
      snapshots.push(await store.load());
      for (const s of snapshots) expect(s.resources.length).toBe(s.version - base);
      expect(snapshots.at(-1)?.version).toBe(base + 12);
    });
  });
}

/** What an admin-token contract run needs. */
export interface AdminTokenStoreHarness {
  tokens: AdminTokenStore;
  destroy(): Promise<void>;
}

const hex = (c: string) => c.repeat(64);

/** The AdminTokenStore contract. */
export function adminTokenStoreContract(name: string, factory: () => Promise<AdminTokenStoreHarness>): void {
  describe(`AdminTokenStore contract: ${name}`, () => {
    let h: AdminTokenStoreHarness;
    beforeAll(async () => {
      h = await factory();
    });
    afterAll(async () => {
      await h?.destroy();
    });

    it('stores a token by hash and finds it, counting active tokens', async () => {
      expect(await h.tokens.countActive()).toBe(0);
      const t = await h.tokens.insert({ id: 'atk_one', name: 'bootstrap', role: 'admin', hash: hex('a') });
      expect(t).toMatchObject({ id: 'atk_one', name: 'bootstrap', role: 'admin', hash: hex('a') });
      expect(t.createdAt).toBeInstanceOf(Date);
      expect(t.revokedAt).toBeUndefined();
      expect(await h.tokens.findByHash(hex('a'))).toEqual(t);
      expect(await h.tokens.findByHash(hex('b'))).toBeUndefined();
      await h.tokens.insert({ id: 'atk_two', name: 'ci', role: 'viewer', hash: hex('b') });
      expect(await h.tokens.countActive()).toBe(2);
    });

    it('refuses a duplicate hash, a non-digest hash (plaintext) and an unknown role', async () => {
      await expect(h.tokens.insert({ id: 'atk_dup', name: 'dup', role: 'admin', hash: hex('a') })).rejects.toThrow();
      await expect(h.tokens.insert({ id: 'atk_plain', name: 'p', role: 'admin', hash: 'tg_secret_plaintext' })).rejects.toThrow(/SHA-256/);
      await expect(h.tokens.insert({ id: 'atk_role', name: 'r', role: 'root' as 'admin', hash: hex('c') })).rejects.toThrow(/role/);
      expect(await h.tokens.countActive()).toBe(2);
    });

    it('lists every token and revokes one, which then no longer authenticates', async () => {
      expect((await h.tokens.list()).map((t) => t.id)).toEqual(['atk_one', 'atk_two']);
      const revoked = await h.tokens.revoke('atk_two');
      expect(revoked.revokedAt).toBeInstanceOf(Date);
      expect(await h.tokens.findByHash(hex('b'))).toBeUndefined();
      expect(await h.tokens.countActive()).toBe(1);
      await expect(h.tokens.revoke('atk_two')).rejects.toMatchObject({ name: 'RecordNotFoundError' });
      await expect(h.tokens.revoke('atk_none')).rejects.toMatchObject({ name: 'RecordNotFoundError' });
      expect((await h.tokens.list()).find((t) => t.id === 'atk_two')?.revokedAt).toBeInstanceOf(Date);
    });
  });
}
