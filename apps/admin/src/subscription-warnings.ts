import { DATE_ONLY, nearMonthBoundary, planTimeZone, type Resource } from '@tollgate/model';
import type { ConfigStore } from '@tollgate/stores';

/** A warning of `POST /config` about one submitted document. */
export interface DocumentWarning {
  document: number;
  resource: string;
  path: string;
  message: string;
}

/**
 * Subscriptions whose `start` or `end` is a timestamp just off a month boundary of the plan's
 * zone (`…T00:00:00Z` on a Europe/Berlin plan starts an hour into the month there, so the base
 * fee is prorated and the first hour is not covered): almost always a time zone slip.
 */
export async function subscriptionBoundaryWarnings(resources: readonly Resource[], documentIndex: (i: number) => number, config: Pick<ConfigStore, 'get'>): Promise<DocumentWarning[]> {
  const plans = new Map(resources.filter((r) => r.kind === 'Plan').map((r) => [r.metadata.name, r] as const));
  const warnings: DocumentWarning[] = [];
  for (const [i, r] of resources.entries()) {
    if (r.kind !== 'Subscription') continue;
    const spec = r.spec as { plan: string; start: string; end?: string };
    const plan = plans.get(spec.plan) ?? (await config.get('Plan', spec.plan))?.resource;
    const zone = planTimeZone(plan);
    for (const field of ['start', 'end'] as const) {
      const value = spec[field];
      if (value === undefined || DATE_ONLY.test(value)) continue;
      const meant = nearMonthBoundary(value, zone);
      if (meant === undefined) continue;
      warnings.push({
        document: documentIndex(i),
        resource: `Subscription/${r.metadata.name}`,
        path: `spec.${field}`,
        message: `${value} is not the start of a month in Plan/${spec.plan}'s time zone ${zone} (that is ${meant}); the month is prorated. Write the date (${meant.slice(0, 10)}) to mean midnight in ${zone}`,
      });
    }
  }
  return warnings;
}
