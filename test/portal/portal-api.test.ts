import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildAdmin, buildPortal, compilerValidator, createSmtpMailer, hashToken, PortalAccounts, type PortalSettings, type SignupMode } from '@tollgate/admin';
import { createPgliteStores, type SqlStores } from '@tollgate/stores';
import { linkToken, startSmtpInbox, type SmtpInbox } from '../support/smtp-inbox.js';

const ADMIN = 'tgadm_portal_api_test_0123456789';
const ORIGIN = 'http://portal.test';

interface Portal {
  stores: SqlStores;
  admin: FastifyInstance;
  portal: FastifyInstance;
}

async function startPortal(inbox: SmtpInbox, signup: SignupMode, throttle?: { signInFailures?: number; signUps?: number }): Promise<Portal> {
  const stores = await createPgliteStores();
  await stores.tokens.insert({ id: 'atk_ops', name: 'ops', role: 'operator', hash: hashToken(ADMIN) });
  const settings: PortalSettings = { signup, publicUrl: ORIGIN, gatewayUrl: 'http://gateway.test', branding: { title: 'Acme developers', primaryColor: '#112233', accentColor: '#445566' } };
  const accounts = new PortalAccounts(stores.portal, stores.config, compilerValidator, stores.audit, createSmtpMailer(inbox.url, 'portal@acme.test'), settings);
  const admin = await buildAdmin({ config: stores.config, tokens: stores.tokens, apiKeys: stores.apiKeys, audit: stores.audit, validate: compilerValidator, db: stores.db, portal: accounts });
  const portal = await buildPortal({ accounts, config: stores.config, validate: compilerValidator, apiKeys: stores.apiKeys, audit: stores.audit, db: stores.db, dir: '/nonexistent', ...(throttle ? { throttle } : {}) });
  return { stores, admin, portal };
}

/** A browser-like client of the portal: a cookie jar and the CSRF token. */
class Client {
  cookie = '';
  csrf = '';
  constructor(private readonly app: FastifyInstance, private readonly ip = '10.0.0.1') {}
  async call(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await this.app.inject({
      method,
      url,
      remoteAddress: this.ip,
      headers: { host: 'portal.test', ...(this.cookie ? { cookie: this.cookie } : {}), ...(method !== 'GET' && this.csrf ? { 'x-csrf-token': this.csrf } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    const set = res.headers['set-cookie'];
    const line = Array.isArray(set) ? set[0] : set;
    if (line) this.cookie = line.split(';')[0] ?? '';
    return res;
  }
  async signIn(email: string, password: string) {
    const res = await this.call('POST', '/api/session', { email, password });
    if (res.statusCode === 201) this.csrf = res.json<{ csrfToken: string }>().csrfToken;
    return res;
  }
}

async function adminCall(p: Portal, method: 'GET' | 'POST', url: string, body?: unknown) {
  return p.admin.inject({ method, url, headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });
}

describe('developer portal API (approval mode)', () => {
  let inbox: SmtpInbox;
  let p: Portal;
  beforeAll(async () => {
    inbox = await startSmtpInbox();
    p = await startPortal(inbox, 'approval');
    const plan = { apiVersion: 'tollgate.dev/v1', kind: 'Plan', metadata: { name: 'starter', annotations: { 'tollgate.dev/portal-offer': 'self-service' } }, spec: { limits: [{ limit: 10, window: '1m' }], quota: { limit: 100 } } };
    const hidden = { apiVersion: 'tollgate.dev/v1', kind: 'Plan', metadata: { name: 'internal' }, spec: { limits: [] } };
    const gold = { apiVersion: 'tollgate.dev/v1', kind: 'Plan', metadata: { name: 'gold', annotations: { 'tollgate.dev/portal-offer': 'approval' } }, spec: { limits: [{ limit: 100, window: '1m' }] } };
    const applied = await adminCall(p, 'POST', '/config', [plan, hidden, gold]);
    expect(applied.statusCode, applied.body).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await p?.portal.close();
    await p?.admin.close();
    await p?.stores.close();
    await inbox?.close();
  });

  it('signs up, verifies by mail, waits for approval in the admin API, then gets its own consumer', async () => {
    const ada = new Client(p.portal);
    const weak = await ada.call('POST', '/api/sign-up', { email: 'ada@example.com', password: 'short' });
    expect(weak.statusCode).toBe(400);
    const up = await ada.call('POST', '/api/sign-up', { email: 'Ada@Example.com', password: 'a long enough secret', displayName: 'Ada' });
    expect(up.statusCode, up.body).toBe(202);
    const mail = await inbox.waitFor('ada@example.com', 'confirm your email');
    expect(mail.text).toContain(`${ORIGIN}/#/verify?token=`);
    // Before verification: signed in, but nothing self-service works.
    expect((await ada.signIn('ada@example.com', 'a long enough secret')).statusCode).toBe(201);
    expect((await ada.call('GET', '/api/keys')).statusCode).toBe(403);
    const verified = await ada.call('POST', '/api/verify', { token: linkToken(mail) });
    expect(verified.json()).toEqual({ status: 'pending' });
    expect((await ada.call('POST', '/api/verify', { token: linkToken(mail) })).statusCode).toBe(400);
    const queue = await adminCall(p, 'GET', '/portal/accounts?status=pending');
    const pending = queue.json<{ items: Array<{ id: string; email: string; passwordHash?: string }> }>().items;
    expect(pending.map((a) => a.email)).toEqual(['ada@example.com']);
    expect(queue.body).not.toContain('scrypt');
    expect((await ada.call('GET', '/api/keys')).json<{ detail: string }>().detail).toContain('approval');
    const approved = await adminCall(p, 'POST', `/portal/accounts/${pending[0]!.id}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'active', decidedBy: 'ops' });
    const consumer = approved.json<{ consumer: string }>().consumer;
    expect((await adminCall(p, 'GET', `/consumers/${consumer}`)).statusCode).toBe(200);
    expect((await adminCall(p, 'POST', `/portal/accounts/${pending[0]!.id}/approve`)).statusCode).toBe(409);
    await inbox.waitFor('ada@example.com', 'approved');
    expect((await ada.call('GET', '/api/keys')).json()).toEqual({ items: [] });
  });

  it('scopes keys, subscriptions, usage and invoices to the signed-in developer; forged ids and missing CSRF fail', async () => {
    const ada = new Client(p.portal);
    await ada.signIn('ada@example.com', 'a long enough secret');
    const created = await ada.call('POST', '/api/keys', { name: 'laptop' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const key = created.json<{ id: string; key: string }>();
    expect(key.key).toMatch(/^tg_/);
    expect((await ada.call('GET', '/api/keys')).body).not.toContain(key.key);

    // Bob: a second developer (approved too).
    const bob = new Client(p.portal, '10.0.0.2');
    await bob.call('POST', '/api/sign-up', { email: 'bob@example.com', password: 'bobs long password' });
    await bob.call('POST', '/api/verify', { token: linkToken(await inbox.waitFor('bob@example.com', 'confirm')) });
    const bobId = (await adminCall(p, 'GET', '/portal/accounts?status=pending')).json<{ items: Array<{ id: string }> }>().items[0]!.id;
    const bobConsumer = (await adminCall(p, 'POST', `/portal/accounts/${bobId}/approve`)).json<{ consumer: string }>().consumer;
    await bob.signIn('bob@example.com', 'bobs long password');
    expect((await bob.call('GET', '/api/keys')).json()).toEqual({ items: [] });
    // Forged: Bob revokes Ada's key by id, names Ada's consumer in queries and bodies.
    expect((await bob.call('DELETE', `/api/keys/${key.id}`)).statusCode).toBe(404);
    const adaConsumer = (await ada.call('GET', '/api/session')).json<{ account: { consumer: string } }>().account.consumer;
    expect((await bob.call('GET', `/api/invoice?month=2026-12&consumer=${adaConsumer}`)).statusCode).toBe(400);
    expect((await bob.call('POST', '/api/keys', { name: 'x', consumer: adaConsumer })).statusCode).toBe(400);
    expect((await bob.call('POST', '/api/subscriptions', { plan: 'starter', consumer: adaConsumer })).statusCode).toBe(400);
    expect((await ada.call('GET', '/api/keys')).json<{ items: Array<{ revokedAt?: string }> }>().items[0]!.revokedAt).toBeUndefined();
    // Without the CSRF token, or from another site, a change is refused.
    const noCsrf = await p.portal.inject({ method: 'POST', url: '/api/keys', headers: { host: 'portal.test', cookie: ada.cookie, 'content-type': 'application/json' }, payload: '{"name":"x"}' });
    expect(noCsrf.statusCode).toBe(403);
    expect((await ada.call('POST', '/api/keys', { name: 'x' }, { 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);

    // Plans: only the offered one; subscribing creates a Subscription for this consumer only.
    expect((await ada.call('GET', '/api/plans')).json<{ items: Array<{ name: string }> }>().items.map((x) => x.name)).toEqual(['gold', 'starter']);
    expect((await ada.call('POST', '/api/subscriptions', { plan: 'internal' })).statusCode).toBe(404);
    const sub = await ada.call('POST', '/api/subscriptions', { plan: 'starter' });
    expect(sub.statusCode, sub.body).toBe(201);
    expect(sub.json<{ items: Array<{ plan: string; quota: { limit: number } }> }>().items).toMatchObject([{ plan: 'starter', quota: { limit: 100 } }]);
    expect((await bob.call('GET', '/api/subscriptions')).json()).toEqual({ items: [] });
    const invoice = await ada.call('GET', `/api/invoice?month=${new Date().toISOString().slice(0, 7)}&format=csv`);
    expect(invoice.statusCode, invoice.body).toBe(200);
    expect(invoice.headers['content-type']).toContain('text/csv');
    expect(invoice.body).not.toContain(bobConsumer);

    // Ada revokes her own key; sign-out ends the session.
    expect((await ada.call('DELETE', `/api/keys/${key.id}`)).statusCode).toBe(204);
    expect((await ada.call('DELETE', '/api/session')).statusCode).toBe(204);
    expect((await ada.call('GET', '/api/keys')).statusCode).toBe(401);
  });

  it('answers a sign-up with a taken email like any other, resets a password by mail, and ends older sessions', async () => {
    const again = new Client(p.portal, '10.0.0.3');
    const dup = await again.call('POST', '/api/sign-up', { email: 'ada@example.com', password: 'another long password' });
    expect(dup.statusCode).toBe(202);
    await inbox.waitFor('ada@example.com', 'already have an account');
    const old = new Client(p.portal, '10.0.0.3');
    await old.signIn('ada@example.com', 'a long enough secret');
    expect((await again.call('POST', '/api/password-reset', { email: 'nobody@example.com' })).statusCode).toBe(202);
    expect((await again.call('POST', '/api/password-reset', { email: 'ada@example.com' })).statusCode).toBe(202);
    const reset = await inbox.waitFor('ada@example.com', 'reset your password');
    expect((await again.call('POST', '/api/password-reset/confirm', { token: linkToken(reset), password: 'a brand new password' })).statusCode).toBe(200);
    expect((await old.call('GET', '/api/keys')).statusCode).toBe(401);
    expect((await again.signIn('ada@example.com', 'a long enough secret')).statusCode).toBe(401);
    expect((await again.signIn('ada@example.com', 'a brand new password')).statusCode).toBe(201);
    const session = await again.call('GET', '/api/session');
    expect(session.body).not.toContain('scrypt');
    expect(session.headers['set-cookie']).toBeUndefined();
  });

  it('turns a subscription on a plan offered with approval into a request an operator approves or rejects', async () => {
    const ada = new Client(p.portal, '10.0.0.5');
    await ada.signIn('ada@example.com', 'a brand new password');
    const asked = await ada.call('POST', '/api/subscriptions', { plan: 'gold' });
    expect(asked.statusCode, asked.body).toBe(202);
    const request = asked.json<{ request: { id: string; status: string } }>().request;
    expect(request.status).toBe('pending');
    expect((await ada.call('POST', '/api/subscriptions', { plan: 'gold' })).statusCode).toBe(409);
    expect((await ada.call('GET', '/api/subscriptions')).json<{ items: Array<{ plan: string; active: boolean }> }>().items.filter((s) => s.active).map((s) => s.plan)).toEqual(['starter']);
    const bob = new Client(p.portal, '10.0.0.6');
    await bob.signIn('bob@example.com', 'bobs long password');
    expect((await bob.call('GET', '/api/subscription-requests')).json()).toEqual({ items: [] });
    const queue = (await adminCall(p, 'GET', '/portal/subscription-requests?status=pending')).json<{ items: Array<{ id: string; plan: string }> }>().items;
    expect(queue).toMatchObject([{ id: request.id, plan: 'gold' }]);
    const approved = await adminCall(p, 'POST', `/portal/subscription-requests/${request.id}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'approved', decidedBy: 'ops' });
    await inbox.waitFor('ada@example.com', 'subscription to gold');
    // Gold is active now and the starter subscription ended at the same instant (prorated).
    expect((await ada.call('GET', '/api/subscriptions')).json<{ items: Array<{ plan: string; active: boolean }> }>().items.filter((s) => s.active).map((s) => s.plan)).toEqual(['gold']);
    expect((await adminCall(p, 'POST', `/portal/subscription-requests/${request.id}/reject`)).statusCode).toBe(409);
    // A change at the start of the next billing period: gold runs to the end of the month, starter follows.
    const now = new Date();
    const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
    const scheduled = await ada.call('POST', '/api/subscriptions', { plan: 'starter', when: 'next-period' });
    expect(scheduled.statusCode, scheduled.body).toBe(201);
    expect(scheduled.json<{ start: string }>().start).toBe(nextMonth);
    const after = (await ada.call('GET', '/api/subscriptions')).json<{ items: Array<{ plan: string; active: boolean; start: string; end: string | null }> }>().items;
    expect(after.find((x) => x.plan === 'gold')).toMatchObject({ active: true, end: nextMonth });
    expect(after.filter((x) => x.plan === 'starter' && x.start === nextMonth)).toMatchObject([{ active: false, end: null }]);
    expect((await ada.call('POST', '/api/subscriptions', { plan: 'starter', when: 'later' })).statusCode).toBe(400);
    const bobAsks = (await bob.call('POST', '/api/subscriptions', { plan: 'gold' })).json<{ request: { id: string } }>().request;
    expect((await adminCall(p, 'POST', `/portal/subscription-requests/${bobAsks.id}/reject`)).json()).toMatchObject({ status: 'rejected' });
    expect((await bob.call('GET', '/api/subscription-requests')).json<{ items: Array<{ status: string }> }>().items.map((r) => r.status)).toEqual(['rejected']);
    expect((await bob.call('GET', '/api/subscriptions')).json()).toEqual({ items: [] });

    // An operator disables Bob: his session ends, he cannot sign in, his keys stop working.
    const bobKey = (await bob.call('POST', '/api/keys', { name: 'ci' })).json<{ id: string }>();
    const bobAccount = (await bob.call('GET', '/api/session')).json<{ account: { id: string; consumer: string } }>().account;
    const disabled = await adminCall(p, 'POST', `/portal/accounts/${bobAccount.id}/disable`);
    expect(disabled.statusCode, disabled.body).toBe(200);
    expect(disabled.json()).toMatchObject({ status: 'disabled', revokedKeys: 1 });
    expect((await bob.call('GET', '/api/keys')).statusCode).toBe(401);
    expect((await new Client(p.portal, '10.0.0.8').signIn('bob@example.com', 'bobs long password')).statusCode).toBe(401);
    const keys = (await adminCall(p, 'GET', `/consumers/${bobAccount.consumer}/keys`)).json<{ items: Array<{ id: string; revokedAt?: string }> }>().items;
    expect(keys.find((k) => k.id === bobKey.id)?.revokedAt).toBeDefined();
    expect((await adminCall(p, 'POST', `/portal/accounts/${bobAccount.id}/disable`)).statusCode).toBe(409);
  });

  it('serves the catalogue: published and deprecated with sunset, drafts only to preview consumers, OpenAPI with the gateway as server', async () => {
    const doc = { openapi: '3.0.3', info: { title: 'Orders', version: '1' }, paths: { '/orders': { get: { responses: { '200': { description: 'ok' } } } } } };
    const api = (name: string, lifecycle: object, openapi?: object) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Api', metadata: { name }, spec: { basePath: `/${name}`, lifecycle, routes: [{ name: 'all', destination: { upstream: 'orders' } }], ...(openapi ? { openapi: { document: openapi } } : {}) } });
    const upstream = { apiVersion: 'tollgate.dev/v1', kind: 'Upstream', metadata: { name: 'orders' }, spec: { targets: [{ url: 'http://127.0.0.1:9' }] } };
    const applied = await adminCall(p, 'POST', '/config', [upstream, api('orders-v1', { state: 'deprecated', sunsetAt: '2027-06-30T00:00:00Z' }, doc), api('orders-v2', { state: 'published' }, doc), api('secret-v3', { state: 'draft', previewConsumers: [] }), api('old-v0', { state: 'retired' })]);
    expect(applied.statusCode, applied.body).toBe(200);
    const anon = new Client(p.portal, '10.0.0.4');
    const list = (await anon.call('GET', '/api/catalogue')).json<{ items: Array<{ name: string; state: string; sunsetAt: string | null }> }>().items;
    expect(list.map((a) => a.name)).toEqual(['orders-v1', 'orders-v2']);
    expect(list[0]).toMatchObject({ state: 'deprecated', sunsetAt: '2027-06-30T00:00:00Z' });
    const spec = (await anon.call('GET', '/api/catalogue/orders-v2/openapi.json')).json<{ servers: Array<{ url: string }> }>();
    expect(spec.servers).toEqual([{ url: 'http://gateway.test/orders-v2', description: 'Tollgate gateway' }]);
    expect((await anon.call('GET', '/api/catalogue/secret-v3/openapi.json')).statusCode).toBe(404);
    // A preview consumer sees the draft; the listener knows no admin routes.
    const ada = new Client(p.portal, '10.0.0.7');
    await ada.signIn('ada@example.com', 'a brand new password');
    const adaConsumer = (await ada.call('GET', '/api/session')).json<{ account: { consumer: string } }>().account.consumer;
    expect((await adminCall(p, 'POST', '/config', [upstream, api('secret-v3', { state: 'draft', previewConsumers: [adaConsumer] })])).statusCode).toBe(200);
    expect((await ada.call('GET', '/api/catalogue')).json<{ items: Array<{ name: string; state: string }> }>().items.find((a) => a.name === 'secret-v3')).toMatchObject({ state: 'draft' });
    expect((await anon.call('GET', '/api/catalogue')).json<{ items: Array<{ name: string }> }>().items.map((a) => a.name)).not.toContain('secret-v3');
    const notHere = await anon.call('GET', '/consumers');
    expect(notHere.statusCode).toBe(404);
    expect(notHere.json<{ detail: string }>().detail).toContain('no portal route');
  });

  it('lets a viewer read the approval queue but not decide, and answers 503 where the portal is off', async () => {
    await p.stores.tokens.insert({ id: 'atk_view', name: 'looker', role: 'viewer', hash: hashToken('tgadm_portal_api_viewer_0123456') });
    const asViewer = (method: 'GET' | 'POST', url: string) => p.admin.inject({ method, url, headers: { authorization: 'Bearer tgadm_portal_api_viewer_0123456' } });
    expect((await asViewer('GET', '/portal/accounts')).statusCode).toBe(200);
    expect((await asViewer('POST', '/portal/accounts/dev_0123456789abcdef/approve')).statusCode).toBe(403);
    expect((await adminCall(p, 'POST', '/portal/accounts/dev_0123456789abcdef/approve')).statusCode).toBe(404);
    const off = await buildAdmin({ config: p.stores.config, tokens: p.stores.tokens, apiKeys: p.stores.apiKeys, audit: p.stores.audit, validate: compilerValidator });
    try {
      const res = await off.inject({ method: 'GET', url: '/portal/accounts', headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.statusCode).toBe(503);
      expect(res.json<{ detail: string }>().detail).toContain('PORTAL=true');
    } finally {
      await off.close();
    }
  });

  it('throttles failed sign-ins per address', async () => {
    const p2 = await startPortal(inbox, 'open', { signInFailures: 3 });
    try {
      const c = new Client(p2.portal, '10.9.9.9');
      for (let i = 0; i < 3; i++) expect((await c.signIn('x@example.com', 'wrong password!')).statusCode).toBe(401);
      const blocked = await c.signIn('x@example.com', 'wrong password!');
      expect(blocked.statusCode).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      expect((await new Client(p2.portal, '10.9.9.8').signIn('x@example.com', 'wrong password!')).statusCode).toBe(401);
    } finally {
      await p2.portal.close();
      await p2.admin.close();
      await p2.stores.close();
    }
  });
});

describe('developer portal sign-up modes', () => {
  let inbox: SmtpInbox;
  beforeAll(async () => {
    inbox = await startSmtpInbox();
  });
  afterAll(async () => {
    await inbox?.close();
  });

  it('closed refuses every sign-up; open activates on verification; invite needs the mailed invitation for that address', async () => {
    for (const [mode, check] of [
      ['closed', async (p: Portal) => {
        expect((await new Client(p.portal).call('POST', '/api/sign-up', { email: 'c@example.com', password: 'long enough pass' })).statusCode).toBe(403);
      }],
      ['open', async (p: Portal) => {
        const c = new Client(p.portal);
        await c.call('POST', '/api/sign-up', { email: 'o@example.com', password: 'long enough pass' });
        expect((await c.call('POST', '/api/verify', { token: linkToken(await inbox.waitFor('o@example.com', 'confirm')) })).json()).toEqual({ status: 'active' });
      }],
      ['invite', async (p: Portal) => {
        const c = new Client(p.portal);
        expect((await c.call('POST', '/api/sign-up', { email: 'i@example.com', password: 'long enough pass' })).statusCode).toBe(403);
        expect((await adminCall(p, 'POST', '/portal/invitations', { email: 'i@example.com' })).statusCode).toBe(202);
        const token = linkToken(await inbox.waitFor('i@example.com', 'invited'));
        expect((await c.call('POST', '/api/sign-up', { email: 'other@example.com', password: 'long enough pass', invite: token })).statusCode).toBe(403);
        expect((await adminCall(p, 'POST', '/portal/invitations', { email: 'i@example.com' })).statusCode).toBe(202);
        const second = inbox.messages.filter((m) => m.to === 'i@example.com').map(linkToken).at(-1)!;
        const up = await c.call('POST', '/api/sign-up', { email: 'i@example.com', password: 'long enough pass', invite: second });
        expect(up.json()).toMatchObject({ status: 'active' });
        expect((await c.signIn('i@example.com', 'long enough pass')).statusCode).toBe(201);
        expect((await c.call('GET', '/api/keys')).statusCode).toBe(200);
      }],
    ] as const) {
      const p = await startPortal(inbox, mode);
      try {
        await check(p);
      } finally {
        await p.portal.close();
        await p.admin.close();
        await p.stores.close();
      }
    }
  }, 60_000);
});
