import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/**
 * Registers @fastify/swagger (the OpenAPI 3 document is generated from the routes' zod schemas)
 * and swagger-ui under `/docs`. Must be registered before the routes it describes.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tollgate admin API',
        version: '1',
        description:
          'Configuration of the Tollgate gateway. Every error is an RFC 9457 application/problem+json document with a stable `code`. ' +
          'Authenticate with `Authorization: Bearer <admin token>`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An admin token.' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'config', description: 'Declarative apply and export of the whole configuration.' },
        { name: 'apis', description: 'Api resources.' },
        { name: 'upstreams', description: 'Upstream resources.' },
        { name: 'consumers', description: 'Consumer resources and their API keys.' },
        { name: 'admin-tokens', description: 'Tokens of the admin API and their roles (role admin).' },
        { name: 'audit', description: 'The audit log (role admin).' },
        { name: 'usage', description: 'Metered usage and request analytics from the Postgres rollups (docs/metering.md).' },
        { name: 'billing', description: 'Monthly billing reports: CSV, JSON, HTML and PDF invoices (roles billing and admin; docs/billing.md).' },
        { name: 'cache', description: 'Purging the response caches of every gateway (docs/caching.md).' },
        { name: 'nodes', description: 'Gateway nodes and whether they serve the current configuration (from their heartbeats).' },
        { name: 'console', description: 'Sessions of the web console at /console/ (docs/console.md): a cookie instead of the bearer token, with a CSRF token on every change.' },
        { name: 'portal', description: 'The developer portal\'s accounts: approval queue, approve, reject, invitations (docs/portal.md).' },
        { name: 'health', description: 'Probes.' },
      ],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
}

/** `GET /openapi.json`: the generated document, public so that tools can discover the API. */
export function registerOpenApiRoute(app: FastifyInstance): void {
  app.get('/openapi.json', { schema: { tags: ['health'], summary: 'This OpenAPI document', security: [] } }, async () => app.swagger());
}
