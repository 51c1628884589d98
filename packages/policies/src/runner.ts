import type { PolicyContext, PolicyInstance, PolicyReply, PolicyResponse } from './types.js';

/** An instance's bound access method; the runner calls these in priority order. */
export type AccessStep = NonNullable<PolicyInstance['access']>;
/** An instance's bound response method. */
export type ResponseStep = NonNullable<PolicyInstance['response']>;

async function continueAsync(steps: readonly AccessStep[], from: number, pending: Promise<PolicyReply | undefined>, ctx: PolicyContext): Promise<PolicyReply | undefined> {
  let r = await pending;
  if (r !== undefined) return r;
  for (let i = from; i < steps.length; i++) {
    r = await (steps[i] as AccessStep)(ctx);
    if (r !== undefined) return r;
  }
  return undefined;
}

/**
 * Runs access steps in order until one returns a reply. Stays synchronous while every step is
 * (no promise is allocated for the common sync case); switches to async at the first promise.
 */
export function runAccess(steps: readonly AccessStep[], ctx: PolicyContext): PolicyReply | undefined | Promise<PolicyReply | undefined> {
  for (let i = 0; i < steps.length; i++) {
    const r = (steps[i] as AccessStep)(ctx);
    if (r === undefined) continue;
    if (typeof (r as Promise<unknown>).then === 'function') return continueAsync(steps, i + 1, r as Promise<PolicyReply | undefined>, ctx);
    return r as PolicyReply;
  }
  return undefined;
}

/** Runs response steps in order; they change `res.headers` in place. */
export function runResponse(steps: readonly ResponseStep[], ctx: PolicyContext, res: PolicyResponse): void {
  for (let i = 0; i < steps.length; i++) (steps[i] as ResponseStep)(ctx, res);
}
