import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { KIND_PLURALS, type Resource, type ResourceKind } from '@tollgate/model';
import { ApplyRejectedError, type ResourceChange } from '@tollgate/stores';
import { auditContext, auditWritten } from '../audit.js';
import type { AdminContext } from '../context.js';
import { locateIssues, readOneResource, summarize, toDocument } from '../documents.js';
import { ProblemError } from '../problem.js';
import { errorResponses, listQuerySchema, nameParamsSchema, problemSchema } from '../schemas.js';

/** RFC 8288 `Link` to the next page; a relative reference, resolved against the request URI. */
function nextLink(plural: string, limit: number, next: string, q: string | undefined): string {
  const search = q === undefined ? '' : `&q=${encodeURIComponent(q)}`;
  return `</${plural}?limit=${limit}${search}&after=${encodeURIComponent(next)}>; rel="next"`;
}

/**
 * Registers list, get, create, replace and delete for one kind under `/{plural}`. Bodies are
 * validated by the model (not by the route schema) so that errors name document, field and line
 * exactly as `POST /config` does; the route's body schema documents the shape in OpenAPI.
 */
export function registerResourceRoutes(app: FastifyInstance, kind: ResourceKind, schema: z.ZodType, ctx: AdminContext): void {
  const plural = KIND_PLURALS[kind];
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = [plural];
  const pageSchema = z.object({ items: z.array(schema), next: z.string().optional().describe('Cursor of the next page (absent on the last page).') });

  r.get(`/${plural}`, { schema: { tags, summary: `List ${kind} resources`, querystring: listQuerySchema, response: { 200: pageSchema, ...errorResponses } } }, async (request, reply) => {
    const { limit, after, q } = request.query;
    const page = await ctx.config.list(kind, { limit, ...(after !== undefined ? { after } : {}), ...(q !== undefined ? { search: q } : {}) });
    if (page.next !== undefined) reply.header('link', nextLink(plural, limit, page.next, q));
    return { items: page.items.map((s) => toDocument(s.resource)), ...(page.next !== undefined ? { next: page.next } : {}) };
  });

  r.get(`/${plural}/:name`, { schema: { tags, summary: `Get one ${kind}`, params: nameParamsSchema, response: { 200: schema, 404: problemSchema, ...errorResponses } } }, async (request) => {
    const stored = await ctx.config.get(kind, request.params.name);
    if (!stored) throw new ProblemError('NOT_FOUND', `${kind}/${request.params.name} does not exist`);
    return toDocument(stored.resource);
  });

  r.post(
    `/${plural}`,
    { schema: { tags, summary: `Create a ${kind} (409 if it exists)`, body: schema, response: { 201: schema, 409: problemSchema, 415: problemSchema, 422: problemSchema, ...errorResponses } } },
    async (request, reply) => {
      const submitted = await readOneResource(request.body, ctx.config, kind);
      checkKind(submitted.resource, kind);
      await applyOne(ctx, request, submitted, true);
      const name = submitted.resource.metadata.name;
      return reply.code(201).header('location', `/${plural}/${encodeURIComponent(name)}`).send(toDocument(submitted.resource));
    },
  );

  r.put(
    `/${plural}/:name`,
    {
      schema: {
        tags,
        summary: `Create or replace a ${kind}`,
        params: nameParamsSchema,
        body: schema,
        response: { 200: schema, 201: schema, 415: problemSchema, 422: problemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const submitted = await readOneResource(request.body, ctx.config, kind);
      checkKind(submitted.resource, kind);
      if (submitted.resource.metadata.name !== request.params.name) {
        const line = submitted.document.lineOf?.(['metadata', 'name']);
        throw new ProblemError('INVALID_CONFIG', `metadata.name "${submitted.resource.metadata.name}" differs from the name in the path "${request.params.name}"`, {
          errors: [{ document: 0, path: 'metadata.name', code: 'name_mismatch', message: `must equal the name in the path ("${request.params.name}")`, ...(line !== undefined ? { line } : {}) }],
        });
      }
      const change = await applyOne(ctx, request, submitted, false);
      if (change?.action === 'create') reply.code(201).header('location', `/${plural}/${encodeURIComponent(request.params.name)}`);
      return reply.send(toDocument(submitted.resource));
    },
  );

  r.delete(
    `/${plural}/:name`,
    { schema: { tags, summary: `Delete a ${kind} (409 while other resources reference it)`, params: nameParamsSchema, response: { 204: z.null().describe('Deleted.'), 404: problemSchema, 409: problemSchema, ...errorResponses } } },
    async (request, reply) => {
      try {
        const audit = auditContext(request);
        await ctx.config.delete(kind, request.params.name, { validate: ctx.validate, ...(audit ? { audit } : {}) });
        auditWritten(request);
      } catch (error) {
        if (error instanceof ApplyRejectedError) {
          const dangling = error.issues.some((i) => i.code === 'dangling_reference');
          const lead = `${kind}/${request.params.name} cannot be deleted`;
          throw new ProblemError(dangling ? 'REFERENCED' : 'INVALID_CONFIG', summarize(dangling ? `${lead} while other resources reference it` : lead, error.issues), { errors: error.issues });
        }
        throw error;
      }
      return reply.code(204).send(null);
    },
  );
}

function checkKind(resource: Resource, kind: ResourceKind): void {
  if (resource.kind !== kind) {
    throw new ProblemError('INVALID_CONFIG', `this endpoint takes ${kind} documents, not ${resource.kind}`, {
      errors: [{ document: 0, resource: `${resource.kind}/${resource.metadata.name}`, path: 'kind', code: 'wrong_kind', message: `must be "${kind}"` }],
    });
  }
}

/** Applies one resource (all-or-nothing, validated as a whole set) and returns what happened to it. */
async function applyOne(ctx: AdminContext, request: FastifyRequest, submitted: Awaited<ReturnType<typeof readOneResource>>, createOnly: boolean): Promise<ResourceChange | undefined> {
  const set = { resources: [submitted.resource], documents: [submitted.document] };
  const audit = auditContext(request, { kind: submitted.resource.kind, name: submitted.resource.metadata.name });
  try {
    const result = await ctx.config.apply(set.resources, { validate: locateIssues(ctx.validate, set), createOnly, ...(audit ? { audit } : {}) });
    auditWritten(request);
    return result.changes[0];
  } catch (error) {
    if (error instanceof ApplyRejectedError) throw new ProblemError('INVALID_CONFIG', summarize('the resulting configuration is invalid', error.issues), { errors: error.issues });
    throw error;
  }
}
