import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { events, webhookDeliveries, writeEvents, type Database } from '@tollgate/db';
import { documentSchema, outboxEvent, resourceName } from '@tollgate/model';
import type { AdminContext } from '../context.js';
import { ProblemError } from '../problem.js';
import { errorResponses, nameParamsSchema, problemSchema } from '../schemas.js';
import { registerResourceRoutes } from './resource-routes.js';

/** A `Webhook` document as the admin API takes and returns it. */
export const webhookDocumentSchema = documentSchema('Webhook').describe('A Webhook: events delivered to a URL, signed per Standard Webhooks.');

const deliverySchema = z.object({
  id: z.string().describe('The Standard Webhooks `webhook-id` (the same on every attempt).'),
  event: z.object({ id: z.string(), type: z.string(), occurredAt: z.string() }),
  status: z.enum(['pending', 'delivered', 'dead']).describe('`pending`: waiting for its first or next attempt; `dead`: dead-lettered after the retry horizon.'),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable().describe('When it is attempted next (pending only).'),
  lastAttemptAt: z.string().nullable(),
  lastStatus: z.number().int().nullable().describe('HTTP status of the last attempt (null: no response).'),
  lastResponse: z.string().nullable().describe('First KiB of the last response body.'),
  lastError: z.string().nullable().describe('Why the last attempt got no response (connection error, timeout, refused address).'),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
});

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  status: z.enum(['pending', 'delivered', 'dead']).optional(),
  // A positive event sequence number that fits the bigint column and a JS number exactly: anything
  // else is a 400 here, not a NaN or an out-of-range value in the SQL.
  before: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, 'must be the `next` of a previous page (a positive integer)')
    .optional()
    .describe('Cursor: the `next` of the previous page.'),
});

/** `{name}` and `{id}` of a delivery: a webhook name and a Standard Webhooks message id. */
const deliveryParams = z.strictObject({ name: resourceName, id: z.string().regex(/^msg_[0-9A-Za-z]{1,64}$/, 'must be a delivery id (msg_…)') });

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/**
 * `/webhooks` (the resource), `GET /webhooks/{name}/deliveries`, `POST /webhooks/{name}/deliveries/{id}/redeliver`
 * and `POST /webhooks/{name}/test`.
 */
export function register(app: FastifyInstance, ctx: AdminContext, db: Database | undefined): void {
  registerResourceRoutes(app, 'Webhook', webhookDocumentSchema, ctx);
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['webhooks'];
  const needDb = (): Database => {
    if (db === undefined) throw new ProblemError('UNAVAILABLE', 'webhook deliveries need the database (not configured in this process)');
    return db;
  };
  const needWebhook = async (name: string) => {
    if (!(await ctx.config.get('Webhook', name))) throw new ProblemError('NOT_FOUND', `Webhook/${name} does not exist`);
  };

  r.get(
    '/webhooks/:name/deliveries',
    { schema: { tags, summary: 'Deliveries of a webhook, newest first', params: nameParamsSchema, querystring: listQuery, response: { 200: z.object({ items: z.array(deliverySchema), next: z.string().optional() }), 404: problemSchema, ...errorResponses } } },
    async (request) => {
      await needWebhook(request.params.name);
      const d = needDb();
      const { limit, status, before } = request.query;
      const where = [eq(webhookDeliveries.webhook, request.params.name)];
      if (status !== undefined) where.push(eq(webhookDeliveries.status, status));
      if (before !== undefined) where.push(lt(webhookDeliveries.eventSeq, Number(before)));
      const rows = await d
        .select({ delivery: webhookDeliveries, event: { id: events.id, type: events.type, occurredAt: events.occurredAt } })
        .from(webhookDeliveries)
        .innerJoin(events, eq(events.seq, webhookDeliveries.eventSeq))
        .where(and(...where))
        .orderBy(desc(webhookDeliveries.eventSeq))
        .limit(limit + 1);
      const items = rows.slice(0, limit).map(({ delivery: x, event: e }) => ({
        id: x.id,
        event: { id: e.id, type: e.type, occurredAt: e.occurredAt.toISOString() },
        status: x.status as 'pending' | 'delivered' | 'dead',
        attempts: x.attempts,
        nextAttemptAt: x.status === 'pending' ? x.nextAttemptAt.toISOString() : null,
        lastAttemptAt: iso(x.lastAttemptAt),
        lastStatus: x.lastStatus,
        lastResponse: x.lastResponse,
        lastError: x.lastError,
        deliveredAt: iso(x.deliveredAt),
        createdAt: x.createdAt.toISOString(),
      }));
      const last = rows.length > limit ? rows[limit - 1] : undefined;
      return { items, ...(last ? { next: String(last.delivery.eventSeq) } : {}) };
    },
  );

  r.post(
    '/webhooks/:name/deliveries/:id/redeliver',
    {
      schema: {
        tags,
        summary: 'Send a delivery again now (delivered or dead-lettered ones too), with the same webhook-id',
        params: deliveryParams,
        response: { 202: z.object({ id: z.string(), status: z.literal('pending') }), 404: problemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      await needWebhook(request.params.name);
      const d = needDb();
      const rows = await d
        .update(webhookDeliveries)
        .set({ status: 'pending', nextAttemptAt: sql`now()`, lockedUntil: null, createdAt: sql`now()` })
        .where(and(eq(webhookDeliveries.id, request.params.id), eq(webhookDeliveries.webhook, request.params.name)))
        .returning({ id: webhookDeliveries.id });
      if (rows.length === 0) throw new ProblemError('NOT_FOUND', `Webhook/${request.params.name} has no delivery ${request.params.id}`);
      return reply.code(202).send({ id: request.params.id, status: 'pending' as const });
    },
  );

  r.post(
    '/webhooks/:name/test',
    { schema: { tags, summary: 'Queue a `webhook.test` event for this webhook only', params: nameParamsSchema, response: { 202: z.object({ event: z.string() }), 404: problemSchema, ...errorResponses } } },
    async (request, reply) => {
      await needWebhook(request.params.name);
      const d = needDb();
      const event = outboxEvent('webhook.test', { webhook: request.params.name, message: 'Test event sent from the Tollgate admin API' });
      await writeEvents(d, [event]);
      return reply.code(202).send({ event: event.id });
    },
  );
}
