import { migratePglite, migratePostgres, openPglite, openPostgres, type Database, type PostgresTimeouts } from '@tollgate/db';
import { nextTurn } from '@tollgate/model';
import type { AdminTokenStore, ApiKeyStore, AuditStore, ConfigStore } from './config-store.js';
import { PgChangeNotifier, type BackoffOptions } from './pg-notifier.js';
import { PgliteChangeNotifier } from './pglite-notifier.js';
import { SqlAdminTokenStore } from './sql-admin-token-store.js';
import { SqlApiKeyStore } from './sql-api-key-store.js';
import { SqlAuditStore } from './sql-audit-store.js';
import { SqlConfigStore } from './sql-config-store.js';
import { SqlNodeRegistry, type NodeRegistry } from './node-registry.js';
import type { OAuthClientStore, SigningKeyStore } from './oauth-store.js';
import { SqlOAuthClientStore, SqlSigningKeyStore } from './sql-oauth-store.js';
import { SqlPortalAccountStore, type PortalAccountStore } from './portal-account-store.js';

/** The durable stores of one database, closed together. */
export interface SqlStores {
  config: ConfigStore;
  tokens: AdminTokenStore;
  apiKeys: ApiKeyStore;
  audit: AuditStore;
  /** OAuth clients of consumers (client-credentials grant). */
  oauthClients: OAuthClientStore;
  /** The gateway's token-signing keys. */
  signingKeys: SigningKeyStore;
  /** Gateway node heartbeats. */
  nodes: NodeRegistry;
  /** Developer-portal accounts and their mailed one-time tokens. */
  portal: PortalAccountStore;
  /** The drizzle database behind the stores (usage rollups and billing runs are read and written through it). */
  db: Database;
  /** Stops watchers and closes the database connections. */
  close(): Promise<void>;
}

/** Options of the Postgres stores. */
export interface PostgresStoresOptions {
  url: string;
  /** Pool size (default 10). */
  poolMax?: number;
  /** Reconnect backoff of the LISTEN connection. */
  listenBackoff?: BackoffOptions;
  /** Deadlines and keepalive of every session (pool, LISTEN); default DEFAULT_POSTGRES_TIMEOUTS. */
  timeouts?: PostgresTimeouts;
  /** How often the idle LISTEN session is probed (ms; default 10 s, 0 = never). */
  listenPingMs?: number;
  /** How long the change feed's log of Consumer and Subscription changes is kept (ms; default 24 h). */
  feedRetentionMs?: number;
  /**
   * A data plane in this process loads config from these stores (`start all`): each committed
   * config version is handed to its next load instead of being read back (see SqlConfigStore).
   */
  handOff?: boolean;
}

/** Stores on a real Postgres: migrates first (safe with concurrent starters), then a `pg` pool. */
export async function createPostgresStores(options: PostgresStoresOptions): Promise<SqlStores> {
  await migratePostgres(options.url, options.timeouts);
  const handle = openPostgres(options.url, { ...(options.poolMax === undefined ? {} : { max: options.poolMax }), ...(options.timeouts ? { timeouts: options.timeouts } : {}) });
  const notifier = new PgChangeNotifier(options.url, options.listenBackoff, { ...(options.timeouts ? { timeouts: options.timeouts } : {}), ...(options.listenPingMs !== undefined ? { pingMs: options.listenPingMs } : {}) });
  const config = new SqlConfigStore(handle.db, notifier, () => handle.close(), options.feedRetentionMs, options.handOff);
  return { config, tokens: new SqlAdminTokenStore(handle.db), apiKeys: new SqlApiKeyStore(handle.db), oauthClients: new SqlOAuthClientStore(handle.db), signingKeys: new SqlSigningKeyStore(handle.db), audit: new SqlAuditStore(handle.db), nodes: new SqlNodeRegistry(handle.db), portal: new SqlPortalAccountStore(handle.db), db: handle.db, close: () => config.close() };
}

/** Options of the embedded stores. */
export interface PgliteStoresOptions {
  /** Data directory; undefined keeps everything in memory. */
  dataDir?: string;
  /** How long the change feed's log of Consumer and Subscription changes is kept (ms; default 24 h). */
  feedRetentionMs?: number;
  /**
   * A data plane in this process loads config from these stores (`start all`): each committed
   * config version is handed to its next load instead of being read back (see SqlConfigStore).
   */
  handOff?: boolean;
}

/** Stores on embedded PGlite (single process): the default on one machine. Migrates first. */
export async function createPgliteStores(options: PgliteStoresOptions = {}): Promise<SqlStores> {
  // Each statement in its own fair turn: PGlite shares the event loop with serving (#16).
  const handle = await openPglite(options.dataDir, nextTurn);
  try {
    await migratePglite(handle.db);
  } catch (err) {
    await handle.close();
    throw err;
  }
  const config = new SqlConfigStore(handle.db, new PgliteChangeNotifier(handle.client), () => handle.close(), options.feedRetentionMs, options.handOff);
  return { config, tokens: new SqlAdminTokenStore(handle.db), apiKeys: new SqlApiKeyStore(handle.db), oauthClients: new SqlOAuthClientStore(handle.db), signingKeys: new SqlSigningKeyStore(handle.db), audit: new SqlAuditStore(handle.db), nodes: new SqlNodeRegistry(handle.db), portal: new SqlPortalAccountStore(handle.db), db: handle.db, close: () => config.close() };
}
