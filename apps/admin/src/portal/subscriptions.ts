import { randomBytes } from 'node:crypto';
import { addMonths, monthBounds, periodOf } from '@tollgate/billing';
import { jsonDocuments, validateDocuments, type PlanResource, type Resource, type SubscriptionResource } from '@tollgate/model';
import { ApplyRejectedError, type AuditContext, type ConfigStore, type SetValidator } from '@tollgate/stores';
import { ProblemError } from '../problem.js';

/**
 * Annotation on a Plan that offers it in the portal: `self-service` (a subscription starts at
 * once) or `approval` (the developer's request waits for an operator). Plans without it are not shown.
 */
export const PLAN_OFFER_ANNOTATION = 'tollgate.dev/portal-offer';
export type PlanOffer = 'self-service' | 'approval';

/** How a plan is offered in the portal, or undefined when it is not. */
export function offerOf(plan: PlanResource): PlanOffer | undefined {
  const value = plan.metadata.annotations?.[PLAN_OFFER_ANNOTATION];
  return value === 'self-service' || value === 'approval' ? value : undefined;
}

/** Plans a developer may see and subscribe to from the portal. */
export function offeredPlans(resources: readonly Resource[]): PlanResource[] {
  return resources.filter((r): r is PlanResource => r.kind === 'Plan' && offerOf(r) !== undefined);
}

/** The consumer's portal-style subscriptions (all APIs) that have not ended. */
export function openSubscriptions(resources: readonly Resource[], consumer: string, now = Date.now()): SubscriptionResource[] {
  return resources.filter((r): r is SubscriptionResource => r.kind === 'Subscription' && r.spec.consumer === consumer && r.spec.api === undefined && r.spec.product === undefined && (r.spec.end === undefined || Date.parse(r.spec.end) > now));
}

/** When a plan change takes effect: at once (both prorated), or when the current billing period ends. */
export type SwitchWhen = 'now' | 'next-period';

/** The zone whose calendar months a plan bills (else its quota's, else UTC), as the billing report reads it. */
function planZone(plan: PlanResource | undefined): string {
  return plan?.spec.billing?.timeZone ?? plan?.spec.quota?.timeZone ?? 'UTC';
}

/**
 * Puts the consumer on `plan` for every API, in one validated, audited apply: `now` ends an open
 * subscription on another plan at this instant (billing prorates both, docs/billing.md);
 * `next-period` lets the current one run to the end of its plan's billing month and starts the new
 * one at that instant, so neither is prorated. Returns the new Subscription's name and start.
 */
export async function switchPlan(config: ConfigStore, validate: SetValidator, consumer: string, plan: string, audit: AuditContext, when: SwitchWhen = 'now'): Promise<{ name: string; start: string }> {
  const { resources } = await config.load();
  const open = openSubscriptions(resources, consumer);
  if (open.some((s) => s.spec.plan === plan)) throw new ProblemError('ALREADY_EXISTS', `already subscribed to ${plan}`);
  const nowMs = Date.now();
  if (open.some((s) => Date.parse(s.spec.start) > nowMs)) throw new ProblemError('ALREADY_EXISTS', 'a plan change is already scheduled; it starts with the next period');
  let now = new Date(nowMs).toISOString();
  const current = open[0];
  if (when === 'next-period' && current !== undefined) {
    const zone = planZone(resources.find((r): r is PlanResource => r.kind === 'Plan' && r.metadata.name === current.spec.plan));
    now = monthBounds(addMonths(periodOf(nowMs, zone), 1), zone).start.toISOString();
  }
  const name = `${consumer}-${plan}`.slice(0, 56) + `-${randomBytes(3).toString('hex')}`;
  const docs = [
    ...open.map((s) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Subscription', metadata: s.metadata, spec: { ...s.spec, end: now } })),
    { apiVersion: 'tollgate.dev/v1', kind: 'Subscription', metadata: { name, labels: { 'tollgate.dev/portal': 'true' } }, spec: { consumer, plan, start: now } },
  ];
  const parsed = validateDocuments(jsonDocuments(docs));
  if (!parsed.ok) throw new ProblemError('INVALID_CONFIG', `subscription is invalid: ${parsed.issues.map((i) => i.message).join('; ')}`);
  try {
    await config.apply(parsed.resources, { validate, audit });
  } catch (error) {
    if (error instanceof ApplyRejectedError) throw new ProblemError('INVALID_CONFIG', `the subscription was refused: ${error.issues.map((i) => i.message).join('; ')}`);
    throw error;
  }
  return { name, start: now };
}
