import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { documentSchema } from '@tollgate/model';
import type { AdminContext } from '../context.js';
import { registerResourceRoutes } from './resource-routes.js';

/** A `Subscription` document as the admin API takes and returns it. */
export const subscriptionDocumentSchema = documentSchema('Subscription').describe('A Subscription: a consumer on a plan for one API or all.');

/** A `Subscription` document (after defaults). */
export type SubscriptionDocument = z.infer<typeof subscriptionDocumentSchema>;

/** `/subscriptions` and `/subscriptions/{name}`. */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  registerResourceRoutes(app, 'Subscription', subscriptionDocumentSchema, ctx);
}
