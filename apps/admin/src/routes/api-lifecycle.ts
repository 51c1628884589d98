import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { effectiveLifecycleState, formatPath, LIFECYCLE_STATES, lifecycleSchema, resourceName, transitionAllowed, transitionRefusal, type ApiResource, type Lifecycle } from '@tollgate/model';
import { ApplyRejectedError } from '@tollgate/stores';
import { auditContext, auditWritten } from '../audit.js';
import type { AdminContext } from '../context.js';
import { summarize } from '../documents.js';
import { ProblemError } from '../problem.js';
import { readBody } from './body.js';
import { errorResponses, nameParamsSchema, problemSchema } from '../schemas.js';

const rfc3339 = z.iso.datetime({ offset: true });

/** Body of `POST /apis/{name}/lifecycle`: the target state and the lifecycle fields to change (`null` clears one). */
export const lifecycleRequestSchema = z
  .strictObject({
    state: z.enum(LIFECYCLE_STATES).describe('Target state.'),
    deprecatedAt: rfc3339.nullable().optional().describe('Deprecation time (default: now, when becoming deprecated without one).'),
    sunsetAt: rfc3339.nullable().optional().describe('Sunset time (RFC 8594).'),
    successor: resourceName.nullable().optional().describe('Name of the Api replacing this one.'),
    link: z.string().nullable().optional().describe('URL of the deprecation documentation.'),
    autoRetire: z.boolean().optional().describe('Answer 410 from sunsetAt on without another transition.'),
    previewConsumers: z.array(resourceName).optional().describe('Consumers that may call a draft.'),
  })
  .describe('A lifecycle transition; fields not given keep their stored value.');

const lifecycleResponseSchema = z
  .object({
    api: z.string(),
    from: z.enum(LIFECYCLE_STATES).describe('State before (as in effect: a deprecated Api past an autoRetire sunset counts as retired).'),
    to: z.enum(LIFECYCLE_STATES),
    version: z.number().int().describe('Config version after the change.'),
    lifecycle: z.record(z.string(), z.unknown()).describe('The stored lifecycle block, with transitionedAt and history.'),
  })
  .describe('The transition committed.');

const FIELDS = ['deprecatedAt', 'sunsetAt', 'successor', 'link', 'autoRetire', 'previewConsumers'] as const;

/**
 * `POST /apis/{name}/lifecycle`: moves an Api along its lifecycle (draft -> published ->
 * deprecated -> retired, draft -> retired, deprecated -> published). An illegal transition is
 * 409 INVALID_TRANSITION; the change is one apply of the Api (validated by the compiler, so a
 * dangling successor is 422), timestamped by the store and written to the audit log with the
 * before and after documents in the same transaction.
 */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/apis/:name/lifecycle',
    {
      schema: {
        tags: ['apis'],
        summary: 'Change the lifecycle state of an Api (draft, published, deprecated, retired)',
        params: nameParamsSchema,
        body: lifecycleRequestSchema,
        response: { 200: lifecycleResponseSchema, 404: problemSchema, 409: problemSchema, 422: problemSchema, ...errorResponses },
      },
    },
    async (request) => {
      // A request that does not fit is 400 INVALID_REQUEST at `body.<field>`, as every small JSON body.
      const body = readBody(lifecycleRequestSchema, request.body);
      const name = request.params.name;
      const stored = await ctx.config.get('Api', name);
      if (!stored) throw new ProblemError('NOT_FOUND', `Api/${name} does not exist`);
      const api = stored.resource as ApiResource;
      const current = api.spec.lifecycle;
      const declared = current?.state ?? 'published';
      const effective = effectiveLifecycleState(current, Date.now());
      if (!transitionAllowed(effective, body.state) || (effective === 'retired' && body.state !== 'retired')) {
        throw new ProblemError('INVALID_TRANSITION', transitionRefusal(name, declared, body.state, effective));
      }
      const next: Record<string, unknown> = { ...(current ?? {}), state: body.state };
      // Deprecated again after an undeprecation: the old date is stale; the store stamps the transition time.
      if (body.state === 'deprecated' && declared !== 'deprecated') delete next.deprecatedAt;
      for (const f of FIELDS) {
        const v = body[f];
        if (v === null) delete next[f];
        else if (v !== undefined) next[f] = v;
      }
      const lifecycle = lifecycleSchema.safeParse(next);
      if (!lifecycle.success) {
        const errors = lifecycle.error.issues.map((i) => ({ resource: `Api/${name}`, path: formatPath(['spec', 'lifecycle', ...(i.path as PropertyKey[])]), code: i.code, message: i.message }));
        throw new ProblemError('INVALID_CONFIG', summarize('the resulting lifecycle is invalid', errors), { errors });
      }
      const updated: ApiResource = { ...api, spec: { ...api.spec, lifecycle: lifecycle.data } };
      const audit = auditContext(request);
      try {
        const result = await ctx.config.apply([updated], { validate: ctx.validate, ...(audit ? { audit } : {}) });
        auditWritten(request);
        const after = (result.changes[0]?.after ?? updated) as ApiResource;
        return { api: name, from: effective, to: body.state, version: result.version, lifecycle: (after.spec.lifecycle ?? {}) as Lifecycle as unknown as Record<string, unknown> };
      } catch (error) {
        if (error instanceof ApplyRejectedError) {
          // Another writer changed the state in between: the store's check under the lock refused it.
          const transition = error.issues.find((i) => i.code === 'invalid_transition');
          if (transition) throw new ProblemError('INVALID_TRANSITION', transition.message);
          throw new ProblemError('INVALID_CONFIG', summarize('the resulting configuration is invalid', error.issues), { errors: error.issues });
        }
        throw error;
      }
    },
  );
}
