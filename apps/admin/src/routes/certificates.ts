import type { FastifyInstance } from 'fastify';
import { documentSchema, REDACTED_SECRET } from '@tollgate/model';
import type { AdminContext } from '../context.js';
import { registerResourceRoutes } from './resource-routes.js';

/** A `Certificate` document as the admin API takes it; responses show `privateKey` redacted. */
export const certificateDocumentSchema = documentSchema('Certificate').describe(
  `A Certificate: a TLS server certificate chosen by SNI. Responses never include the private key: they show "${REDACTED_SECRET}", which may be applied back to keep the stored key.`,
);

/** `/certificates` and `/certificates/{name}`. */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  registerResourceRoutes(app, 'Certificate', certificateDocumentSchema, ctx);
}
