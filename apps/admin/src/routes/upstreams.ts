import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { documentSchema } from '@tollgate/model';
import type { AdminContext } from '../context.js';
import { registerResourceRoutes } from './resource-routes.js';

/** An `Upstream` document as the admin API takes and returns it. */
export const upstreamDocumentSchema = documentSchema('Upstream').describe('An Upstream: a named group of backend targets.');

/** An `Upstream` document (after defaults). */
export type UpstreamDocument = z.infer<typeof upstreamDocumentSchema>;

/** `/upstreams` and `/upstreams/{name}`. */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  registerResourceRoutes(app, 'Upstream', upstreamDocumentSchema, ctx);
}
