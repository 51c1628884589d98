import type { PolicyProblem } from '@tollgate/policies';
import type { AccessRecheck } from '../protocols/common.js';
import type { RuntimeRoute } from '../runtime.js';
import { accessContext, runAccessStage, type AccessRequest, type AccessVerdict } from '../stages/access.js';

function isProblem(b: unknown): b is PolicyProblem {
  return typeof b === 'object' && b !== null && !Buffer.isBuffer(b) && typeof (b as PolicyProblem).code === 'string';
}

/**
 * The route's access stage as a function, run again for each message a subscription delivers:
 * a fresh policy context per message (as a new request of the same client would get), so limits
 * and the quota count delivered messages and a credential revoked mid-stream stops it.
 */
export function accessRechecker(route: RuntimeRoute, r: AccessRequest): () => Promise<AccessRecheck> {
  const steps = route.access;
  return async () => {
    if (steps === null) return { refusal: null, quotaCharge: null };
    const ctx = accessContext(route, r);
    let v = runAccessStage(route, steps, ctx);
    if (v !== undefined && typeof (v as Promise<unknown>).then === 'function') v = await v;
    const verdict = v as AccessVerdict;
    if (verdict === undefined || verdict.kind === 'as-upstream') return { refusal: null, quotaCharge: ctx.quotaCharge };
    if (verdict.kind === 'hidden') return { refusal: { status: 404, code: 'ROUTE_NOT_FOUND', title: 'No route matches the request', detail: 'the route is not available to this consumer' }, quotaCharge: null };
    const b = verdict.reply.body;
    const p = isProblem(b) ? b : { code: 'MESSAGING_REFUSED', title: 'Refused by a policy', detail: '' };
    return { refusal: { status: verdict.reply.status, code: p.code, title: p.title, detail: p.detail ?? '' }, quotaCharge: null };
  };
}
