import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Database } from '@tollgate/db';
import type { LimitCounters } from '@tollgate/policies';
import { MemorySessionStore, SqlSessionStore, type ApiKeyStore, type AuditStore, type ConfigStore, type OAuthClientStore, type SessionStore, type SetValidator } from '@tollgate/stores';
import { AuthThrottle } from '../auth-throttle.js';
import { ConsoleSessions, type ConsoleSessionOptions } from '../console/session-store.js';
import { frameworkErrors, registerErrorHandlers } from '../error-handlers.js';
import { registerJsonBodyParser } from '../json-body.js';
import { redactingLogger } from '../log-redaction.js';
import { refuseNulInTarget } from '../request-target.js';
import { registerAuthRoutes } from './auth-routes.js';
import { registerCatalogueRoutes } from './catalogue-routes.js';
import { registerCredentialRoutes } from './credential-routes.js';
import type { PortalAccounts } from './portal-accounts.js';
import { registerSelfServiceRoutes } from './self-service-routes.js';
import { registerPortalAssets } from './static.js';

export interface PortalOptions {
  accounts: PortalAccounts;
  config: ConfigStore;
  validate: SetValidator;
  apiKeys: ApiKeyStore;
  /** The developer's OAuth clients are served only with it. */
  oauthClients?: OAuthClientStore;
  audit: AuditStore;
  counters?: LimitCounters;
  db?: Database;
  logger?: FastifyBaseLogger;
  sessions?: ConsoleSessionOptions & { now?: () => number };
  /** Where developer sessions are kept: by default `browser_sessions` in `db` (realm `portal`), in memory only without `db`. */
  sessionStore?: SessionStore;
  /** Failed sign-ins per address per minute (default 10), and sign-ups/reset requests per address per 10 minutes (default 10). */
  throttle?: { signInFailures?: number; signUps?: number };
  /** Directory of the built portal (default apps/portal/dist). */
  dir?: string;
  trustedProxies?: readonly string[];
}

/**
 * The developer portal: its own Fastify instance for its own listener (PORTAL_PORT), so it can
 * face the internet while the admin API stays private. It serves the built app and `/api/…`
 * only: none of the admin API's routes exist here.
 */
export async function buildPortal(options: PortalOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: redactingLogger(options.logger) } : { logger: false }),
    bodyLimit: 64 * 1024,
    requestTimeout: 30_000,
    ...(options.trustedProxies && options.trustedProxies.length > 0 ? { trustProxy: [...options.trustedProxies] } : {}),
    frameworkErrors,
    genReqId: () => randomUUID(),
  }) as unknown as FastifyInstance;
  app.removeContentTypeParser('text/plain');
  registerJsonBodyParser(app, 64 * 1024);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  registerErrorHandlers(app, 'portal');
  refuseNulInTarget(app);
  const sessionStore = options.sessionStore ?? (options.db !== undefined ? new SqlSessionStore(options.db, 'portal') : new MemorySessionStore());
  const sessions = new ConsoleSessions(options.sessions, options.sessions?.now, sessionStore, (err) => app.log.warn({ err }, 'deleting expired portal sessions failed; retrying at the next sweep'));
  app.addHook('onClose', () => sessions.close());
  const signInThrottle = new AuthThrottle({ maxFailures: options.throttle?.signInFailures ?? 10, windowMs: 60_000 });
  const signUpThrottle = new AuthThrottle({ maxFailures: options.throttle?.signUps ?? 10, windowMs: 10 * 60_000 });
  const deps = { accounts: options.accounts, sessions, config: options.config, validate: options.validate, apiKeys: options.apiKeys, audit: options.audit, ...(options.counters ? { counters: options.counters } : {}), ...(options.db ? { db: options.db } : {}) };
  app.get('/healthz', async () => ({ status: 'ok' }));
  registerAuthRoutes(app, { accounts: options.accounts, sessions, audit: options.audit, signInThrottle, signUpThrottle });
  registerSelfServiceRoutes(app, deps);
  registerCredentialRoutes(app, { ...deps, ...(options.oauthClients ? { oauthClients: options.oauthClients } : {}) });
  registerCatalogueRoutes(app, deps);
  await registerPortalAssets(app, options.accounts.settings, options.dir);
  await app.ready();
  return app;
}
