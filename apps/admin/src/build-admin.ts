import { awaitLocalDataPlane, type LocalDataPlane } from './local-data-plane.js';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifySchemaCompiler } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '@tollgate/db';
import { MAX_DOCUMENTS } from '@tollgate/model';
import type { LimitCounters } from '@tollgate/policies';
import { MemorySessionStore, SqlSessionStore, type AdminTokenStore, type ApiKeyStore, type AuditStore, type OAuthClientStore, type ConfigStore, type NodeRegistry, type SessionStore, type SetValidator } from '@tollgate/stores';
import { registerAuditHook } from './audit.js';
import { registerAuth, requirePermissionEntries } from './auth.js';
import { AuthThrottle, type AuthThrottleOptions } from './auth-throttle.js';
import { bodyText } from './body-text.js';
import { YAML_MEDIA_TYPES, YamlText } from './documents.js';
import { frameworkErrors, registerErrorHandlers } from './error-handlers.js';
import { sendProblem } from './problem.js';
import { refuseNulInTarget } from './request-target.js';
import { registerJsonBodyParser } from './json-body.js';
import { redactingLogger } from './log-redaction.js';
import { registerOpenApi, registerOpenApiRoute } from './openapi.js';
import { registerConsoleAssets } from './console/static.js';
import * as consoleSession from './console/session-routes.js';
import { ConsoleSessions, type ConsoleSessionOptions } from './console/session-store.js';
import * as adminTokens from './routes/admin-tokens.js';
import * as apiKeys from './routes/api-keys.js';
import * as apiKeysBulk from './routes/api-keys-bulk.js';
import * as oauthClients from './routes/oauth-clients.js';
import * as apis from './routes/apis.js';
import * as apisImport from './routes/apis-import.js';
import * as apiLifecycle from './routes/api-lifecycle.js';
import * as auditLog from './routes/audit-log.js';
import * as billingReports from './routes/billing-reports.js';
import * as usageQuery from './routes/usage-query.js';
import * as analytics from './routes/analytics.js';
import * as cache from './routes/cache.js';
import * as certificates from './routes/certificates.js';
import * as config from './routes/config.js';
import * as plans from './routes/plans.js';
import * as portalAccounts from './routes/portal-accounts.js';
import type { PortalAccounts } from './portal/portal-accounts.js';
import * as protoDescriptors from './routes/proto-descriptors.js';
import * as subscriptions from './routes/subscriptions.js';
import * as usage from './routes/usage.js';
import * as consumers from './routes/consumers.js';
import * as health from './routes/health.js';
import * as nodes from './routes/nodes.js';
import * as upstreamHealth from './routes/upstream-health.js';
import * as upstreams from './routes/upstreams.js';
import * as brokers from './routes/brokers.js';
import * as webhooks from './routes/webhooks.js';

/** Default largest accepted request body: room for thousands of resources in one apply. */
export const DEFAULT_BODY_LIMIT = 5 * 1024 * 1024;

/** Dependencies and options of the admin API. */
export interface AdminOptions {
  config: ConfigStore;
  tokens: AdminTokenStore;
  apiKeys: ApiKeyStore;
  /** OAuth clients (client-credentials grant); without it the `/consumers/{name}/oauth-clients` routes are absent. */
  oauthClients?: OAuthClientStore;
  audit: AuditStore;
  /** Slowing down of repeated failed authentications per client address (in this process). */
  authThrottle?: AuthThrottleOptions;
  /** Checks a complete resulting resource set; see `compilerValidator`. */
  validate: SetValidator;
  /** Logger (pino); without one the server logs nothing. */
  logger?: FastifyBaseLogger;
  /** Largest request body in bytes (default 5 MiB); larger bodies get 413 while being read. */
  bodyLimit?: number;
  /** Most documents in one apply (default MAX_DOCUMENTS, 10,000); more get 413 while being parsed. */
  maxDocuments?: number;
  /** The counter store the gateways share, for `GET /consumers/{name}/usage`. */
  counters?: LimitCounters;
  /** Purges the gateways' response caches, for `DELETE /cache…` (503 without it). */
  cache?: cache.CachePurger;
  /** The database of usage rollups and billing runs, for `GET /reports/billing` (503 without it). */
  db?: Database;
  /** Gateway node heartbeats, for `GET /nodes`, and the gateways' heartbeat interval (ms). */
  nodes?: { registry: NodeRegistry; heartbeatMs: number };
  /** Console session lifetimes; `now` is injectable for expiry tests. */
  consoleSessions?: ConsoleSessionOptions & { now?: () => number };
  /**
   * Where console sessions are kept: by default `browser_sessions` in `db` (shared by every admin
   * process on it, kept across restarts), in this process's memory only when there is no `db`.
   */
  sessionStore?: SessionStore;
  /** Directory of the built console (default apps/console/dist). */
  consoleDir?: string;
  /**
   * Addresses/CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed (client address
   * for the throttle and audit log; `Secure` on the console cookie behind a TLS-terminating proxy).
   */
  trustedProxies?: readonly string[];
  /** The developer portal's accounts, for the approval queue under `/portal/…` (503 without it). */
  portal?: PortalAccounts;
  /** The data plane of this process (`start all`): changes are answered once it serves them (local-data-plane.ts). */
  localDataPlane?: LocalDataPlane;
}

/** Incoming request ids are kept when they are short and harmless in logs; others are replaced. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Route schemas validate path and query with zod. Bodies are documented by their schema but
 * validated in the handler by @tollgate/model, whose issues carry document index and YAML line.
 */
const partValidator: FastifySchemaCompiler<unknown> = (route) => {
  if (route.httpPart === 'body') return (data: unknown) => ({ value: data });
  return validatorCompiler(route as Parameters<typeof validatorCompiler>[0]);
};

/**
 * Documented operations that declare no query parameters refuse any (400 INVALID_REQUEST), as
 * those that declare some do (their schemas are strict objects): `GET /admin-tokens?role=viewer`
 * would otherwise answer every token, as if the filter had been applied. Added before the routes
 * are registered; routes without a schema (static files, swagger-ui assets) are left alone.
 */
function strictQueryByDefault(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.schema === undefined || route.schema.hide === true || route.schema.querystring !== undefined) return;
    route.schema = { ...route.schema, querystring: z.strictObject({}) };
  });
}

/** Builds the admin REST API (not listening: call `listen`, or test with `inject`). */
export async function buildAdmin(options: AdminOptions): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const maxDocuments = options.maxDocuments ?? MAX_DOCUMENTS;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: redactingLogger(options.logger) } : { logger: false }),
    bodyLimit,
    requestTimeout: 120_000,
    ...(options.trustedProxies && options.trustedProxies.length > 0 ? { trustProxy: [...options.trustedProxies] } : {}),
    // Fastify's own answer while closing is a non-problem JSON 503: refused in onRequest instead.
    return503OnClosing: false,
    // Requests refused before routing (a malformed percent-encoding in the path) are problems too.
    frameworkErrors,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
  }) as unknown as FastifyInstance;

  app.setValidatorCompiler(partValidator);
  strictQueryByDefault(app);
  // Responses are built from already validated model objects, so they are written as they are;
  // the response schemas document them in OpenAPI.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Only JSON and YAML bodies are meaningful here; anything else is 415, not parsed as text.
  app.removeContentTypeParser('text/plain');
  registerJsonBodyParser(app, bodyLimit);
  app.addContentTypeParser([...YAML_MEDIA_TYPES], { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    try {
      done(null, new YamlText(bodyText(request, body as Buffer)));
    } catch (err) {
      done(err as Error);
    }
  });
  // Graceful close: responses ask clients to close the connection (RFC 9112 §9.6), so kept-alive
  // clients reconnect elsewhere; requests still arriving on such a connection are refused.
  let closing = false;
  if (options.localDataPlane !== undefined) awaitLocalDataPlane(app, options.config, options.localDataPlane, app.log);
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) {
      reply.header('connection', 'close');
      return sendProblem(request, reply, 'SHUTTING_DOWN', 'this admin process is shutting down; retry the request', { headers: { 'retry-after': '0' } });
    }
  });
  registerErrorHandlers(app);
  requirePermissionEntries(app);
  const throttle = new AuthThrottle(options.authThrottle);
  const sessionStore = options.sessionStore ?? (options.db !== undefined ? new SqlSessionStore(options.db, 'console') : new MemorySessionStore());
  const sessions = new ConsoleSessions(options.consoleSessions, options.consoleSessions?.now, sessionStore, (err) => app.log.warn({ err }, 'deleting expired console sessions failed; retrying at the next sweep'));
  app.addHook('onClose', () => sessions.close());
  registerAuth(app, options.tokens, throttle, sessions);
  refuseNulInTarget(app);
  registerAuditHook(app, options.audit, maxDocuments);
  await registerOpenApi(app);

  const ctx = { config: options.config, validate: options.validate, apiKeys: options.apiKeys, tokens: options.tokens, audit: options.audit, maxDocuments };
  health.register(app);
  consoleSession.register(app, { tokens: options.tokens, audit: options.audit, sessions, throttle });
  await registerConsoleAssets(app, options.consoleDir);
  registerOpenApiRoute(app);
  config.register(app, ctx);
  upstreams.register(app, ctx);
  consumers.register(app, ctx);
  certificates.register(app, ctx);
  apiKeys.register(app, ctx);
  apiKeysBulk.register(app, ctx);
  if (options.oauthClients !== undefined) oauthClients.register(app, ctx, options.oauthClients);
  apis.register(app, ctx);
  apisImport.register(app, ctx);
  apiLifecycle.register(app, ctx);
  plans.register(app, ctx);
  portalAccounts.register(app, ctx, options.portal, options.oauthClients);
  protoDescriptors.register(app, ctx);
  brokers.register(app, ctx);
  subscriptions.register(app, ctx);
  usage.register(app, ctx, options.counters);
  adminTokens.register(app, ctx);
  auditLog.register(app, ctx);
  cache.register(app, options.cache);
  billingReports.register(app, ctx, options.db);
  webhooks.register(app, ctx, options.db);
  usageQuery.register(app, options.db);
  analytics.register(app, options.db);
  if (options.nodes !== undefined) {
    nodes.register(app, options.nodes.registry, options.nodes.heartbeatMs, () => options.config.version());
    upstreamHealth.register(app, options.nodes.registry, options.nodes.heartbeatMs);
  }
  await app.ready();
  return app;
}
