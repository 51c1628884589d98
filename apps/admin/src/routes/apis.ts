import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { documentSchema } from '@tollgate/model';
import type { AdminContext } from '../context.js';
import { registerResourceRoutes } from './resource-routes.js';

/** An `Api` document as the admin API takes and returns it. */
export const apiDocumentSchema = documentSchema('Api').describe('An Api: hosts, base path and routes to upstreams.');

/** An `Api` document (after defaults). */
export type ApiDocument = z.infer<typeof apiDocumentSchema>;

/** `/apis` and `/apis/{name}`. */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  registerResourceRoutes(app, 'Api', apiDocumentSchema, ctx);
}
