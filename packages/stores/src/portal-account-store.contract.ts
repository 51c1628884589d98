import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortalEmailTakenError, type PortalAccountStore } from './portal-account-store.js';

export interface PortalStoreHarness {
  portal: PortalAccountStore;
  destroy(): Promise<void>;
}

const hex = (c: string) => c.repeat(64);

/** The PortalAccountStore contract, run against Postgres and PGlite. */
export function portalAccountStoreContract(name: string, factory: () => Promise<PortalStoreHarness>): void {
  describe(`PortalAccountStore contract: ${name}`, () => {
    let h: PortalStoreHarness;
    beforeAll(async () => {
      h = await factory();
    });
    afterAll(async () => {
      await h?.destroy();
    });

    it('creates an account with a lower-cased unique email, finds it either way, and refuses a second one with the same email', async () => {
      const a = await h.portal.create({ id: 'dev_1', email: 'Ada@Example.COM', displayName: 'Ada', passwordHash: 'scrypt$x', status: 'unverified' });
      expect(a).toMatchObject({ id: 'dev_1', email: 'ada@example.com', status: 'unverified' });
      expect(a.consumer).toBeUndefined();
      expect((await h.portal.findByEmail('ADA@example.com'))?.id).toBe('dev_1');
      await expect(h.portal.create({ id: 'dev_2', email: 'ada@example.com', displayName: '', passwordHash: 'x', status: 'unverified' })).rejects.toBeInstanceOf(PortalEmailTakenError);
      expect(await h.portal.get('dev_nope')).toBeUndefined();
    });

    it('updates only while the account is in the expected status, and lists by status', async () => {
      await h.portal.create({ id: 'dev_3', email: 'bob@example.com', displayName: 'Bob', passwordHash: 'x', status: 'pending' });
      expect((await h.portal.list({ status: 'pending' })).map((a) => a.id)).toEqual(['dev_3']);
      expect(await h.portal.update('dev_3', { status: 'active' }, 'unverified')).toBeUndefined();
      const approved = await h.portal.update('dev_3', { status: 'active', consumer: 'dev-bob', decidedBy: 'ops', decidedAt: new Date() }, 'pending');
      expect(approved).toMatchObject({ status: 'active', consumer: 'dev-bob', decidedBy: 'ops' });
      expect(await h.portal.list({ status: 'pending' })).toEqual([]);
      expect((await h.portal.list()).map((a) => a.id)).toEqual(['dev_1', 'dev_3']);
    });

    it('spends a token once, for its purpose only, and never after it expires; refuses a non-digest', async () => {
      const later = new Date(Date.now() + 60_000);
      await h.portal.issueToken({ hash: hex('a'), purpose: 'verify', accountId: 'dev_1', email: 'ada@example.com', expiresAt: later });
      expect(await h.portal.spendToken(hex('a'), 'reset')).toBeUndefined();
      expect(await h.portal.spendToken(hex('a'), 'verify')).toEqual({ purpose: 'verify', accountId: 'dev_1', email: 'ada@example.com' });
      expect(await h.portal.spendToken(hex('a'), 'verify')).toBeUndefined();
      await h.portal.issueToken({ hash: hex('b'), purpose: 'invite', email: 'Carol@example.com', expiresAt: new Date(Date.now() + 1_000) });
      expect(await h.portal.spendToken(hex('b'), 'invite', new Date(Date.now() + 2_000))).toBeUndefined();
      expect(await h.portal.spendToken(hex('b'), 'invite')).toEqual({ purpose: 'invite', email: 'carol@example.com' });
      await expect(h.portal.issueToken({ hash: 'plain-token', purpose: 'reset', email: 'x@example.com', expiresAt: later })).rejects.toThrow(TypeError);
    });

    it('records subscription requests, lists them by status and consumer, and decides each once', async () => {
      const a = await h.portal.requestSubscription({ id: 'sreq_1', accountId: 'dev_1', consumer: 'dev-ada', plan: 'gold' });
      expect(a).toMatchObject({ id: 'sreq_1', status: 'pending', consumer: 'dev-ada', plan: 'gold' });
      await h.portal.requestSubscription({ id: 'sreq_2', accountId: 'dev_3', consumer: 'dev-bob', plan: 'gold' });
      expect((await h.portal.listSubscriptionRequests({ status: 'pending' })).map((r) => r.id)).toEqual(['sreq_1', 'sreq_2']);
      expect((await h.portal.listSubscriptionRequests({ consumer: 'dev-bob' })).map((r) => r.id)).toEqual(['sreq_2']);
      const decisions = await Promise.all([
        h.portal.decideSubscriptionRequest('sreq_1', { status: 'approved', decidedBy: 'ops', subscription: 'dev-ada-gold' }),
        h.portal.decideSubscriptionRequest('sreq_1', { status: 'rejected', decidedBy: 'other' }),
      ]);
      expect(decisions.filter((d) => d !== undefined)).toHaveLength(1);
      const decided = await h.portal.getSubscriptionRequest('sreq_1');
      expect(decided?.status).not.toBe('pending');
      expect(decided?.decidedAt).toBeInstanceOf(Date);
      expect((await h.portal.listSubscriptionRequests({ status: 'pending' })).map((r) => r.id)).toEqual(['sreq_2']);
      expect(await h.portal.getSubscriptionRequest('sreq_none')).toBeUndefined();
    });

    it('lets exactly one of two concurrent uses of a token succeed', async () => {
      await h.portal.issueToken({ hash: hex('c'), purpose: 'reset', accountId: 'dev_1', email: 'ada@example.com', expiresAt: new Date(Date.now() + 60_000) });
      const results = await Promise.all([h.portal.spendToken(hex('c'), 'reset'), h.portal.spendToken(hex('c'), 'reset')]);
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    });
  });
}
