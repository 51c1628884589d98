import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { buildAdmin, buildPortal, compilerValidator, createLogMailer, hashToken, PortalAccounts, type PortalMail } from '@tollgate/admin';
import { createPostgresStores, type SqlStores } from '@tollgate/stores';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';

/**
 * Shared by the bad-input suites (bad-input-*.test.ts): an admin API and a developer portal on
 * one fresh real Postgres database, with everything the newer endpoints need (usage rollups and
 * webhook deliveries in the database, portal accounts, node registry, OAuth clients), and a
 * runner for tables of bad requests.
 */

export const ADMIN_TOKEN = 'tgadm_badinput_admin_0123456789abcdef';
export const PORTAL_ORIGIN = 'http://portal.test';

/** One bad request and what it must be answered. */
export interface BadCase {
  what: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  /** A string or Buffer is sent as is; anything else as JSON. */
  payload?: unknown;
  /** Default: application/json when there is a payload. `null`: no content-type header at all. */
  contentType?: string | null;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** A field path the problem's `errors` must name. */
  path?: string;
}

/** Words of internal errors (drivers, SQL, JS runtime) that must never reach a client. */
const INTERNALS = /\b(drizzle|pg_|postgres|SQLSTATE|syntax error at|relation "|violates|TypeError|ReferenceError|RangeError|Cannot read prop|undefined is not|ZodError)\b/;

function toInject(c: Pick<BadCase, 'method' | 'url' | 'payload' | 'contentType' | 'headers'>, base: Record<string, string>): InjectOptions {
  const headers: Record<string, string> = { ...base, ...(c.headers ?? {}) };
  let payload: string | Buffer | undefined;
  if (c.payload !== undefined) payload = typeof c.payload === 'string' || Buffer.isBuffer(c.payload) ? c.payload : JSON.stringify(c.payload);
  const type = c.contentType === undefined ? (payload !== undefined ? 'application/json' : undefined) : c.contentType;
  if (type !== undefined && type !== null) headers['content-type'] = type;
  return { method: c.method, url: c.url, headers, ...(payload !== undefined ? { payload } : {}) };
}

/** Asserts the RFC 9457 shape every refusal must have, and the case's status, code and path. */
export function expectRefusal(c: BadCase, res: LightMyRequestResponse): void {
  const label = `${c.what}: ${c.method} ${c.url.slice(0, 120)} -> ${res.statusCode} ${res.body.slice(0, 400)}`;
  // Soft: one run lists every case that is answered wrongly, not only the first.
  expect.soft(res.statusCode, label).toBe(c.status);
  expect.soft(res.headers['content-type'], label).toMatch(/^application\/problem\+json/);
  let body: { type?: string; status?: number; code?: string; detail?: string; errors?: Array<{ path: string }> } = {};
  try {
    body = res.json();
  } catch {
    expect.soft(false, `${label}: the body is not JSON`).toBe(true);
  }
  expect.soft(body.code, label).toBe(c.code);
  expect.soft(body.status, label).toBe(c.status);
  expect.soft(body.type, label).toBe(`https://tollgate.dev/errors/${c.code.toLowerCase().replaceAll('_', '-')}`);
  expect.soft(body.detail?.length ?? 0, label).toBeGreaterThan(0);
  expect.soft(res.body, label).not.toMatch(/\n\s+at |\\n\s+at /); // no stack trace
  expect.soft(res.body, label).not.toMatch(INTERNALS);
  if (c.path !== undefined) expect.soft(body.errors?.map((e) => e.path) ?? [], label).toContain(c.path);
}

/** The admin API and the portal over one Postgres database. */
export interface BadInputWorld {
  stores: SqlStores;
  admin: FastifyInstance;
  portal: FastifyInstance;
  mails: PortalMail[];
  /** Sends one request to the admin API as admin. */
  adminCall(c: Pick<BadCase, 'method' | 'url' | 'payload' | 'contentType' | 'headers'>): Promise<LightMyRequestResponse>;
  /** Everything a write on the admin API or the portal could change, as text; `extra`: more admin URLs to read. */
  snapshot(extra?: readonly string[]): Promise<string>;
  close(): Promise<void>;
}

const doc = (kind: string, name: string, spec: unknown, metadata: Record<string, unknown> = {}) => ({ apiVersion: 'tollgate.dev/v1', kind, metadata: { name, ...metadata }, spec });

/** The resources every suite starts from; names the cases refer to. */
export const BASELINE = [
  doc('Upstream', 'svc', { targets: [{ url: 'http://127.0.0.1:9' }] }),
  doc('Api', 'shop', { basePath: '/shop', routes: [{ name: 'all', destination: { upstream: 'svc' } }] }),
  doc('Consumer', 'acme', { scopes: ['read'] }),
  doc('Plan', 'basic', { limits: [{ limit: 10, window: '1m' }] }, { annotations: { 'tollgate.dev/portal-offer': 'self-service' } }),
  doc('Subscription', 'acme-basic', { consumer: 'acme', plan: 'basic', start: '2026-01-01T00:00:00Z' }),
  doc('Webhook', 'hook', { url: 'https://hooks.example.com/x', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', events: ['*'] }),
  doc('Broker', 'nats', { type: 'nats', servers: ['nats://127.0.0.1'] }),
];

export async function startBadInputWorld(): Promise<BadInputWorld> {
  const database: TestDatabase = await createTestDatabase();
  const stores = await createPostgresStores({ url: database.url, poolMax: 4 });
  await stores.tokens.insert({ id: 'atk_admin', name: 'admin', role: 'admin', hash: hashToken(ADMIN_TOKEN) });
  const mails: PortalMail[] = [];
  const settings = { signup: 'open' as const, publicUrl: PORTAL_ORIGIN, gatewayUrl: 'http://gateway.test', branding: { title: 'Dev', primaryColor: '#112233', accentColor: '#445566' } };
  const accounts = new PortalAccounts(stores.portal, stores.config, compilerValidator, stores.audit, createLogMailer((m) => mails.push(m)), settings);
  const admin = await buildAdmin({
    config: stores.config,
    tokens: stores.tokens,
    apiKeys: stores.apiKeys,
    oauthClients: stores.oauthClients,
    audit: stores.audit,
    validate: compilerValidator,
    db: stores.db,
    portal: accounts,
    nodes: { registry: stores.nodes, heartbeatMs: 1000 },
    authThrottle: { maxFailures: 100_000 },
  });
  const portal = await buildPortal({ accounts, config: stores.config, validate: compilerValidator, apiKeys: stores.apiKeys, oauthClients: stores.oauthClients, audit: stores.audit, db: stores.db, dir: '/nonexistent', throttle: { signInFailures: 100_000, signUps: 100_000 } });
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const adminCall: BadInputWorld['adminCall'] = (c) => admin.inject(toInject(c, auth));
  const applied = await adminCall({ method: 'POST', url: '/config', payload: BASELINE });
  if (applied.statusCode !== 200) throw new Error(`baseline apply failed: ${applied.body}`);
  const read = async (url: string) => {
    const res = await adminCall({ method: 'GET', url });
    return `${url} ${res.statusCode} ${res.body.replace(/"(createdAt|at)":"[^"]*"/g, '')}`;
  };
  return {
    stores,
    admin,
    portal,
    mails,
    adminCall,
    async snapshot(extra = []) {
      const parts = await Promise.all(
        ['/config', '/admin-tokens', '/consumers/acme/keys', '/consumers/acme/oauth-clients', '/portal/accounts', '/portal/subscription-requests', '/webhooks/hook/deliveries', ...extra].map(read),
      );
      return parts.join('\n');
    },
    async close() {
      await portal.close();
      await admin.close();
      await stores.close();
      await database.drop();
    },
  };
}

/** A signed-in, active portal developer: a cookie and the CSRF token. */
export interface Developer {
  /** The developer's Consumer. */
  consumer: string;
  call(c: Pick<BadCase, 'method' | 'url' | 'payload' | 'contentType' | 'headers'>): Promise<LightMyRequestResponse>;
}

/** Signs a developer up (open mode), verifies the mailed link and signs in. */
export async function signUpDeveloper(world: BadInputWorld, email: string, password: string): Promise<Developer> {
  // Same-site, as a browser on the portal sends them (cross-site changes are refused first).
  const base = { host: 'portal.test', origin: PORTAL_ORIGIN };
  const up = await world.portal.inject(toInject({ method: 'POST', url: '/api/sign-up', payload: { email, password } }, base));
  if (up.statusCode !== 202) throw new Error(`sign-up failed: ${up.body}`);
  const mail = world.mails.find((m) => m.to === email);
  const token = /token=([A-Za-z0-9_-]+)/.exec(mail?.text ?? '')?.[1];
  const verified = await world.portal.inject(toInject({ method: 'POST', url: '/api/verify', payload: { token } }, base));
  if (verified.statusCode !== 200) throw new Error(`verify failed: ${verified.body}`);
  const session = await world.portal.inject(toInject({ method: 'POST', url: '/api/session', payload: { email, password } }, base));
  if (session.statusCode !== 201) throw new Error(`sign-in failed: ${session.body}`);
  const set = session.headers['set-cookie'];
  const cookie = (Array.isArray(set) ? set[0] : set)?.split(';')[0] ?? '';
  const { csrfToken: csrf, account } = session.json<{ csrfToken: string; account: { consumer: string } }>();
  return { consumer: account.consumer, call: (c) => world.portal.inject(toInject(c, { ...base, cookie, 'x-csrf-token': csrf })) };
}
