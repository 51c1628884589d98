import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { resourceName, type ApiResource } from '@tollgate/model';
import type { ConfigStore } from '@tollgate/stores';
import type { ConsoleSessions } from '../console/session-store.js';
import { ProblemError } from '../problem.js';
import { parsePart } from './parse.js';
import type { PortalAccounts } from './portal-accounts.js';
import { currentSession } from './portal-session.js';

// Any Api name (dots and up to 253 characters included): a narrower pattern refused real names as 400.
const Name = z.strictObject({ name: resourceName });

/**
 * Whether a developer sees an Api: published and deprecated ones are public (a catalogue is
 * browsed before signing up); a draft only by its preview consumers; a retired one by nobody.
 */
function visible(api: ApiResource, consumer: string | undefined): boolean {
  const state = api.spec.lifecycle?.state ?? 'published';
  if (state === 'published' || state === 'deprecated') return true;
  return state === 'draft' && consumer !== undefined && (api.spec.lifecycle?.previewConsumers ?? []).includes(consumer);
}

function entry(api: ApiResource) {
  const lifecycle = api.spec.lifecycle;
  return {
    name: api.metadata.name,
    product: api.spec.product ?? api.metadata.name,
    version: api.spec.version,
    description: api.spec.description,
    basePath: api.spec.basePath,
    state: lifecycle?.state ?? 'published',
    sunsetAt: lifecycle?.sunsetAt ?? null,
    successor: lifecycle?.successor ?? null,
    hasReference: api.spec.openapi !== undefined,
    routes: api.spec.routes.length,
  };
}

/** `GET /api/catalogue` and `GET /api/catalogue/{name}/openapi.json`. */
export function registerCatalogueRoutes(app: FastifyInstance, deps: { accounts: PortalAccounts; sessions: ConsoleSessions; config: ConfigStore }): void {
  const viewer = async (request: FastifyRequest) => (await currentSession(request, deps.sessions, deps.accounts.store))?.account.consumer;
  const apis = async () => (await deps.config.load()).resources.filter((r): r is ApiResource => r.kind === 'Api');

  app.get('/api/catalogue', async (request, reply) => {
    const consumer = await viewer(request);
    const items = (await apis()).filter((a) => visible(a, consumer)).map(entry);
    items.sort((a, b) => a.product.localeCompare(b.product) || a.version.localeCompare(b.version, undefined, { numeric: true }));
    return reply.header('cache-control', 'private, no-cache').send({ items });
  });

  /**
   * The OpenAPI document the Api publishes through the gateway, with `servers` pointing at the
   * gateway's public address and the API's basePath, so "try it" calls the real gateway.
   */
  app.get('/api/catalogue/:name/openapi.json', async (request, reply) => {
    const { name } = parsePart(Name, request.params, 'params');
    const consumer = await viewer(request);
    const api = (await apis()).find((a) => a.metadata.name === name && visible(a, consumer));
    if (!api) throw new ProblemError('NOT_FOUND', `no API ${name} in the catalogue`);
    if (!api.spec.openapi) throw new ProblemError('NOT_FOUND', `API ${name} publishes no OpenAPI document`);
    const base = deps.accounts.settings.gatewayUrl.replace(/\/$/, '') + (api.spec.basePath === '/' ? '' : api.spec.basePath);
    return reply.header('cache-control', 'private, no-cache').send({ ...api.spec.openapi.document, servers: [{ url: base, description: 'Tollgate gateway' }] });
  });
}
