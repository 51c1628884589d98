import type { FastifyInstance } from 'fastify';
import { documentSchema } from '@tollgate/model';
import type { AdminContext } from '../context.js';
import { registerResourceRoutes } from './resource-routes.js';

/** A `Broker` document as the admin API takes and returns it (password, token and TLS key redacted). */
export const brokerDocumentSchema = documentSchema('Broker').describe('A Broker: a NATS, RabbitMQ or MQTT server that messaging routes publish to and subscribe from.');

/** `/brokers` and `/brokers/{name}`. */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  registerResourceRoutes(app, 'Broker', brokerDocumentSchema, ctx);
}
