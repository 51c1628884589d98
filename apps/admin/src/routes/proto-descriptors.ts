import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { documentSchema } from '@tollgate/model';
import type { AdminContext } from '../context.js';
import { registerResourceRoutes } from './resource-routes.js';

/** A `ProtoDescriptor` document as the admin API takes and returns it. */
export const protoDescriptorDocumentSchema = documentSchema('ProtoDescriptor').describe('A ProtoDescriptor: .proto sources or a FileDescriptorSet that gRPC routes transcode with (docs/protocols.md).');

/** A `ProtoDescriptor` document (after defaults). */
export type ProtoDescriptorDocument = z.infer<typeof protoDescriptorDocumentSchema>;

/** `/protodescriptors` and `/protodescriptors/{name}`. */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  registerResourceRoutes(app, 'ProtoDescriptor', protoDescriptorDocumentSchema, ctx);
}
