import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { resourceName, type PlanResource, type SubscriptionResource } from '@tollgate/model';
import { createLimiter, type LimitCounters } from '@tollgate/policies';
import type { ConfigStore } from '@tollgate/stores';
import type { AdminContext } from '../context.js';
import { ProblemError } from '../problem.js';
import { errorResponses, problemSchema } from '../schemas.js';

const windowUsage = z.object({ window: z.string(), limit: z.number(), used: z.number(), remaining: z.number(), resetSeconds: z.number() });
const quotaUsage = z.object({ period: z.string(), timeZone: z.string(), overage: z.enum(['hard', 'allow']), limit: z.number(), used: z.number(), remaining: z.number(), resetSeconds: z.number() });

/** `GET /consumers/{name}/usage` response. */
export const usageSchema = z.object({
  consumer: z.string(),
  subscriptions: z.array(
    z.object({
      name: z.string(),
      api: z.string().nullable().describe('The API, or null for every API.'),
      plan: z.string(),
      active: z.boolean().describe('Whether the subscription is active now (between start and end).'),
      limits: z.array(windowUsage),
      quota: quotaUsage.nullable(),
    }),
  ),
});

const params = z.strictObject({ name: resourceName });
const silent = { warn() {}, error() {} };

/**
 * `GET /consumers/{name}/usage`: the consumer's subscriptions with their plans' current window
 * counts and monthly quota, read from the counter store the gateways share (read-only: nothing
 * is counted). Without a counter store (a separate admin process on embedded counters) the counts
 * are this process's, i.e. zero.
 */
/**
 * A consumer's subscriptions with their plans' current window counts and quota, read from the
 * counter store (nothing is counted). Shared by this route and the developer portal's usage page.
 */
export async function consumerUsage(config: ConfigStore, counters: LimitCounters | undefined, name: string): Promise<z.infer<typeof usageSchema>['subscriptions']> {
  const { resources } = await config.load();
  const plans = new Map(resources.filter((x): x is PlanResource => x.kind === 'Plan').map((p) => [p.metadata.name, p.spec]));
  const subs = resources.filter((x): x is SubscriptionResource => x.kind === 'Subscription' && x.spec.consumer === name);
  const t = Date.now();
  const out = [];
  for (const s of subs) {
    const plan = plans.get(s.spec.plan);
    if (!plan) continue;
    // As the gateway's subscription policy builds it (`reseeded`): a plan quota's counters live in a usage shard.
    const limiter = createLimiter({ name: s.spec.plan, limits: plan.limits, quota: plan.quota, cost: 1, failMode: plan.failMode, reseeded: true }, { logger: silent, ...(counters ? { counters } : {}) });
    const usage = plan.limits.length === 0 && plan.quota === undefined ? { limits: [], quota: null } : await limiter.usage(`sub:${s.metadata.name}`);
    const active = Date.parse(s.spec.start) <= t && (s.spec.end === undefined || t < Date.parse(s.spec.end));
    out.push({ name: s.metadata.name, api: s.spec.api ?? null, plan: s.spec.plan, active, limits: [...usage.limits], quota: usage.quota });
  }
  return out;
}

export function register(app: FastifyInstance, ctx: AdminContext, counters: LimitCounters | undefined): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/consumers/:name/usage',
    { schema: { tags: ['consumers'], summary: "A consumer's current usage and remaining quota per subscription", params, response: { 200: usageSchema, 404: problemSchema, ...errorResponses } } },
    async (request, reply) => {
      const name = request.params.name;
      if (!(await ctx.config.get('Consumer', name))) throw new ProblemError('NOT_FOUND', `Consumer/${name} does not exist`);
      const out = await consumerUsage(ctx.config, counters, name);
      return reply.header('cache-control', 'no-store').send({ consumer: name, subscriptions: out });
    },
  );
}
