import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { documentSchema } from '@tollgate/model';
import type { AdminContext } from '../context.js';
import { registerResourceRoutes } from './resource-routes.js';

/** A `Plan` document as the admin API takes and returns it. */
export const planDocumentSchema = documentSchema('Plan').describe('A Plan: rate limits and a monthly quota granted by subscriptions.');

/** A `Plan` document (after defaults). */
export type PlanDocument = z.infer<typeof planDocumentSchema>;

/** `/plans` and `/plans/{name}`. */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  registerResourceRoutes(app, 'Plan', planDocumentSchema, ctx);
}
