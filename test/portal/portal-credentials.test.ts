import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildAdmin, buildPortal, compilerValidator, createSmtpMailer, hashToken, PortalAccounts, type PortalSettings } from '@tollgate/admin';
import { createPgliteStores, type SqlStores } from '@tollgate/stores';
import { linkToken, startSmtpInbox, type SmtpInbox } from '../support/smtp-inbox.js';

// A developer's own OAuth clients and signature keys through the portal API (open sign-up, so a
// verified account is active at once). The consumer comes from the session only: ids of another
// developer's clients and keys miss, a key id another consumer holds is refused, secrets never
// come back, and every change is in the audit log.
const ADMIN = 'tgadm_portal_credentials_0123456789';
const ORIGIN = 'http://portal.test';

class Client {
  cookie = '';
  csrf = '';
  constructor(private readonly app: FastifyInstance, private readonly ip: string) {}
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
}

const publicKeyOf = () => generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x as string;

describe('developer portal: OAuth clients and signature keys', () => {
  let inbox: SmtpInbox;
  let stores: SqlStores;
  let admin: FastifyInstance;
  let portal: FastifyInstance;
  let ada: Client;
  let bob: Client;
  const consumers = { ada: '', bob: '' };
  const adminCall = (method: 'GET' | 'PUT' | 'POST', url: string, body?: unknown) =>
    admin.inject({ method, url, headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });

  async function developer(name: string, ip: string): Promise<[Client, string]> {
    const c = new Client(portal, ip);
    expect((await c.call('POST', '/api/sign-up', { email: `${name}@example.com`, password: `${name} has a long password` })).statusCode).toBe(202);
    expect((await c.call('POST', '/api/verify', { token: linkToken(await inbox.waitFor(`${name}@example.com`, 'confirm')) })).statusCode).toBe(200);
    const signed = await c.call('POST', '/api/session', { email: `${name}@example.com`, password: `${name} has a long password` });
    expect(signed.statusCode, signed.body).toBe(201);
    c.csrf = signed.json<{ csrfToken: string }>().csrfToken;
    const consumer = signed.json<{ account: { consumer: string } }>().account.consumer;
    expect(consumer).toBeTruthy();
    return [c, consumer];
  }

  beforeAll(async () => {
    inbox = await startSmtpInbox();
    stores = await createPgliteStores();
    await stores.tokens.insert({ id: 'atk_ops', name: 'ops', role: 'admin', hash: hashToken(ADMIN) });
    const settings: PortalSettings = { signup: 'open', publicUrl: ORIGIN, gatewayUrl: 'http://gateway.test', branding: { title: 'Acme developers', primaryColor: '#112233', accentColor: '#445566' } };
    const accounts = new PortalAccounts(stores.portal, stores.config, compilerValidator, stores.audit, createSmtpMailer(inbox.url, 'portal@acme.test'), settings);
    admin = await buildAdmin({ config: stores.config, tokens: stores.tokens, apiKeys: stores.apiKeys, oauthClients: stores.oauthClients, audit: stores.audit, validate: compilerValidator, db: stores.db, portal: accounts });
    portal = await buildPortal({ accounts, config: stores.config, validate: compilerValidator, apiKeys: stores.apiKeys, oauthClients: stores.oauthClients, audit: stores.audit, db: stores.db, dir: '/nonexistent' });
    [ada, consumers.ada] = await developer('ada', '10.0.0.1');
    [bob, consumers.bob] = await developer('bob', '10.0.0.2');
    // An operator grants Ada's consumer scopes (the portal never lets a developer widen them).
    const doc = (await adminCall('GET', `/consumers/${consumers.ada}`)).json<{ spec: Record<string, unknown> }>();
    const put = await adminCall('PUT', `/consumers/${consumers.ada}`, { ...doc, spec: { ...doc.spec, scopes: ['orders:read', 'orders:write'] } });
    expect(put.statusCode, put.body).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await portal?.close();
    await admin?.close();
    await stores?.close();
    await inbox?.close();
  });

  it('creates an OAuth client with a subset of the consumer scopes, shows the secret once, and revokes only its own', async () => {
    const listed = await ada.call('GET', '/api/oauth-clients');
    expect(listed.json()).toEqual({ scopes: ['orders:read', 'orders:write'], items: [] });
    expect((await ada.call('POST', '/api/oauth-clients', { name: 'sync', scopes: ['admin:all'] })).statusCode).toBe(400);
    const created = await ada.call('POST', '/api/oauth-clients', { name: 'sync', scopes: ['orders:read'] });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const client = created.json<{ clientId: string; clientSecret: string; scopes: string[] }>();
    expect(client.clientSecret).toMatch(/^tgcs_/);
    expect(client.scopes).toEqual(['orders:read']);
    const again = await ada.call('GET', '/api/oauth-clients');
    expect(again.body).not.toContain(client.clientSecret);
    expect(again.json<{ items: Array<{ clientId: string }> }>().items.map((c) => c.clientId)).toEqual([client.clientId]);
    // The same client as the admin API sees it: Ada's consumer, not Bob's.
    expect((await adminCall('GET', `/consumers/${consumers.ada}/oauth-clients`)).json<{ items: Array<{ clientId: string }> }>().items.map((c) => c.clientId)).toEqual([client.clientId]);

    // Forged: Bob revokes Ada's client by id, or names Ada's consumer in the body.
    expect((await bob.call('DELETE', `/api/oauth-clients/${client.clientId}`)).statusCode).toBe(404);
    expect((await bob.call('POST', '/api/oauth-clients', { name: 'x', consumer: consumers.ada })).statusCode).toBe(400);
    expect((await bob.call('GET', '/api/oauth-clients')).json()).toEqual({ scopes: [], items: [] });
    // Without the CSRF token nothing changes.
    const noCsrf = await portal.inject({ method: 'DELETE', url: `/api/oauth-clients/${client.clientId}`, headers: { host: 'portal.test', cookie: ada.cookie } });
    expect(noCsrf.statusCode).toBe(403);
    expect((await ada.call('GET', '/api/oauth-clients')).json<{ items: Array<{ revokedAt?: string }> }>().items[0]!.revokedAt).toBeUndefined();

    expect((await ada.call('DELETE', `/api/oauth-clients/${client.clientId}`)).statusCode).toBe(204);
    expect((await ada.call('GET', '/api/oauth-clients')).json<{ items: Array<{ revokedAt?: string }> }>().items[0]!.revokedAt).toBeTruthy();
    expect((await ada.call('DELETE', `/api/oauth-clients/${client.clientId}`)).statusCode).toBe(404);

    const audit = await admin.inject({ method: 'GET', url: `/audit-log?resource=Consumer/${consumers.ada}`, headers: { authorization: `Bearer ${ADMIN}` } });
    const actions = audit.json<{ items: Array<{ action: string }> }>().items.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['portal.oauth-client.create', 'portal.oauth-client.revoke']));
    expect(audit.body).not.toContain(client.clientSecret);
  });

  it('registers and removes its own signature keys; secrets never come back; another consumer\'s key ids are refused or missed', async () => {
    const edKey = publicKeyOf();
    const added = await ada.call('POST', '/api/signature-keys', { keyId: 'ada-ed', algorithm: 'ed25519', publicKey: edKey });
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json<{ items: unknown[] }>().items).toEqual([{ keyId: 'ada-ed', algorithm: 'ed25519', publicKey: edKey }]);
    const secret = 'ada-shared-secret-of-at-least-32-characters';
    const hmac = await ada.call('POST', '/api/signature-keys', { keyId: 'ada-hmac', algorithm: 'hmac-sha256', secret, expiresAt: '2030-01-01T00:00:00Z' });
    expect(hmac.statusCode, hmac.body).toBe(201);
    expect(hmac.body).not.toContain(secret);
    const listed = await ada.call('GET', '/api/signature-keys');
    expect(listed.json()).toEqual({ items: [{ keyId: 'ada-ed', algorithm: 'ed25519', publicKey: edKey }, { keyId: 'ada-hmac', algorithm: 'hmac-sha256', expiresAt: '2030-01-01T00:00:00Z' }] });
    expect(listed.body).not.toContain(secret);
    // Stored on Ada's Consumer, redacted on the admin API's reads as well.
    const consumer = await adminCall('GET', `/consumers/${consumers.ada}`);
    expect(consumer.json<{ spec: { signatureKeys: Array<{ keyId: string; secret?: string }>; scopes: string[] } }>().spec).toMatchObject({ scopes: ['orders:read', 'orders:write'], signatureKeys: [{ keyId: 'ada-ed' }, { keyId: 'ada-hmac', secret: '<redacted>' }] });

    // Invalid keys are refused and change nothing.
    expect((await ada.call('POST', '/api/signature-keys', { keyId: 'bad', algorithm: 'ed25519', publicKey: 'not-a-key' })).statusCode).toBe(400);
    expect((await ada.call('POST', '/api/signature-keys', { keyId: 'short', algorithm: 'hmac-sha256', secret: 'too short' })).statusCode).toBe(400);
    expect((await ada.call('POST', '/api/signature-keys', { keyId: 'ada-ed', algorithm: 'ed25519', publicKey: publicKeyOf() })).statusCode).toBe(409);
    // Bob cannot claim Ada's key id (that would switch Ada's key off), nor remove it.
    const claim = await bob.call('POST', '/api/signature-keys', { keyId: 'ada-ed', algorithm: 'ed25519', publicKey: publicKeyOf() });
    expect(claim.statusCode).toBe(409);
    expect((await bob.call('DELETE', '/api/signature-keys/ada-ed')).statusCode).toBe(404);
    expect((await bob.call('GET', '/api/signature-keys')).json()).toEqual({ items: [] });
    expect((await ada.call('GET', '/api/signature-keys')).json<{ items: unknown[] }>().items).toHaveLength(2);

    expect((await ada.call('DELETE', '/api/signature-keys/ada-ed')).statusCode).toBe(204);
    expect((await ada.call('GET', '/api/signature-keys')).json()).toEqual({ items: [{ keyId: 'ada-hmac', algorithm: 'hmac-sha256', expiresAt: '2030-01-01T00:00:00Z' }] });
    // The HMAC secret survived the rewrite of the Consumer (the stored one, not a redaction marker).
    const stored = await stores.config.get('Consumer', consumers.ada);
    expect((stored?.resource.spec as { signatureKeys: Array<{ secret?: string }> }).signatureKeys[0]!.secret).toBe(secret);

    const audit = await admin.inject({ method: 'GET', url: `/audit-log?resource=Consumer/${consumers.ada}`, headers: { authorization: `Bearer ${ADMIN}` } });
    const actions = audit.json<{ items: Array<{ action: string }> }>().items.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['portal.signature-key.add', 'portal.signature-key.remove']));
    expect(audit.body).not.toContain(secret);
  });

  it('disabling the account revokes its OAuth clients and removes its signature keys with its API keys', async () => {
    const client = (await ada.call('POST', '/api/oauth-clients', { name: 'before-disable' })).json<{ clientId: string }>();
    expect((await ada.call('GET', '/api/signature-keys')).json<{ items: unknown[] }>().items).toHaveLength(1);
    const accountId = (await ada.call('GET', '/api/session')).json<{ account: { id: string } }>().account.id;
    const disabled = await adminCall('POST', `/portal/accounts/${accountId}/disable`);
    expect(disabled.statusCode, disabled.body).toBe(200);
    expect(disabled.json()).toMatchObject({ status: 'disabled', revokedKeys: 0, revokedOAuthClients: 1, removedSignatureKeys: 1 });
    const clients = (await adminCall('GET', `/consumers/${consumers.ada}/oauth-clients`)).json<{ items: Array<{ clientId: string; revokedAt?: string }> }>().items;
    expect(clients.find((c) => c.clientId === client.clientId)?.revokedAt).toBeDefined();
    const consumer = (await adminCall('GET', `/consumers/${consumers.ada}`)).json<{ spec: { signatureKeys: unknown[]; scopes: string[] } }>().spec;
    expect(consumer.signatureKeys).toEqual([]);
    expect(consumer.scopes).toEqual(['orders:read', 'orders:write']);
  });
});
