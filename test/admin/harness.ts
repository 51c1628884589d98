import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildAdmin, compilerValidator, hashToken, type AdminOptions } from '@tollgate/admin';
import type { AdminRole } from '@tollgate/stores';
import { createPgliteStores, createPostgresStores, SqlSessionStore, type SqlStores } from '@tollgate/stores';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';

/** Where the admin suite's stores live: embedded PGlite (in memory) or a fresh real Postgres database. */
export type Backend = 'pglite' | 'postgres';

/** Both backends: the admin behaviour must not depend on which store is behind it. */
export const BACKENDS: Backend[] = ['pglite', 'postgres'];

/** A running admin API (inject only) with one token per role. */
export interface AdminHarness {
  app: FastifyInstance;
  stores: SqlStores;
  /** URL of the test database (postgres backend only). */
  databaseUrl?: string;
  tokens: Record<AdminRole, string>;
  /** Authorization header for a role (admin by default). */
  auth(role?: AdminRole): { authorization: string };
  /** Applies YAML to /config as admin. */
  applyYaml(yaml: string, query?: string): Promise<LightMyRequestResponse>;
  /** Exports the current config as YAML. */
  exportYaml(): Promise<string>;
  /** Deletes every resource. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the admin API over fresh stores of `backend`, with the real compiler as validator. */
export async function startAdminHarness(backend: Backend, options: Partial<Pick<AdminOptions, 'bodyLimit' | 'maxDocuments' | 'validate' | 'authThrottle' | 'consoleSessions' | 'consoleDir' | 'trustedProxies'>> = {}): Promise<AdminHarness> {
  let database: TestDatabase | undefined;
  let stores: SqlStores;
  if (backend === 'postgres') {
    database = await createTestDatabase();
    stores = await createPostgresStores({ url: database.url, poolMax: 4 });
  } else {
    stores = await createPgliteStores();
  }
  const tokens = {} as Record<AdminRole, string>;
  for (const role of ['admin', 'operator', 'viewer', 'billing'] as const) {
    const token = `tgadm_${role}_${randomBytes(16).toString('hex')}`;
    await stores.tokens.insert({ id: `atk_${role}`, name: role, role, hash: hashToken(token) });
    tokens[role] = token;
  }
  const app = await buildAdmin({
    config: stores.config,
    tokens: stores.tokens,
    apiKeys: stores.apiKeys,
    oauthClients: stores.oauthClients,
    audit: stores.audit,
    validate: options.validate ?? compilerValidator,
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.maxDocuments ? { maxDocuments: options.maxDocuments } : {}),
    ...(options.consoleSessions ? { consoleSessions: options.consoleSessions } : {}),
    // As `start` runs it: console sessions in the database, not in this process's memory.
    sessionStore: new SqlSessionStore(stores.db, 'console'),
    ...(options.consoleDir ? { consoleDir: options.consoleDir } : {}),
    ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
    // Suites make many deliberate failed authentications; the throttle has its own test.
    authThrottle: options.authThrottle ?? { maxFailures: 100_000 },
  });
  const auth = (role: AdminRole = 'admin') => ({ authorization: `Bearer ${tokens[role]}` });
  return {
    app,
    stores,
    ...(database ? { databaseUrl: database.url } : {}),
    tokens,
    auth,
    applyYaml: (yaml, query = '') => app.inject({ method: 'POST', url: `/config${query}`, headers: { ...auth(), 'content-type': 'application/yaml' }, payload: yaml }),
    async exportYaml() {
      const res = await app.inject({ method: 'GET', url: '/config', headers: auth() });
      if (res.statusCode !== 200) throw new Error(`export failed: ${res.statusCode} ${res.body}`);
      return res.body;
    },
    async reset() {
      const res = await app.inject({ method: 'POST', url: '/config?prune=true&pruneBilling=true', headers: auth(), payload: [] });
      if (res.statusCode !== 200) throw new Error(`reset failed: ${res.statusCode} ${res.body}`);
    },
    async close() {
      await app.close();
      await stores.close();
      await database?.drop();
    },
  };
}

/** An Upstream document as YAML. */
export function upstreamYaml(name: string, port = 9001): string {
  return `apiVersion: tollgate.dev/v1
kind: Upstream
metadata:
  name: ${name}
spec:
  targets:
    - url: http://127.0.0.1:${port}
`;
}

/** An Api document as YAML, sending everything under basePath to `upstream`. */
export function apiYaml(name: string, upstream: string, basePath = `/${name}`): string {
  return `apiVersion: tollgate.dev/v1
kind: Api
metadata:
  name: ${name}
spec:
  basePath: ${basePath}
  routes:
    - name: all
      destination:
        upstream: ${upstream}
`;
}

/** Joins documents into one multi-document YAML stream. */
export function stream(...docs: string[]): string {
  return docs.map((d) => `---\n${d}`).join('');
}

/** An Upstream document as a JSON object. */
export function upstreamJson(name: string, port = 9001) {
  return { apiVersion: 'tollgate.dev/v1', kind: 'Upstream', metadata: { name }, spec: { targets: [{ url: `http://127.0.0.1:${port}` }] } };
}

/** An Api document as a JSON object. */
export function apiJson(name: string, upstream: string) {
  return { apiVersion: 'tollgate.dev/v1', kind: 'Api', metadata: { name }, spec: { basePath: `/${name}`, routes: [{ name: 'all', destination: { upstream } }] } };
}
