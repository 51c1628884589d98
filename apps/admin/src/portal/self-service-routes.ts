import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { REPORT_MEDIA_TYPES, forConsumer, generateReport, parseMonth, renderReport, renderReportBytes, reportFileName } from '@tollgate/billing';
import type { Database } from '@tollgate/db';
import { hashApiKey, type PlanResource, type SubscriptionResource } from '@tollgate/model';
import type { LimitCounters } from '@tollgate/policies';
import type { ApiKeyStore, AuditContext, AuditStore, ConfigStore, PortalSubscriptionRequest, SetValidator } from '@tollgate/stores';
import type { ConsoleSessions } from '../console/session-store.js';
import { ProblemError } from '../problem.js';
import { parsePart } from './parse.js';
import { generateApiKey, SHOWN_PREFIX, view as keyView } from '../routes/api-keys.js';
import { consumerUsage } from '../routes/usage.js';
import type { PortalAccounts } from './portal-accounts.js';
import { noStore, requireActive } from './portal-session.js';
import { offerOf, offeredPlans, openSubscriptions, switchPlan } from './subscriptions.js';


const NewKey = z.strictObject({ name: z.string().trim().min(1).max(64) });
const KeyId = z.strictObject({ id: z.string().regex(/^key_[0-9a-f]{1,64}$/) });
const Subscribe = z.strictObject({ plan: z.string().min(1).max(63), when: z.enum(['now', 'next-period']).default('now') });
const InvoiceQuery = z.strictObject({ month: z.string().refine((m) => parseMonth(m) !== null, 'must be YYYY-MM'), format: z.enum(['html', 'pdf', 'csv', 'json']).default('html') });

export interface SelfServiceDeps {
  accounts: PortalAccounts;
  sessions: ConsoleSessions;
  config: ConfigStore;
  validate: SetValidator;
  apiKeys: ApiKeyStore;
  audit: AuditStore;
  counters?: LimitCounters;
  db?: Database;
}

/** A subscription request as its developer and operators see it. */
export function requestView(r: PortalSubscriptionRequest) {
  return { id: r.id, plan: r.plan, consumer: r.consumer, accountId: r.accountId, status: r.status, createdAt: r.createdAt.toISOString(), decidedAt: r.decidedAt?.toISOString() ?? null, decidedBy: r.decidedBy ?? null, subscription: r.subscription ?? null };
}

function planView(p: PlanResource) {
  const billing = p.spec.billing;
  return {
    name: p.metadata.name,
    offer: offerOf(p) ?? 'self-service',
    description: p.metadata.annotations?.['tollgate.dev/portal-description'] ?? '',
    limits: p.spec.limits.map((l) => ({ limit: l.limit, window: l.window })),
    quota: p.spec.quota ? { limit: p.spec.quota.limit, overage: p.spec.quota.overage } : null,
    price: billing ? { currency: billing.currency, baseFee: billing.baseFee, includedUnits: billing.includedUnits } : null,
  };
}

/**
 * Everything a signed-in developer does with their own consumer: API keys (shown once),
 * subscriptions to offered plans, usage against quotas and limits, monthly invoices. The consumer
 * always comes from the session (requireActive); nothing in a request can name another one.
 */
export function registerSelfServiceRoutes(app: FastifyInstance, deps: SelfServiceDeps): void {
  const { accounts, sessions, config, apiKeys } = deps;
  const me = (request: FastifyRequest) => requireActive(request, sessions, accounts.store);
  const audit = (request: FastifyRequest, action: string, accountId: string, consumer: string): AuditContext => ({ action, resourceKind: 'Consumer', resourceName: consumer, requestId: request.id, clientAddress: request.ip, actor: { id: accountId, name: `portal:${accountId}`, role: 'viewer' } });

  app.get('/api/keys', async (request, reply) => {
    const { consumer } = await me(request);
    return noStore(reply).send({ items: (await apiKeys.list(consumer)).map(keyView) });
  });

  app.post('/api/keys', async (request, reply) => {
    const { consumer, account } = await me(request);
    const { name } = parsePart(NewKey, request.body, 'body');
    const active = (await apiKeys.list(consumer)).filter((k) => !k.revokedAt);
    if (active.length >= 20) throw new ProblemError('INVALID_REQUEST', 'at most 20 active keys per developer; revoke one first');
    const key = generateApiKey();
    const { key: stored } = await apiKeys.create({ id: `key_${randomBytes(12).toString('hex')}`, consumer, hash: hashApiKey(key), prefix: key.slice(0, SHOWN_PREFIX), last4: key.slice(-4), name }, audit(request, 'portal.api-key.create', account.id, consumer));
    return noStore(reply).code(201).send({ ...keyView(stored), key, warning: 'Copy this key now: it is shown only once.' });
  });

  app.delete('/api/keys/:id', async (request, reply) => {
    const { consumer, account } = await me(request);
    const { id } = parsePart(KeyId, request.params, 'params');
    // The store revokes only a key of this consumer: another developer's key id is "not found".
    await apiKeys.revoke(consumer, id, audit(request, 'portal.api-key.revoke', account.id, consumer));
    return reply.code(204).send();
  });

  app.get('/api/plans', async (request, reply) => {
    await me(request);
    const { resources } = await config.load();
    return noStore(reply).send({ items: offeredPlans(resources).map(planView) });
  });

  /** Usage per subscription, with start and end so the page can tell a scheduled plan from an ended one. */
  const subscriptionsOf = async (consumer: string) => {
    const { resources } = await config.load();
    const dates = new Map(resources.filter((r): r is SubscriptionResource => r.kind === 'Subscription' && r.spec.consumer === consumer).map((r) => [r.metadata.name, { start: r.spec.start, end: r.spec.end ?? null }]));
    return (await consumerUsage(config, deps.counters, consumer)).map((u) => ({ ...u, start: dates.get(u.name)?.start ?? null, end: dates.get(u.name)?.end ?? null }));
  };

  app.get('/api/subscriptions', async (request, reply) => {
    const { consumer } = await me(request);
    return noStore(reply).send({ items: await subscriptionsOf(consumer) });
  });

  /**
   * Subscribes to an offered plan for every API: at once (`self-service`; an open subscription on
   * another plan ends now, billing prorates both), or as a request an operator decides (`approval`).
   */
  app.post('/api/subscriptions', async (request, reply) => {
    const { consumer, account } = await me(request);
    const { plan, when } = parsePart(Subscribe, request.body, 'body');
    const { resources } = await config.load();
    const offered = offeredPlans(resources).find((p) => p.metadata.name === plan);
    if (!offered) throw new ProblemError('NOT_FOUND', `plan ${plan} is not offered in this portal`);
    if (offerOf(offered) === 'approval') {
      const pending = await accounts.store.listSubscriptionRequests({ status: 'pending', consumer });
      if (pending.some((r) => r.plan === plan)) throw new ProblemError('ALREADY_EXISTS', `your request for ${plan} is waiting for approval`);
      if (openSubscriptions(resources, consumer).some((s) => s.spec.plan === plan)) throw new ProblemError('ALREADY_EXISTS', `you are already subscribed to ${plan}`);
      const created = await accounts.store.requestSubscription({ id: `sreq_${randomBytes(8).toString('hex')}`, accountId: account.id, consumer, plan });
      await deps.audit.record({ action: 'portal.subscription-request', outcome: 'success', status: 202, resourceKind: 'Plan', resourceName: plan, requestId: request.id, clientAddress: request.ip, actor: { id: account.id, name: `portal:${account.id}`, role: 'viewer' } });
      return noStore(reply).code(202).send({ request: requestView(created) });
    }
    const started = await switchPlan(config, deps.validate, consumer, plan, audit(request, 'portal.subscribe', account.id, consumer), when);
    return noStore(reply).code(201).send({ start: started.start, items: await subscriptionsOf(consumer) });
  });

  app.get('/api/subscription-requests', async (request, reply) => {
    const { consumer } = await me(request);
    return noStore(reply).send({ items: (await accounts.store.listSubscriptionRequests({ consumer })).map(requestView) });
  });

  app.get('/api/invoice', async (request, reply) => {
    const { consumer } = await me(request);
    const { month, format } = parsePart(InvoiceQuery, request.query, 'querystring');
    if (!deps.db) throw new ProblemError('UNAVAILABLE', 'invoices need the database');
    const { resources } = await config.load();
    const report = forConsumer(await generateReport(deps.db, resources, month, { now: new Date() }), consumer);
    const body = format === 'pdf' ? await renderReportBytes(report, format) : renderReport(report, format);
    return noStore(reply)
      .header('content-type', REPORT_MEDIA_TYPES[format])
      .header('content-disposition', `${format === 'html' || format === 'json' ? 'inline' : 'attachment'}; filename="${reportFileName(month, format, consumer)}"`)
      .send(body);
  });
}
