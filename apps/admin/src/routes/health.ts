import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** Liveness response. */
export const healthSchema = z.object({ status: z.literal('ok') });

/** `GET /healthz`: public liveness probe; answers without touching the database. */
export function register(app: FastifyInstance): void {
  app.withTypeProvider<ZodTypeProvider>().get('/healthz', { schema: { tags: ['health'], summary: 'Liveness probe', security: [], response: { 200: healthSchema } } }, async () => ({ status: 'ok' as const }));
}
