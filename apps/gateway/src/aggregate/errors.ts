import { defineErrors } from '@tollgate/policies/definitions';

/** Errors of aggregate routes (docs/aggregation.md). */
export const AGGREGATE_ERRORS = defineErrors({
  AGGREGATE_INCOMPLETE: { status: 502, title: 'Aggregate incomplete', description: "Some backends are missing and the route's `partial` policy is 502; `X-Tollgate-Missing` names them." },
  AGGREGATE_FAILED: { status: 502, title: 'Aggregate failed', description: 'Every backend, or a `required` one, is missing.' },
});
