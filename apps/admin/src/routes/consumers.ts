import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { documentSchema } from '@tollgate/model';
import type { AdminContext } from '../context.js';
import { registerResourceRoutes } from './resource-routes.js';

/** A `Consumer` document as the admin API takes and returns it (declared keys only as digests). */
export const consumerDocumentSchema = documentSchema('Consumer').describe('A Consumer: who calls APIs (groups, JWT subjects, declared keys).');

/** A `Consumer` document (after defaults). */
export type ConsumerDocument = z.infer<typeof consumerDocumentSchema>;

/** `/consumers` and `/consumers/{name}`. */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  registerResourceRoutes(app, 'Consumer', consumerDocumentSchema, ctx);
}
